#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hk/errors.hpp"
#include "dialect.hpp"
#include "executor.hpp"
#include "files.hpp"
#include "launch.hpp"

namespace {
hk::LaunchSpec spec(int ranks, int threads, int cores) {
  hk::LaunchSpec s;
  s.ranks = ranks;
  s.threads = threads;
  s.cores_per_node = cores;
  s.program = {"/bin/hk-kernel", "montecarlo", "--samples=100", fmt::format("--threads={}", threads)};
  return s;
}
// The message of the UsageError `call` throws (a test failure when it throws none).
template <class Call>
std::string usage_error(Call&& call) {
  try {
    call();
  } catch (const hk::UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError was thrown";
  return "";
}
bool has_env(const hk::LaunchCommand& c, const std::string& name, const std::string& value) {
  return std::find(c.env.begin(), c.env.end(), std::make_pair(name, value)) != c.env.end();
}
}  // namespace

TEST(Launch, HybridBindingGivesEachRankItsCores) {
  const auto c = hk::compose_launch(spec(2, 4, 8));
  const std::string line = c.display();
  EXPECT_NE(line.find("mpirun -np 2 --map-by ppr:2:node:PE=4 --bind-to core"), std::string::npos) << line;
  EXPECT_TRUE(has_env(c, "OMP_NUM_THREADS", "4"));
  EXPECT_TRUE(has_env(c, "OMP_PLACES", "cores"));
  EXPECT_TRUE(has_env(c, "OMP_PROC_BIND", "close"));
  EXPECT_NE(line.find("/bin/hk-kernel montecarlo --samples=100 --threads=4"), std::string::npos) << line;
}

TEST(Launch, OversubscriptionIsRefusedUnlessAsked) {
  EXPECT_NE(usage_error([] { hk::compose_launch(spec(4, 2, 2)); }).find("--oversubscribe"), std::string::npos);
  auto s = spec(4, 2, 2);
  s.oversubscribe = true;
  const auto c = hk::compose_launch(s);
  EXPECT_NE(c.display().find("--oversubscribe --map-by slot --bind-to none"), std::string::npos);
  EXPECT_TRUE(has_env(c, "OMP_PROC_BIND", "false"));
}

TEST(Launch, SrunUsesPmixAndCpusPerTask) {
  auto s = spec(2, 3, 8);
  s.launcher = "srun";
  const std::string line = hk::compose_launch(s).display();
  EXPECT_NE(line.find("srun --mpi=pmix --nodes=1 --ntasks=2 --cpus-per-task=3 --cpu-bind=cores"), std::string::npos)
      << line;
}

TEST(Launch, MultiNodeSpreadsRanksEvenly) {
  auto s = spec(4, 2, 4);
  s.nodes = 2;
  EXPECT_NE(hk::compose_launch(s).display().find("--map-by ppr:2:node:PE=2"), std::string::npos);
  s.ranks = 3;
  EXPECT_THROW(hk::compose_launch(s), hk::UsageError);
}

// Issue 13, item 16: the figures in messages do not overflow, and --oversubscribe has a limit.
TEST(Launch, HugeCountsAreRefusedWithTheirRealProduct) {
  const std::string product = usage_error([] { hk::compose_launch(spec(1048576, 4096, 2)); });
  EXPECT_NE(product.find("= 4294967296 cores"), std::string::npos) << product;
  auto s = spec(1048576, 1, 2);
  s.oversubscribe = true;
  const std::string limit = usage_error([&] { hk::compose_launch(s); });  // not mpirun -np 1048576 on 2 cores
  EXPECT_NE(limit.find("even with --oversubscribe; allowed: ranks x threads <= 32"), std::string::npos) << limit;
  s.ranks = 32;
  EXPECT_NO_THROW(hk::compose_launch(s));
}

TEST(Launch, UnknownCoresAreNotChecked) {
  auto s = spec(64, 4, 0);  // e.g. hk slurm submit on a login node without --cores
  s.launcher = "srun";
  EXPECT_NE(hk::compose_launch(s).display().find("--cpu-bind=cores"), std::string::npos);
}

TEST(Launch, EveryDialectComposesTheSameBindingInItsOwnWords) {
  for (const auto& dialect : hk::launch_dialects()) {
    auto s = spec(2, 2, 4);
    s.dialect = dialect.name;
    const auto c = hk::compose_launch(s);
    EXPECT_TRUE(has_env(c, "OMP_PLACES", "cores")) << dialect.name;
    EXPECT_EQ(c.argv.back(), "--threads=2") << dialect.name;
  }
  auto s = spec(2, 2, 4);
  s.dialect = "nonsense";
  EXPECT_THROW(hk::compose_launch(s), hk::UsageError);
}

// Issue 17: MPICH's Hydra binds T cores per rank with -bind-to core:T and passes the environment
// with -genv (Open MPI's -x and --map-by ppr are "unrecognized" to it).
TEST(Launch, HydraBindsCoresPerRankAndPassesTheEnvironmentWithGenv) {
  auto s = spec(2, 3, 6);
  s.launcher = "mpiexec.hydra";
  const auto c = hk::compose_launch(s);
  const std::string line = hk::join_quoted(c.argv);
  EXPECT_EQ(line.rfind("mpiexec.hydra -n 2 -ppn 2 -bind-to core:3 -map-by core -genv OMP_NUM_THREADS 3 ", 0), 0u)
      << line;
  EXPECT_EQ(line.find(" -x "), std::string::npos) << line;
  EXPECT_NE(line.find("-genv HK_LAUNCH_INFO "), std::string::npos) << line;
  s.oversubscribe = true;
  s.ranks = 8;
  const std::string unbound = hk::join_quoted(hk::compose_launch(s).argv);
  EXPECT_NE(unbound.find("-n 8 -ppn 8 -bind-to none -genv"), std::string::npos) << unbound;
}

TEST(Launch, TheDialectIsDetectedFromTheLaunchersVersion) {
  EXPECT_EQ(hk::detect_dialect("mpirun (Open MPI) 4.1.4"), "openmpi");
  EXPECT_EQ(hk::detect_dialect("prterun (PRRTE) 3.0.2"), "openmpi");
  EXPECT_EQ(hk::detect_dialect("HYDRA build details:"), "hydra");
  EXPECT_EQ(hk::detect_dialect("slurm 22.05.8"), "srun");
  EXPECT_EQ(hk::detect_dialect(""), "");
  auto s = spec(2, 1, 2);
  s.launcher = "mpirun";  // Debian's alternatives may point mpirun at MPICH: the version decides
  s.launcher_version = "HYDRA build details:";
  EXPECT_EQ(hk::dialect_name(s), "hydra");
  s.dialect = "openmpi";  // --launcher-dialect overrides
  EXPECT_EQ(hk::dialect_name(s), "openmpi");
  s.dialect.clear();
  s.launcher_version.clear();  // no version (a wrapper): the name's default
  EXPECT_EQ(hk::dialect_name(s), "openmpi");
  s.launcher = "mpirun.mpich";
  EXPECT_EQ(hk::dialect_name(s), "hydra");
}

TEST(Launch, SrunsMpiPluginIsCheckedAgainstWhatSrunOffers) {
  unsetenv("HK_SRUN_MPI");
  EXPECT_EQ(hk::choose_srun_mpi("", {}), "pmix");  // srun unreadable: the default, unchecked
  EXPECT_EQ(hk::choose_srun_mpi("pmi2", {"none", "pmi2", "pmix"}), "pmi2");
  EXPECT_EQ(usage_error([] { hk::choose_srun_mpi("pmi5", {"none", "pmi2", "pmix"}); }),
            "--srun-mpi: srun offers no MPI plugin 'pmi5' (srun --mpi=list: none, pmi2, pmix)");
  setenv("HK_SRUN_MPI", "pmi2", 1);
  EXPECT_EQ(hk::choose_srun_mpi("", {"pmi2"}), "pmi2");
  EXPECT_THROW(hk::choose_srun_mpi("", {"pmix"}), hk::UsageError);
  unsetenv("HK_SRUN_MPI");
  auto s = spec(2, 1, 2);
  s.launcher = "srun";
  s.srun_mpi = "pmi2";
  EXPECT_NE(hk::join_quoted(hk::compose_launch(s).argv).find("srun --mpi=pmi2 "), std::string::npos);
}

// Issue 13, item 6: a program or launcher that is not there is refused before anything starts.
TEST(Launch, MissingExecutablesAreRefusedBeforeLaunching) {
  auto s = spec(1, 1, 2);
  s.launcher_path = "/bin/sh";
  s.program = {"/nonexistent/hk-kernel"};
  const std::string missing = usage_error([&] { hk::check_runnable_here(s, 2); });
  EXPECT_NE(missing.find("--kernel-exe: '/nonexistent/hk-kernel' is not an executable file"), std::string::npos)
      << missing;
  s.program = {"/bin/sh"};
  EXPECT_NO_THROW(hk::check_runnable_here(s, 2));
  const std::string not_executable = fmt::format("/tmp/hk-test-not-executable-{}", getpid());
  { std::ofstream(not_executable) << "#!/bin/sh\n"; }
  s.launcher_path = not_executable;
  EXPECT_THROW(hk::check_runnable_here(s, 2), hk::UsageError);
  std::remove(not_executable.c_str());
  s.launcher_path.clear();
  s.launcher = "no-such-launcher-xyz";
  EXPECT_THROW(hk::check_runnable_here(s, 2), hk::UsageError);
  EXPECT_EQ(hk::find_executable("sh").empty(), false);
}

// Issue 13, item 16: --cores 4 on a 2-core machine composes bound launches that cannot be placed.
TEST(Launch, ABoundLaunchBeyondThisMachinesCoresIsRefused) {
  auto s = spec(4, 1, 4);
  s.launcher_path = "/bin/sh";
  s.program = {"/bin/sh"};
  const std::string beyond = usage_error([&] { hk::check_runnable_here(s, 2); });
  EXPECT_NE(beyond.find("this machine has 2 physical core(s)"), std::string::npos) << beyond;
  s.launcher = "srun";  // the allocation's nodes, not this machine
  EXPECT_NO_THROW(hk::check_runnable_here(s, 2));
}

// The record's `launch` (docs/record.md): how hk launched, passed to every rank.
TEST(Launch, EveryRankIsToldHowItWasLaunched) {
  auto s = spec(2, 4, 8);
  s.launcher_version = "mpirun (Open MPI) 4.1.4";
  const auto c = hk::compose_launch(s);
  const auto entry = std::find_if(c.env.begin(), c.env.end(), [](const auto& e) { return e.first == "HK_LAUNCH_INFO"; });
  ASSERT_NE(entry, c.env.end());
  const auto info = nlohmann::json::parse(entry->second);
  EXPECT_EQ(info["dialect"], "openmpi");
  EXPECT_EQ(info["binding"], "core");
  EXPECT_EQ(info["map_by"], "ppr:2:node:PE=4");
  EXPECT_EQ(info["expected_ranks"], 2);
  EXPECT_EQ(info["expected_threads"], 4);
  EXPECT_EQ(info["launcher_version"], "mpirun (Open MPI) 4.1.4");
  EXPECT_EQ(info["hosts_source"], "local");
  EXPECT_NE(c.display().find("-x HK_LAUNCH_INFO"), std::string::npos);  // reaches the ranks on every node
}

TEST(Launch, ShellQuoting) {
  EXPECT_EQ(hk::shell_quote("plain-word_1.0"), "plain-word_1.0");
  EXPECT_EQ(hk::shell_quote("two words"), "'two words'");
  EXPECT_EQ(hk::shell_quote("it's"), "'it'\\''s'");
}

TEST(Launch, RunAndWaitReportsExitStatusAndSignals) {
  hk::LaunchCommand ok{{"sh", "-c", "exit 3"}, {}};
  EXPECT_EQ(hk::run_and_wait(ok, false), 3);
  hk::LaunchCommand killed{{"sh", "-c", "kill -9 $$"}, {}};
  EXPECT_EQ(hk::run_and_wait(killed, true), 128 + 9);
  hk::LaunchCommand env{{"sh", "-c", "test \"$HK_TEST_VALUE\" = 42"}, {{"HK_TEST_VALUE", "42"}}};
  EXPECT_EQ(hk::run_and_wait(env, false), 0);
}
