// bench_matmul [--reps N] [Google Benchmark flags]
// The matmul kernel's local product C += A·B (n x n, row-major, 1 rank x T threads) against
// OpenBLAS cblas_dgemm and Eigen's own product, interleaved in the same loop so that all three
// see the same machine load. Per (n, T): median GFLOP/s of each, the ratio to OpenBLAS, and the
// fraction of the machine's peak (T cores x clock x 2 FMA units x 4 doubles x 2 flops/cycle).
// The clock is measured here: a chain of dependent integer adds retires one per cycle (on a
// loaded machine this reads the share of the core we get, not the clock); the fraction against
// the nominal clock the OS reports is given too.
#include <benchmark/benchmark.h>
#include <omp.h>
#if defined(HK_BENCH_HAVE_OPENBLAS)
#include <cblas.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gemm.hpp"
#include "matmul.hpp"

namespace {

using hk::matmul::RowMatrix;

int g_reps = 0;  // 0: 5 for n = 2048, 3 for n = 4096

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Core clock in GHz: 200 million dependent adds (one per cycle on x86-64), best of 5 tries
// (the best is the least disturbed by other work on a shared machine).
double measured_clock_ghz() {
  double best = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::uint64_t value = 0, loops = 20'000'000;
    const double start = now_seconds();
#if defined(__x86_64__)
    asm volatile(
        "1:\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "dec %1\n\tjnz 1b"
        : "+r"(value), "+r"(loops));
#endif
    const double seconds = now_seconds() - start;
    best = std::max(best, 200e6 / seconds / 1e9);
  }
  return best;
}

double clock_ghz() {
  static const double ghz = measured_clock_ghz();
  return ghz;
}

RowMatrix generated(std::int64_t n, hk::matmul::Stream stream) {
  RowMatrix m(n, n);
#pragma omp parallel for
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) m(i, j) = hk::matmul::element(42, stream, i, j);
  return m;
}

void BM_LocalProduct(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  omp_set_dynamic(0);
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
#if defined(HK_BENCH_HAVE_OPENBLAS)
  openblas_set_num_threads(threads);
#endif
  const RowMatrix a = generated(n, hk::matmul::Stream::a), b = generated(n, hk::matmul::Stream::b);
  RowMatrix c = RowMatrix::Zero(n, n);
  const double flops = 2.0 * static_cast<double>(n) * n * n;
  std::vector<double> ours, openblas, eigen;
  // Warm-up of each (pages, thread pools).
  hk::matmul::packed_multiply_add(a, b, c);
  for (auto _ : state) {
    c.setZero();
    double start = now_seconds();
    hk::matmul::multiply_add(a, b, c);
    ours.push_back(now_seconds() - start);
    state.SetIterationTime(ours.back());
    benchmark::DoNotOptimize(c.data());
#if defined(HK_BENCH_HAVE_OPENBLAS)
    start = now_seconds();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(n),
                static_cast<int>(n), 1.0, a.data(), static_cast<int>(n), b.data(), static_cast<int>(n), 1.0, c.data(),
                static_cast<int>(n));
    openblas.push_back(now_seconds() - start);
#endif
    c.setZero();
    start = now_seconds();
    hk::matmul::eigen_multiply_add(a, b, c);
    eigen.push_back(now_seconds() - start);
    benchmark::ClobberMemory();
  }
  const double peak = threads * clock_ghz() * 2 * 4 * 2;  // GFLOP/s
  const double ours_rate = flops / median(ours) / 1e9;
  state.counters["GFLOP/s"] = ours_rate;
  state.counters["peak_fraction"] = ours_rate / peak;
  state.counters["eigen_GFLOP/s"] = flops / median(eigen) / 1e9;
  state.counters["ratio_vs_eigen"] = median(eigen) / median(ours);
  state.counters["clock_GHz"] = clock_ghz();
  // Against the nominal clock the OS reports (TSC; the CPU may boost above it).
  const double nominal_ghz = benchmark::CPUInfo::Get().cycles_per_second / 1e9;
  if (nominal_ghz > 0) state.counters["peak_fraction_nominal"] = ours_rate / (threads * nominal_ghz * 2 * 4 * 2);
#if defined(HK_BENCH_HAVE_OPENBLAS)
  state.counters["openblas_GFLOP/s"] = flops / median(openblas) / 1e9;
  state.counters["ratio_vs_openblas"] = median(openblas) / median(ours);
  state.SetLabel(std::string(hk::matmul::gemm_backend()) + " vs OpenBLAS and Eigen (medians)");
#else
  state.SetLabel(std::string(hk::matmul::gemm_backend()) + " vs Eigen; OpenBLAS absent: comparison skipped");
#endif
}


}  // namespace

int main(int argc, char** argv) {
  // --reps N: timed iterations per configuration (each runs all three products once).
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      g_reps = std::atoi(argv[++i]);
      if (g_reps < 1) {
        std::fprintf(stderr, "bench_matmul: --reps: must be an integer >= 1 (got '%s')\n", argv[i]);
        return 2;
      }
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
#if !defined(HK_BENCH_HAVE_OPENBLAS)
  std::fprintf(stderr, "bench_matmul: built without OpenBLAS (pkg-config openblas not found): "
                       "the comparison with cblas_dgemm is skipped\n");
#endif
  for (std::int64_t n : {2048, 4096})
    for (std::int64_t threads : {1, 2}) {
      const int reps = g_reps > 0 ? g_reps : (n <= 2048 ? 5 : 3);
      benchmark::RegisterBenchmark("BM_LocalProduct", BM_LocalProduct)
          ->Args({n, threads})
          ->ArgNames({"n", "threads"})
          ->Iterations(reps)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  std::fprintf(stderr, "bench_matmul: clock %.3f GHz (dependent-add chain, best of 5)\n", clock_ghz());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
