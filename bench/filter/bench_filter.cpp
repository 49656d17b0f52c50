// bench_filter [--paths avx512,avx2[,generic]] [--rounds N] [Google Benchmark flags]
// Separable Gaussian, sigma = 2 (13 taps), on an 8192 x 8192 float image, clamp-to-edge borders:
// hybridkit's filter code on each SIMD path (forced in turn, hk/simd.hpp) against OpenCV's
// cv::GaussianBlur (same kernel size, BORDER_REPLICATE), side by side in rounds (every contender
// once per round, so all see the same machine load), on 1 and 2 threads; and a STREAM triad.
// After the benchmarks the program prints medians, spreads and the ratios against their targets
// (avx512 >= 1.6 x avx2 on 1 thread; avx512 >= 1.5 x OpenCV on 1 thread, >= 2 x on 2) and the
// effective bandwidth (bytes read + written per second) against the triad's.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../common/side_by_side.hpp"
#include "filter_core.hpp"
#if HK_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace hf = hk::filter;

namespace {

constexpr int kSide = 8192;
constexpr double kPixels = static_cast<double>(kSide) * kSide;
constexpr double kBytesPerPixel = 2 * sizeof(float);  // one float read, one written
constexpr std::size_t kTriadLength = std::size_t{1} << 25;  // 3 arrays x 256 MiB: far beyond the caches

struct HkImages {
  hf::FilterSpec spec = hf::make_gaussian(2.0);
  hf::Block src{kSide, kSide, spec.radius, 1}, dst{kSide, kSide, spec.radius, 1};
  HkImages() {
#pragma omp parallel for schedule(static)
    for (int y = -spec.radius; y < kSide + spec.radius; ++y) {
      float* in = src.row(0, y);
      float* out = dst.row(0, y);
      for (int x = -spec.radius; x < kSide + spec.radius; ++x) {
        in[x] = hf::synthetic_value(x < 0 ? 0 : x, y < 0 ? 0 : y, 0, 1);
        out[x] = 0.0f;
      }
    }
  }
};
HkImages& hk_images() {
  static HkImages images;
  return images;
}

std::string g_paths = "avx512,avx2";
int g_rounds = 5;
std::map<std::string, hk::bench::Spread>& rates() {  // "<contender>/<threads>" -> Mpixel/s
  static std::map<std::string, hk::bench::Spread> all;
  return all;
}

void BM_Gaussian(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  HkImages& images = hk_images();
  std::vector<hk::bench::Contender> contenders;
  for (const hk::simd::Path path : hk::bench::paths_to_measure(g_paths))
    contenders.push_back({hk::simd::path_name(path), [&images, path] {
                            hk::simd::restrict_to(path);
                            const double start = hk::bench::now_seconds();
                            hf::filter_image(images.spec, images.src, images.dst);
                            benchmark::DoNotOptimize(images.dst.data());
                            return hk::bench::now_seconds() - start;
                          }, {}});
#if HK_HAVE_OPENCV
  static cv::Mat src, dst;
  if (src.empty()) {
    src.create(kSide, kSide, CV_32F);
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) src.at<float>(y, x) = hf::synthetic_value(x, y, 0, 1);
    dst.create(kSide, kSide, CV_32F);
  }
  cv::setNumThreads(threads);
  contenders.push_back({"opencv", [] {
                          const double start = hk::bench::now_seconds();
                          cv::GaussianBlur(src, dst, cv::Size(13, 13), 2.0, 2.0, cv::BORDER_REPLICATE);
                          benchmark::DoNotOptimize(dst.data);
                          return hk::bench::now_seconds() - start;
                        }, {}});
#endif
  hk::bench::run_rounds(contenders, 1);  // warm-up
  for (auto& c : contenders) c.seconds.clear();
  for (auto _ : state) {
    hk::bench::run_rounds(contenders, 1);
    state.SetIterationTime(contenders.front().seconds.back());
  }
  hk::simd::restrict_to(hk::simd::available_paths().front());
  for (const auto& c : contenders) {
    const hk::bench::Spread s = hk::bench::rate_spread(c, kPixels / 1e6);
    rates()[c.name + "/" + std::to_string(threads)] = s;
    state.counters[c.name + "_Mpixel/s"] = s.median;
  }
}

