// What the kit adds to a run: wall time of `hk run montecarlo` with a trivial sample count
// against `mpirun -np 1` of a bare MPI hello world, and the rank's peak RSS against the hello
// world's, measured alternately in the same run. Targets: time ratio <= 1.15, RSS delta <= 4 MiB.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "hk/record.hpp"
#include "executor.hpp"
#include "hk/stats.hpp"

namespace {

double seconds_of(const hk::LaunchCommand& command) {
  const auto start = std::chrono::steady_clock::now();
  const int status = hk::run_and_wait(command, true);
  if (status != 0) throw std::runtime_error("command failed: " + command.display());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void BM_Startup_hk_run_vs_mpirun_hello(benchmark::State& state) {
  const std::string dir = "/tmp/hk_bench_startup_" + std::to_string(getpid());
  std::system(("mkdir -p " + dir).c_str());
  const std::string hello_rss = dir + "/hello_rss", records = dir + "/runs.jsonl";
  std::vector<std::pair<std::string, std::string>> env;
  if (geteuid() == 0) env = {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
  const hk::LaunchCommand hello{{"mpirun", "-np", "1", HK_HELLO_EXE, hello_rss}, env};
  const hk::LaunchCommand run{{"sh", "-c",
                               std::string(HK_EXE) + " run montecarlo --ranks 1 --threads 1 --samples 1000 --reps 1 "
                                                     "--warmup 0 --out " + records + " >/dev/null"},
                              env};
  std::vector<double> hello_times, run_times;
  for (auto _ : state) {
    hello_times.push_back(seconds_of(hello));
    run_times.push_back(seconds_of(run));
    state.SetIterationTime(run_times.back());
  }
  double hello_bytes = 0;
  std::ifstream(hello_rss) >> hello_bytes;
  std::vector<double> rank_bytes;
  const hk::RecordFile file = hk::read_records(records);
  hk::warn_about_skipped_lines(file, "startup_bench");
  for (const auto& record : file.records)
    rank_bytes.push_back(record["memory"]["rss_max_bytes"].get<double>());
  const double mib = 1024.0 * 1024.0;
  state.counters["hello_s"] = hk::median(hello_times);
  state.counters["hk_run_s"] = hk::median(run_times);
  state.counters["time_ratio"] = hk::median(run_times) / hk::median(hello_times);
  state.counters["hello_rss_MiB"] = hello_bytes / mib;
  state.counters["rank_rss_MiB"] = hk::median(rank_bytes) / mib;
  state.counters["rss_delta_MiB"] = (hk::median(rank_bytes) - hello_bytes) / mib;
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace

BENCHMARK(BM_Startup_hk_run_vs_mpirun_hello)->UseManualTime()->Iterations(15)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
