// The Monte Carlo baseline, std::mt19937_64 with std::uniform_real_distribution, compiled three
// times by CMake: with the build's flags and with -march=x86-64-v3 (the ISA of the avx2
// path) and -march=x86-64-v4 (AVX-512 F/BW/CD/DQ/VL, the avx512 path's), so each SIMD path can be
// compared with the baseline built with the same flags (the uint64 -> double conversion in
// uniform_real_distribution is one instruction with AVX-512, a branch without: 284 against 67
// Msamples/s measured on Zen 5). HK_MT_NAME names this copy's function.
#include <cstdint>
#include <random>

namespace hk::bench {

// Darts from the engine: hits of `samples` points (x, y) uniform in [0, 1)^2 inside the unit circle.
std::uint64_t HK_MT_NAME(std::mt19937_64& engine, std::uint64_t samples) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < samples; ++i) {
    const double x = uniform(engine), y = uniform(engine);
    hits += (x * x + y * y < 1.0);
  }
  return hits;
}

}  // namespace hk::bench
