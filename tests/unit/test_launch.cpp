#include <gtest/gtest.h>

#include <algorithm>

#include "hk/errors.hpp"
#include "launch.hpp"

namespace {
hk::LaunchSpec spec(int ranks, int threads, int cores) {
  hk::LaunchSpec s;
  s.ranks = ranks;
  s.threads = threads;
  s.cores_per_node = cores;
  s.kernel_exe = "/bin/hk-kernel";
  s.kernel = "montecarlo";
  s.kernel_args = {"--samples=100"};
  return s;
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
  try {
    hk::compose_launch(spec(4, 2, 2));
    FAIL();
  } catch (const hk::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--oversubscribe"), std::string::npos);
  }
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
