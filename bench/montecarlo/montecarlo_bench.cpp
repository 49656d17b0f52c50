// hk_bench_montecarlo [--rounds N] [--paths avx512,avx2,generic] [Google Benchmark flags]
// Samples/s of the Monte Carlo kernels on one thread, side by side in rounds (every contender
// once per round, so all see the same machine load): the baseline std::mt19937_64 with
// std::uniform_real_distribution, built with the build's flags and with each path's ISA
// (baseline_mt19937.cpp: x86-64-v3 for avx2, x86-64-v4 for avx512), the scalar Philox4x32-10
// reference, and the kernel's Philox on each SIMD path (forced in turn, hk/simd.hpp); then the
// option pricer (Philox words on each path, payoffs scalar). Prints medians, spreads and the
// ratios against their targets: pi on avx512 >= 1.8 x avx2 and >= 3 x the baseline built for
// AVX-512 (x86-64-v4) like the avx512 path.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../common/side_by_side.hpp"
#include "hk/simd.hpp"
#include "montecarlo.hpp"

namespace hk::bench {
std::uint64_t mt19937_pi_build(std::mt19937_64& engine, std::uint64_t samples);
std::uint64_t mt19937_pi_v3(std::mt19937_64& engine, std::uint64_t samples);
std::uint64_t mt19937_pi_v4(std::mt19937_64& engine, std::uint64_t samples);
}  // namespace hk::bench

namespace {

using hk::bench::now_seconds;

int g_rounds = 15;
std::string g_paths;
constexpr std::uint64_t kPiSamples = 1 << 24;
constexpr std::uint64_t kOptionSamples = 1 << 20;
constexpr std::uint64_t kSeed = 20261123;

std::map<std::string, hk::bench::Spread>& rates() {  // "pi/<contender>" -> Msamples/s
  static std::map<std::string, hk::bench::Spread> all;
  return all;
}

hk::bench::Contender baseline(const std::string& name, std::uint64_t (*darts)(std::mt19937_64&, std::uint64_t)) {
  auto engine = std::make_shared<std::mt19937_64>(kSeed);
  return {name, [=] {
            const double start = now_seconds();
            benchmark::DoNotOptimize(darts(*engine, kPiSamples));
            return now_seconds() - start;
          }, {}};
}

// Each run takes fresh counters, as a run of the kernel would.
template <typename Work>
hk::bench::Contender philox_contender(const std::string& name, std::uint64_t samples, Work work,
                                      const hk::simd::Path* path) {
  auto first = std::make_shared<std::uint64_t>(0);
  std::optional<hk::simd::Path> forced;
  if (path != nullptr) forced = *path;
  return {name, [=] {
            if (forced) hk::simd::restrict_to(*forced);
            const double start = now_seconds();
            benchmark::DoNotOptimize(work(*first, samples));
            const double seconds = now_seconds() - start;
            *first += samples;
            return seconds;
          }, {}};
}

void run_side_by_side(benchmark::State& state, const std::string& problem, std::vector<hk::bench::Contender> contenders,
                      std::uint64_t samples) {
  hk::bench::run_rounds(contenders, 1);  // warm-up
  for (auto& c : contenders) c.seconds.clear();
  for (auto _ : state) {
    hk::bench::run_rounds(contenders, 1);
    state.SetIterationTime(contenders.back().seconds.back());
  }
  hk::simd::restrict_to(hk::simd::available_paths().front());
  for (const auto& c : contenders) {
    const hk::bench::Spread s = hk::bench::rate_spread(c, static_cast<double>(samples) / 1e6);
    rates()[problem + "/" + c.name] = s;
    state.counters[c.name + "_Msamples/s"] = s.median;
  }
}

void BM_Pi(benchmark::State& state) {
  // The baseline with the build's flags, and with the ISA of each path this CPU has.
  const auto paths = hk::simd::available_paths();
  const auto has = [&](hk::simd::Path p) { return std::find(paths.begin(), paths.end(), p) != paths.end(); };
  std::vector<hk::bench::Contender> contenders = {baseline("mt19937_64", hk::bench::mt19937_pi_build)};
  if (has(hk::simd::Path::avx2)) contenders.push_back(baseline("mt19937_64@x86-64-v3", hk::bench::mt19937_pi_v3));
  if (has(hk::simd::Path::avx512)) contenders.push_back(baseline("mt19937_64@x86-64-v4", hk::bench::mt19937_pi_v4));
  contenders.push_back(philox_contender("philox-scalar", kPiSamples,
                                        [](std::uint64_t first, std::uint64_t n) {
                                          return hk::mc::pi_hits_reference(kSeed, first, n);
                                        },
                                        nullptr));
  for (const hk::simd::Path path : hk::bench::paths_to_measure(g_paths))
    contenders.push_back(philox_contender(hk::simd::path_name(path), kPiSamples,
                                          [](std::uint64_t first, std::uint64_t n) {
                                            return hk::mc::pi_hits(kSeed, first, n);
                                          },
                                          &path));
  run_side_by_side(state, "pi", std::move(contenders), kPiSamples);
}

void BM_Option(benchmark::State& state) {
  const hk::mc::OptionParams option;
  std::vector<hk::bench::Contender> contenders;
  contenders.push_back(philox_contender("philox-scalar", kOptionSamples,
                                        [option](std::uint64_t first, std::uint64_t n) {
                                          return hk::mc::option_block_reference(option, kSeed, first, n).sum;
                                        },
                                        nullptr));
  for (const hk::simd::Path path : hk::bench::paths_to_measure(g_paths))
    contenders.push_back(philox_contender(hk::simd::path_name(path), kOptionSamples,
                                          [option](std::uint64_t first, std::uint64_t n) {
                                            return hk::mc::option_block(option, kSeed, first, n).sum;
                                          },
                                          &path));
  run_side_by_side(state, "option", std::move(contenders), kOptionSamples);
}

void print_summary() {
  std::printf("\nMonte Carlo, 1 thread, Msamples/s: median [min..max] of %d rounds; %s\n", g_rounds,
              hk::bench::load_average().c_str());
  for (const auto& [name, s] : rates()) std::printf("  %-26s %8.1f [%6.1f..%6.1f]\n", name.c_str(), s.median, s.min, s.max);
  const auto ratio = [](const std::string& ours, const std::string& theirs, double target) {
    if (!rates().count(ours) || !rates().count(theirs)) return;
    const double r = rates()[ours].median / rates()[theirs].median;
    std::printf("  ratio %s / %s = %.2f (target >= %.1f)%s\n", ours.c_str(), theirs.c_str(), r, target,
                r >= target ? "" : "  BELOW");
  };
  ratio("pi/avx512", "pi/avx2", 1.8);
  ratio("pi/avx512", "pi/mt19937_64@x86-64-v4", 3.0);
  ratio("pi/avx512", "pi/mt19937_64", 0.0);
  ratio("pi/avx2", "pi/mt19937_64@x86-64-v3", 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      g_rounds = std::atoi(argv[++i]);
      if (g_rounds < 1) {
        std::fprintf(stderr, "hk_bench_montecarlo: --rounds: must be an integer >= 1 (got '%s')\n", argv[i]);
        return 2;
      }
      continue;
    }
    if (std::strcmp(argv[i], "--paths") == 0 && i + 1 < argc) {
      g_paths = argv[++i];
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RegisterBenchmark("BM_Pi", BM_Pi)->Iterations(g_rounds)->UseManualTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Option", BM_Option)->Iterations(g_rounds)->UseManualTime()->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
  return 0;
}
