// bench_matmul [--reps N] [--paths avx512,avx2[,generic]] [--eigen] [Google Benchmark flags]
// The matmul kernel's local product C += A·B (n x n, row-major, 1 rank x T threads) on each SIMD
// path (forced in turn, hk/simd.hpp) against OpenBLAS cblas_dgemm, side by side in rounds so all
// see the same machine load. OpenBLAS picks its kernel when the library loads, from the
// environment, so it runs in two helper processes (this program, re-executed): "own" with
// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its own best kernel for this CPU) and "haswell"
// with OPENBLAS_CORETYPE=Haswell; each checks its product (Freivalds) and reports its kernel.
// Per (n, T): median GFLOP/s and spread of each, the ratios path / OpenBLAS (targets: avx512 >=
// 0.90 of OpenBLAS's own kernel, avx2 >= 0.90 of OpenBLAS on Haswell), and each path's fraction
// of its peak (T cores x clock x 2 FMA units x lanes x 2 flops). The clock is measured: a chain
// of dependent integer adds retires one per cycle (on a loaded machine: the share of the core we
// get). OpenBLAS's idle threads spin for about 2^28 cycles after a call, so each run starts 0.2 s
// after the previous one ends.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(HK_BENCH_HAVE_OPENBLAS)
#include <cblas.h>
#endif

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../common/side_by_side.hpp"
#include "gemm.hpp"
#include "hk/simd.hpp"
#include "matmul.hpp"

extern char** environ;

namespace {

using hk::matmul::RowMatrix;
using hk::bench::now_seconds;

int g_reps = 0;          // 0: 5 for n = 2048, 3 for n = 4096
std::string g_paths = "avx512,avx2";  // --paths (generic: about 10 GFLOP/s, 14 s a product at n = 4096)
bool g_eigen = false;    // --eigen: also Eigen's own product (slow in the portable build: SSE4)
constexpr double kPauseSeconds = 0.2;

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

int doubles_per_vector(hk::simd::Path path) {
  return path == hk::simd::Path::avx512 ? 8 : path == hk::simd::Path::avx2 ? 4 : 2;
}

RowMatrix generated(std::int64_t n, hk::matmul::Stream stream) {
  RowMatrix m(n, n);
#pragma omp parallel for
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) m(i, j) = hk::matmul::element(42, stream, i, j);
  return m;
}

// ---- The OpenBLAS helper process -------------------------------------------------------------
// Reads "n threads" lines; for each, one timed cblas_dgemm (C = 0, C += A B), then a Freivalds
// check of C; answers "seconds ok|bad kernel-name".
#if defined(HK_BENCH_HAVE_OPENBLAS)
bool freivalds_ok(const RowMatrix& a, const RowMatrix& b, const RowMatrix& c) {
  const std::int64_t n = a.rows();
  std::vector<double> x(n), bx(n, 0.0), abx(n, 0.0), cx(n, 0.0);
  for (std::int64_t i = 0; i < n; ++i) x[i] = hk::matmul::element(7, hk::matmul::Stream::x, 0, i);
  double norm_a = 0, norm_b = 0, norm_x = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    norm_x += x[i] * x[i];
    for (std::int64_t j = 0; j < n; ++j) {
      bx[i] += b(i, j) * x[j];
      cx[i] += c(i, j) * x[j];
      norm_a += a(i, j) * a(i, j);
      norm_b += b(i, j) * b(i, j);
    }
  }
  double error = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) abx[i] += a(i, j) * bx[j];
    error += (cx[i] - abx[i]) * (cx[i] - abx[i]);
  }
  const double eps = std::numeric_limits<double>::epsilon();
  return std::sqrt(error) <= 5.0 * n * eps * std::sqrt(norm_a * norm_b * norm_x);
}

int openblas_server() {
  std::int64_t have = 0;
  RowMatrix a, b, c;
  long n = 0;
  int threads = 1;
  while (std::scanf("%ld %d", &n, &threads) == 2) {
    if (n != have) {
      a = generated(n, hk::matmul::Stream::a);
      b = generated(n, hk::matmul::Stream::b);
      have = n;
    }
    c = RowMatrix::Zero(n, n);
    openblas_set_num_threads(threads);
    const int in = static_cast<int>(n);
    const double start = now_seconds();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, in, in, 1.0, a.data(), in, b.data(), in, 1.0,
                c.data(), in);
    const double seconds = now_seconds() - start;
    std::printf("%.9f %s %s\n", seconds, freivalds_ok(a, b, c) ? "ok" : "bad", openblas_get_corename());
    std::fflush(stdout);
  }
  return 0;
}

