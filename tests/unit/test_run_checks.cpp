#include <gtest/gtest.h>
#include <omp.h>

#include <string>

#include "hk/cli.hpp"
#include "hk/run_checks.hpp"

TEST(RunChecks, WorldSizeAgreesOrUnchecked) {
  EXPECT_EQ(hk::world_size_problem(4, 4), "");
  EXPECT_EQ(hk::world_size_problem(0, 7), "");  // no --expect-ranks: nothing compared
}

TEST(RunChecks, WorldSizeDiffersIsOneLineWithBothCounts) {
  const std::string singleton = hk::world_size_problem(2, 1);
  EXPECT_EQ(singleton.rfind("asked for 2 ranks, MPI_COMM_WORLD has 1; each process is a singleton", 0), 0u) << singleton;
  const std::string bigger = hk::world_size_problem(2, 3);
  EXPECT_EQ(bigger.rfind("asked for 2 ranks, MPI_COMM_WORLD has 3; ", 0), 0u) << bigger;
  EXPECT_EQ(singleton.find('\n'), std::string::npos);
}

TEST(RunChecks, ThreadsInTheParallelRegionFollowOmpSetNumThreads) {
  omp_set_dynamic(0);
  omp_set_num_threads(3);  // more threads than cores is allowed: the region still runs 3
  EXPECT_EQ(hk::threads_in_parallel_region(), 3);
  omp_set_num_threads(1);
  EXPECT_EQ(hk::threads_in_parallel_region(), 1);
}

TEST(RunChecks, ThreadCountDiffersNamesBoth) {
  EXPECT_EQ(hk::thread_count_problem(2, 2), "");
  const std::string problem = hk::thread_count_problem(4, 2);
  EXPECT_EQ(problem.rfind("asked for 4 OpenMP threads per rank, the parallel region runs 2; ", 0), 0u) << problem;
}

TEST(RunChecks, ExpectRanksIsAnHkKernelOptionWithRange) {
  auto cli = hk::make_kernel_cli("hk-kernel");
  const char* ok[] = {"hk-kernel", "montecarlo", "--expect-ranks", "3"};
  hk::parse_kernel_command_line(*cli, 4, ok);
  EXPECT_EQ(cli->common.expect_ranks, 3);
  auto again = hk::make_kernel_cli("hk-kernel");
  const char* bad[] = {"hk-kernel", "montecarlo", "--expect-ranks", "-1"};
  EXPECT_THROW(hk::parse_kernel_command_line(*again, 4, bad), CLI::ValidationError);
}
