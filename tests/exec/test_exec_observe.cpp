// hk-exec-wrap's pieces: the /proc parsers, the launcher's rank variables and the thread sampler.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "launcher_rank.hpp"
#include "thread_sampler.hpp"

using namespace hk::exec;

TEST(ExecStat, ParsesTheFieldsAfterANameWithSpacesAndParentheses) {
  // 52 fields as Linux writes them; the name "a) (b c" holds both separators.
  std::string line = "4242 (a) (b c) R 1 4242 4242 0 -1 4194560 100 0 0 0 123 45 0 0 20 0 3 0 777 1000 10";
  for (int field = 25; field <= 52; ++field) line += field == 39 ? " 7" : " 0";
  const auto stat = parse_stat_line(line + "\n");
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->name, "a) (b c");
  EXPECT_EQ(stat->state, 'R');
  EXPECT_EQ(stat->utime, 123u);
  EXPECT_EQ(stat->stime, 45u);
  EXPECT_EQ(stat->processor, 7);
}

TEST(ExecStat, RefusesWhatIsNotAStatLine) {
  EXPECT_FALSE(parse_stat_line("").has_value());
  EXPECT_FALSE(parse_stat_line("12 (x) R 1 2 3").has_value());  // too short
  EXPECT_FALSE(parse_stat_line("no parentheses at all").has_value());
}

TEST(ExecStat, CpuLists) {
  EXPECT_EQ(parse_cpu_list("0-3,6\n"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(parse_cpu_list("5"), (std::vector<int>{5}));
  EXPECT_TRUE(parse_cpu_list("3-1").empty());
  EXPECT_TRUE(parse_cpu_list("x").empty());
  EXPECT_EQ(cpus_allowed_list("Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n"), "0-1");
  EXPECT_EQ(cpus_allowed_list("Name:\tx\n"), "");
  EXPECT_DOUBLE_EQ(run_time_seconds("1500000000 25 3\n").value(), 1.5);
  EXPECT_FALSE(run_time_seconds("").has_value());
}

TEST(ExecRank, FirstLauncherVariableWins) {
  const std::map<std::string, std::string> env{{"PMI_RANK", "3"}, {"SLURM_PROCID", "5"}, {"PMI_SIZE", "8"},
                                               {"MPI_LOCALRANKID", "1"}};
  const auto lookup = [&](const char* name) -> const char* {
    const auto at = env.find(name);
    return at == env.end() ? nullptr : at->second.c_str();
  };
  const LauncherRank rank = launcher_rank(lookup);
  EXPECT_EQ(rank.rank, 3);
  EXPECT_EQ(rank.rank_source, "PMI_RANK");
  EXPECT_EQ(rank.world_size, 8);
  EXPECT_EQ(rank.local_rank, 1);
}

TEST(ExecRank, NoLauncherMeansUnknown) {
  const std::map<std::string, std::string> env{{"OMPI_COMM_WORLD_RANK", "-1"}, {"PMIX_RANK", "x"}};
  const auto lookup = [&](const char* name) -> const char* {
    const auto at = env.find(name);
    return at == env.end() ? nullptr : at->second.c_str();
  };
  const LauncherRank rank = launcher_rank(lookup);
  EXPECT_EQ(rank.rank, -1);
  EXPECT_EQ(rank.rank_source, "");
  EXPECT_EQ(rank.world_size, -1);
}

TEST(ExecSampler, SeesThreadsThatAppearLater) {
  ThreadSampler sampler(getpid());
  sampler.sample(0.0);
  const std::size_t before = sampler.threads().size();
  ASSERT_GE(before, 1u);
  EXPECT_EQ(sampler.threads()[0].tid, getpid());
  std::atomic<bool> sampled{false};
  std::thread later([&] {
    while (!sampled) std::this_thread::yield();
  });
  sampler.sample(1.0);
  sampled = true;
  later.join();
  ASSERT_EQ(sampler.threads().size(), before + 1);
  const ThreadObservation& added = sampler.threads().back();
  EXPECT_EQ(added.pid, getpid());
  EXPECT_NE(added.tid, getpid());
  EXPECT_EQ(added.first_seen_s, 1.0);
  EXPECT_GE(added.last_cpu, 0);
  EXPECT_FALSE(added.allowed_cpus.empty());
  EXPECT_EQ(sampler.threads()[0].samples, 2);
  // A thread that ended keeps its last observation.
  sampler.sample(2.0);
  EXPECT_EQ(sampler.threads().size(), before + 1);
  EXPECT_EQ(sampler.threads().back().last_seen_s, 1.0);
}
