#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hk/cli.hpp"

namespace {
// Parses an hk-kernel command line; returns "" or the error text.
std::string parse(std::vector<std::string> args) {
  auto cli = hk::make_kernel_cli("hk-kernel");
  args.insert(args.begin(), "hk-kernel");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    cli->app->parse(static_cast<int>(argv.size()), argv.data());
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
  for (const std::string bad : {"0", "-5", "abc", "99999999999999999999999", "1.5", ""}) {
    const std::string error = parse({"montecarlo", "--samples", bad});
    EXPECT_NE(error.find("--samples: must be an integer from 1 to"), std::string::npos) << bad << " -> " << error;
  }
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
