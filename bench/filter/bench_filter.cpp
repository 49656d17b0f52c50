// Separable Gaussian, sigma = 2 (13 taps), on an 8192 x 8192 float image, clamp-to-edge borders:
// hybridkit's filter code on 1 and 2 threads against OpenCV's cv::GaussianBlur (same kernel size,
// BORDER_REPLICATE) and a STREAM triad, all measured in this one run. After the benchmarks the
// program prints the medians, the ratios hk / OpenCV (targets: >= 1.5 on 1 thread, >= 2 on 2)
// and the effective bandwidth (bytes read + written per second) against the triad's.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

void set_rates(benchmark::State& state) {
  state.counters["Mpixel/s"] = benchmark::Counter(kPixels * state.iterations() / 1e6, benchmark::Counter::kIsRate);
  state.counters["GB/s"] =
      benchmark::Counter(kPixels * kBytesPerPixel * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void BM_hk_gaussian(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  HkImages& images = hk_images();
  for (auto _ : state) {
    hf::filter_image(images.spec, images.src, images.dst);
    benchmark::DoNotOptimize(images.dst.data());
    benchmark::ClobberMemory();
  }
  set_rates(state);
}

#if HK_HAVE_OPENCV
void BM_opencv_gaussian(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  cv::setNumThreads(threads);
  static cv::Mat src, dst;
  if (src.empty()) {
    src.create(kSide, kSide, CV_32F);
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) src.at<float>(y, x) = hf::synthetic_value(x, y, 0, 1);
    dst.create(kSide, kSide, CV_32F);
  }
  for (auto _ : state) {
    cv::GaussianBlur(src, dst, cv::Size(13, 13), 2.0, 2.0, cv::BORDER_REPLICATE);
    benchmark::DoNotOptimize(dst.data);
    benchmark::ClobberMemory();
  }
  set_rates(state);
}
#endif

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
BENCHMARK(BM_hk_gaussian)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5)->Repetitions(5);
#if HK_HAVE_OPENCV
BENCHMARK(BM_opencv_gaussian)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5)->Repetitions(5);
#endif

// Keeps the medians of the repetitions, by "name/threads".
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

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  auto get = [&](const std::string& name, const std::string& counter) {
    auto it = reporter.medians.find(name);
    return it == reporter.medians.end() || !it->second.count(counter) ? 0.0 : it->second.at(counter);
  };
  std::printf("\nSeparable Gaussian sigma=2 (13 taps), %dx%d float, medians of 5 repetitions:\n", kSide, kSide);
  std::printf("%-8s %14s %16s %8s %8s %12s %12s %10s\n", "threads", "hk Mpixel/s", "OpenCV Mpixel/s", "ratio",
              "target", "hk GB/s", "triad GB/s", "hk/triad");
  for (int threads : {1, 2}) {
    const std::string arg = std::to_string(threads);
    const double hk = get("BM_hk_gaussian/" + arg, "Mpixel/s");
    const double cv = get("BM_opencv_gaussian/" + arg, "Mpixel/s");
    const double hk_gbs = get("BM_hk_gaussian/" + arg, "GB/s");
    const double triad = get("BM_stream_triad/" + arg, "GB/s");
    const double target = threads == 1 ? 1.5 : 2.0;
    if (hk == 0) continue;  // filtered out with --benchmark_filter
    std::printf("%-8d %14.1f ", threads, hk);
    if (cv > 0)
      std::printf("%16.1f %8.2f %6.1fx%s ", cv, hk / cv, target, hk / cv >= target ? " " : "!");
    else
      std::printf("%16s %8s %8s ", "n/a", "n/a", "n/a");
    std::printf("%12.2f %12.2f %9.0f%%\n", hk_gbs, triad, triad > 0 ? 100.0 * hk_gbs / triad : 0.0);
  }
#if !HK_HAVE_OPENCV
  std::printf("OpenCV not found at build time: the cv::GaussianBlur baseline was skipped.\n");
#endif
  std::printf("'!' marks a ratio below its target. GB/s counts one float read and one written per pixel "
              "(the minimum traffic); the triad counts 24 bytes per element as STREAM does.\n");
  return 0;
}
