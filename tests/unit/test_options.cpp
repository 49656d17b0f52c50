#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "hk/cli.hpp"
#include "hk/errors.hpp"

namespace {
// Parses an hk-kernel command line; returns "" or the error text.
std::string parse(std::vector<std::string> args) {
  auto cli = hk::make_kernel_cli("hk-kernel");
  args.insert(args.begin(), "hk-kernel");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    hk::parse_kernel_command_line(*cli, static_cast<int>(argv.size()), argv.data());
    if (auto* kernel = cli->selected()) kernel->check_options();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Options, ValidMonteCarloLineParses) {
  EXPECT_EQ(parse({"montecarlo", "--problem", "option", "--samples", "1000", "--rate", "-0.02", "--threads", "2"}), "");
}

TEST(Options, BadCountsNameTheOptionAndTheRange) {
  for (const std::string bad : {"0", "-5", "abc", "99999999999999999999999", "1.5"}) {
    const std::string error = parse({"montecarlo", "--samples", bad});
    EXPECT_NE(error.find("--samples: must be an integer from 1 to"), std::string::npos) << bad << " -> " << error;
  }
  EXPECT_EQ(parse({"montecarlo", "--samples", ""}), "--samples: empty");
}

TEST(Options, ThreadsZeroIsRejected) {
  EXPECT_NE(parse({"montecarlo", "--threads", "0"}).find("--threads: must be an integer from 1"), std::string::npos);
}

TEST(Options, RealsMustBeFiniteAndInRange) {
  EXPECT_NE(parse({"montecarlo", "--volatility", "0"}).find("--volatility: must be a number in (0"), std::string::npos);
  EXPECT_NE(parse({"montecarlo", "--spot", "nan"}).find("--spot"), std::string::npos);
  EXPECT_NE(parse({"montecarlo", "--maturity", "inf"}).find("--maturity"), std::string::npos);
}

TEST(Options, UnknownProblemAndUnknownKernel) {
  EXPECT_NE(parse({"montecarlo", "--problem", "foo"}).find("--problem"), std::string::npos);
  EXPECT_FALSE(parse({"nope"}).empty());
}

TEST(Options, EveryRegisteredKernelHasParamsAndWork) {
  auto cli = hk::make_kernel_cli("hk-kernel");
  ASSERT_FALSE(cli->kernels.empty());
  for (const auto& [name, kernel] : cli->kernels) {
    EXPECT_TRUE(kernel->params().is_object()) << name;
    EXPECT_FALSE(kernel->work().rate_unit.empty()) << name;
    EXPECT_FALSE(kernel->variant().empty()) << name;
  }
}

// Issue 13, item 3: "--out=" or "--out ''" took the next argument as the value. Every option of
// every kernel (and the common ones) that takes a value must refuse an empty one.
TEST(Options, EmptyValuesAreRefusedForEveryOption) {
  auto cli = hk::make_kernel_cli("hk-kernel");
  int checked = 0;
  for (const auto& [name, kernel] : cli->kernels) {
    for (const CLI::Option* option : cli->app->get_subcommand(name)->get_options()) {
      if (option->get_lnames().empty() || option->get_type_size() == 0) continue;  // flags
      const std::string flag = "--" + option->get_lnames().front();
      EXPECT_EQ(parse({name, flag + "=", "--reps=3"}), flag + ": empty") << name;
      EXPECT_EQ(parse({name, flag, "", "--reps=3"}), flag + ": empty") << name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 12);
}

// Issue 13, item 16: the unknown kernel is named, with what there is.
TEST(Options, UnknownKernelIsNamedWithTheAvailableOnes) {
  EXPECT_EQ(parse({"frobnicate"}).rfind("unknown kernel 'frobnicate'; available: ", 0), 0u) << parse({"frobnicate"});
  EXPECT_NE(parse({"frobnicate"}).find("montecarlo"), std::string::npos);
  EXPECT_NE(parse({}).find("a kernel is required"), std::string::npos);
  EXPECT_EQ(parse({"list"}), "");
}

// One owner of the thread count: hk and hk-kernel call hk::resolve_threads.
TEST(Options, ThreadCountFromOptionOrEnvironment) {
  unsetenv("OMP_NUM_THREADS");
  EXPECT_EQ(hk::resolve_threads(3), 3);
  EXPECT_EQ(hk::resolve_threads(0), 1);
  setenv("OMP_NUM_THREADS", "4", 1);
  EXPECT_EQ(hk::resolve_threads(0), 4);
  EXPECT_EQ(hk::resolve_threads(2), 2);
  setenv("OMP_NUM_THREADS", "4,2", 1);
  EXPECT_EQ(hk::resolve_threads(0), 4);
  for (const char* bad : {"4abc", "abc", "0", "-2", "4097", "99999999999", ",4", "4.5"}) {
    setenv("OMP_NUM_THREADS", bad, 1);
    try {
      hk::resolve_threads(0);
      ADD_FAILURE() << bad << " accepted";
    } catch (const hk::UsageError& e) {
      EXPECT_EQ(std::string(e.what()),
                std::string("OMP_NUM_THREADS: must be an integer from 1 to 4096 (got '") + bad + "')");
    }
  }
  unsetenv("OMP_NUM_THREADS");
}