// A running helper: this program with --openblas-server and the environment changed.
class OpenBlasHelper {
 public:
  OpenBlasHelper(const std::string& name, const std::vector<std::string>& unset, const std::string& coretype)
      : name_(name) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string key = entry.substr(0, entry.find('='));
      bool drop = key == "OPENBLAS_CORETYPE";
      for (const auto& u : unset) drop = drop || key == u;
      if (!drop) env.push_back(entry);
    }
    if (!coretype.empty()) env.push_back("OPENBLAS_CORETYPE=" + coretype);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int to_child[2], from_child[2];
    // Close-on-exec: a later helper must not inherit this one's pipe ends (it would keep this
    // helper's input open after we close it, and the helper would never see its end).
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) posix_spawn_file_actions_addclose(&actions, fd);
    std::string self = "/proc/self/exe", flag = "--openblas-server";
    char* argv[] = {self.data(), flag.data(), nullptr};
    if (posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv, envp.data()) != 0)
      throw std::runtime_error("cannot start the OpenBLAS helper");
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    to_ = fdopen(to_child[1], "w");
    from_ = fdopen(from_child[0], "r");
  }
  ~OpenBlasHelper() {
    std::fclose(to_);
    std::fclose(from_);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& name() const { return name_; }
  const std::string& kernel() const { return kernel_; }
  // One timed product of order n on `threads` threads; throws if the helper's check fails.
  double run(std::int64_t n, int threads) {
    std::fprintf(to_, "%ld %d\n", static_cast<long>(n), threads);
    std::fflush(to_);
    double seconds = 0;
    char verdict[8] = {}, kernel[64] = {};
    if (std::fscanf(from_, "%lf %7s %63s", &seconds, verdict, kernel) != 3)
      throw std::runtime_error("the OpenBLAS helper " + name_ + " did not answer");
    if (std::string(verdict) != "ok") throw std::runtime_error("OpenBLAS (" + name_ + "): product failed its check");
    kernel_ = kernel;
    return seconds;
  }

 private:
  std::string name_, kernel_;
  pid_t pid_ = 0;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

std::vector<std::unique_ptr<OpenBlasHelper>>& helpers() {
  static std::vector<std::unique_ptr<OpenBlasHelper>> list;
  return list;
}
#endif

// ---- The benchmark ------------------------------------------------------------------------------
struct Result {
  std::map<std::string, hk::bench::Spread> gflops;  // by contender
  std::map<std::string, std::string> kernels;       // OpenBLAS contender -> its kernel
};
std::map<std::pair<std::int64_t, int>, Result>& results() {
  static std::map<std::pair<std::int64_t, int>, Result> all;
  return all;
}

double paused(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(kPauseSeconds));
  return seconds;
}

