// Samples/s of the Monte Carlo pi kernel on one thread: std::mt19937_64 with
// std::uniform_real_distribution (the baseline, measured first in the same run), the scalar
// Philox4x32-10 reference, and the AVX2 Philox the kernel uses. Counter "x_baseline" is the
// ratio to the baseline's samples/s (target: >= 4 for the kernel's path).
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "montecarlo.hpp"

namespace {
double g_baseline_rate = 0;  // samples/s of the baseline, measured in this run

void report(benchmark::State& state, std::uint64_t samples_per_iteration, bool is_baseline = false) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * samples_per_iteration));
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * samples_per_iteration), benchmark::Counter::kIsRate);
  if (is_baseline) return;
  state.counters["x_baseline"] = 0;  // filled in below once the rate is known
}

constexpr std::uint64_t kSamples = 1 << 22;

void BM_Baseline_mt19937_pi(benchmark::State& state) {
  std::mt19937_64 engine(20261123);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t hits = 0;
    for (std::uint64_t i = 0; i < kSamples; ++i) {
      const double x = uniform(engine), y = uniform(engine);
      hits += (x * x + y * y < 1.0);
    }
    benchmark::DoNotOptimize(hits);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  report(state, kSamples, true);
  g_baseline_rate = static_cast<double>(state.iterations() * kSamples) / seconds;
}

template <std::uint64_t (*Hits)(std::uint64_t, std::uint64_t, std::uint64_t)>
void BM_Philox_pi(benchmark::State& state) {
  std::uint64_t first = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(Hits(20261123, first, kSamples));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    first += kSamples;
  }
  report(state, kSamples);
  const double rate = static_cast<double>(state.iterations() * kSamples) / seconds;
  state.counters["x_baseline"] = g_baseline_rate > 0 ? rate / g_baseline_rate : 0;
}

void BM_Philox_option(benchmark::State& state) {
  const hk::mc::OptionParams option;
  std::uint64_t first = 0;
  const std::uint64_t samples = 1 << 18;
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(hk::mc::option_block(option, 20261123, first, samples));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    first += samples;
  }
  report(state, samples);
  const double rate = static_cast<double>(state.iterations() * samples) / seconds;
  state.counters["x_baseline"] = g_baseline_rate > 0 ? rate / g_baseline_rate : 0;
}

}  // namespace

// Registration order is run order: the baseline first, so the ratios use this run's figure.
BENCHMARK(BM_Baseline_mt19937_pi)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_Philox_pi<hk::mc::pi_hits_reference>)->Name("BM_Philox_pi_scalar")->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_Philox_pi<hk::mc::pi_hits>)->Name("BM_Philox_pi_kernel")->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_Philox_option)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();

BENCHMARK_MAIN();