// STREAM triad a = b + s*c; counted as STREAM does: 3 x 8 bytes per element.
void BM_stream_triad(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  static std::unique_ptr<double[]> a, b, c;
  if (!a) {
    a.reset(new double[kTriadLength]);
    b.reset(new double[kTriadLength]);
    c.reset(new double[kTriadLength]);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < kTriadLength; ++i) a[i] = 0.0, b[i] = 1.0, c[i] = 2.0;
  }
  const double s = 3.0;
  for (auto _ : state) {
    double* pa = a.get();
    const double* pb = b.get();
    const double* pc = c.get();
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < kTriadLength; ++i) pa[i] = pb[i] + s * pc[i];
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(24.0 * kTriadLength * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_stream_triad)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3)->Repetitions(5);

// Keeps the medians of the triad's repetitions, by "name/threads".
class MedianCollector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, std::map<std::string, double>> medians;
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Aggregate || run.aggregate_name != "median") continue;
      std::string name = run.run_name.function_name + "/" + run.run_name.args;
      for (const auto& [counter, value] : run.counters) medians[name][counter] = value.value;
    }
  }
};

void print_summary(const MedianCollector& reporter) {
  std::printf("\nSeparable Gaussian sigma=2 (13 taps), %dx%d float, Mpixel/s: median [min..max] of %d rounds; %s\n",
              kSide, kSide, g_rounds, hk::bench::load_average().c_str());
  for (int threads : {1, 2}) {
    std::string arg = "/";
    arg += std::to_string(threads);
    auto it = reporter.medians.find("BM_stream_triad" + arg);
    const double triad = it == reporter.medians.end() ? 0.0 : it->second.at("GB/s");
    std::printf("%d thread(s): STREAM triad %.2f GB/s\n", threads, triad);
    for (const auto& [name, s] : rates()) {
      if (name.size() < arg.size() || name.compare(name.size() - arg.size(), arg.size(), arg) != 0) continue;
      const double gbs = s.median * 1e6 * kBytesPerPixel / 1e9;
      std::printf("  %-10s %8.1f [%6.1f..%6.1f]  %6.2f GB/s (%3.0f%% of the triad)\n",
                  name.substr(0, name.size() - arg.size()).c_str(), s.median, s.min, s.max, gbs,
                  triad > 0 ? 100.0 * gbs / triad : 0.0);
    }
    const auto ratio = [&](const std::string& ours, const std::string& theirs, double target) {
      if (!rates().count(ours + arg) || !rates().count(theirs + arg)) return;
      const double r = rates()[ours + arg].median / rates()[theirs + arg].median;
      std::printf("  ratio %s / %s = %.2f (target >= %.1f)%s\n", ours.c_str(), theirs.c_str(), r, target,
                  r >= target ? "" : "  BELOW");
    };
    if (threads == 1) ratio("avx512", "avx2", 1.6);
    ratio("avx512", "opencv", threads == 1 ? 1.5 : 2.0);
    ratio("avx2", "opencv", 0.0);
  }
#if !HK_HAVE_OPENCV
  std::printf("OpenCV not found at build time: the cv::GaussianBlur baseline was skipped.\n");
#endif
  std::printf("GB/s counts one float read and one written per pixel (the minimum traffic); the triad counts 24 bytes "
              "per element as STREAM does.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--paths") == 0 && i + 1 < argc) {
      g_paths = argv[++i];
      continue;
    }
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      g_rounds = std::atoi(argv[++i]);
      if (g_rounds < 1) {
        std::fprintf(stderr, "bench_filter: --rounds: must be an integer >= 1 (got '%s')\n", argv[i]);
        return 2;
      }
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  for (int threads : {1, 2})
    benchmark::RegisterBenchmark("BM_Gaussian", BM_Gaussian)
        ->Arg(threads)
        ->Iterations(g_rounds)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  print_summary(reporter);
  return 0;
}