void BM_LocalProduct(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  omp_set_dynamic(0);
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
  const RowMatrix a = generated(n, hk::matmul::Stream::a), b = generated(n, hk::matmul::Stream::b);
  RowMatrix c = RowMatrix::Zero(n, n);
  const double gflop = 2.0 * static_cast<double>(n) * n * n / 1e9;
  const auto paths = hk::bench::paths_to_measure(g_paths);
  std::vector<hk::bench::Contender> contenders;
  for (hk::simd::Path path : paths) {
    contenders.push_back({hk::simd::path_name(path), [&, path] {
                            hk::simd::restrict_to(path);
                            c.setZero();
                            const double start = now_seconds();
                            hk::matmul::packed_multiply_add(a, b, c, threads);
                            return paused(now_seconds() - start);
                          }, {}});
  }
#if defined(HK_BENCH_HAVE_OPENBLAS)
  for (auto& helper : helpers()) {
    OpenBlasHelper* h = helper.get();
    contenders.push_back({"openblas-" + h->name(), [h, n, threads] { return paused(h->run(n, threads)); }, {}});
  }
#endif
  if (g_eigen)
    contenders.push_back({"eigen", [&] {
                            c.setZero();
                            const double start = now_seconds();
                            hk::matmul::eigen_multiply_add(a, b, c);
                            return paused(now_seconds() - start);
                          }, {}});
  hk::bench::run_rounds(contenders, 1);  // warm-up: pages, thread pools, the helpers' matrices
  for (auto& contender : contenders) contender.seconds.clear();
  for (auto _ : state) {
    hk::bench::run_rounds(contenders, 1);
    state.SetIterationTime(contenders.front().seconds.back());
    benchmark::DoNotOptimize(c.data());
  }
  hk::simd::restrict_to(hk::simd::available_paths().front());
  Result& result = results()[{n, threads}];
  for (const auto& contender : contenders) {
    result.gflops[contender.name] = hk::bench::rate_spread(contender, gflop);
    state.counters[contender.name + "_GFLOP/s"] = result.gflops[contender.name].median;
  }
#if defined(HK_BENCH_HAVE_OPENBLAS)
  for (auto& helper : helpers()) result.kernels["openblas-" + helper->name()] = helper->kernel();
  if (result.gflops.count("avx512") && result.gflops.count("openblas-own"))
    state.counters["avx512_vs_openblas"] = result.gflops["avx512"].median / result.gflops["openblas-own"].median;
  if (result.gflops.count("avx2") && result.gflops.count("openblas-haswell"))
    state.counters["avx2_vs_openblas_haswell"] =
        result.gflops["avx2"].median / result.gflops["openblas-haswell"].median;
#endif
  state.counters["clock_GHz"] = clock_ghz();
  state.SetLabel(hk::matmul::gemm_backend() + " (best path) and the others, side by side");
}

// The table after the benchmarks: medians, spreads, ratios against their targets.
void print_summary() {
  std::printf("\nLocal product C += A B (1 rank), GFLOP/s: median [min..max] of the rounds; %s; clock %.2f GHz\n",
              hk::bench::load_average().c_str(), clock_ghz());
  for (const auto& [key, result] : results()) {
    std::printf("n = %ld, %d thread(s):\n", static_cast<long>(key.first), key.second);
    for (const auto& [name, s] : result.gflops) {
      std::printf("  %-18s %7.1f [%5.1f..%5.1f]", name.c_str(), s.median, s.min, s.max);
      if (const auto path = hk::simd::parse_path(name))
        std::printf("  %3.0f%% of peak", 100.0 * s.median / (key.second * clock_ghz() * 4 * doubles_per_vector(*path)));
      if (result.kernels.count(name)) std::printf("  (OpenBLAS kernel %s)", result.kernels.at(name).c_str());
      std::printf("\n");
    }
    const auto ratio = [&](const char* ours, const char* theirs, double target) {
      if (!result.gflops.count(ours) || !result.gflops.count(theirs)) return;
      const double r = result.gflops.at(ours).median / result.gflops.at(theirs).median;
      std::printf("  ratio %s / %s = %.3f (target >= %.2f)%s\n", ours, theirs, r, target, r >= target ? "" : "  BELOW");
    };
    ratio("avx512", "openblas-own", 0.90);
    ratio("avx2", "openblas-haswell", 0.90);
  }
}

}  // namespace

int main(int argc, char** argv) {
#if defined(HK_BENCH_HAVE_OPENBLAS)
  if (argc == 2 && std::strcmp(argv[1], "--openblas-server") == 0) return openblas_server();
#endif
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
    if (std::strcmp(argv[i], "--paths") == 0 && i + 1 < argc) {
      g_paths = argv[++i];
      continue;
    }
    if (std::strcmp(argv[i], "--eigen") == 0) {
      g_eigen = true;
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
#if defined(HK_BENCH_HAVE_OPENBLAS)
  helpers().push_back(std::make_unique<OpenBlasHelper>("own", std::vector<std::string>{"OPENBLAS_L2_SIZE"}, ""));
  helpers().push_back(std::make_unique<OpenBlasHelper>("haswell", std::vector<std::string>{"OPENBLAS_L2_SIZE"}, "Haswell"));
#else
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
  std::fprintf(stderr, "bench_matmul: clock %.3f GHz (dependent-add chain, best of 5); %s\n", clock_ghz(),
               hk::bench::load_average().c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
#if defined(HK_BENCH_HAVE_OPENBLAS)
  helpers().clear();
#endif
  return 0;
}
