#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "each_simd_path.hpp"
#include "montecarlo.hpp"

namespace mc = hk::mc;

TEST(MonteCarloPi, EverySimdPathMatchesScalarReference) {
  // Ranges with ragged starts/ends, so the vector groups (4, 8 or 16 lanes, two at a time) and
  // the scalar tails are all used.
  for_each_simd_path([](hk::simd::Path path) {
    ASSERT_STREQ(mc::montecarlo_isa(), hk::simd::path_name(path));
    for (std::uint64_t first : {0ull, 1ull, 7ull, 65536ull, 123457ull}) {
      for (std::uint64_t count : {0ull, 1ull, 8ull, 13ull, 31ull, 33ull, 1000ull, 65536ull}) {
        EXPECT_EQ(mc::pi_hits(42, first, count), mc::pi_hits_reference(42, first, count))
            << "first " << first << " count " << count;
      }
    }
  });
}

TEST(MonteCarloPi, EverySimdPathAcrossTheLowCounterWordBoundary) {
  for_each_simd_path([](hk::simd::Path) {
    for (std::uint64_t before : {1ull, 13ull, 40ull})
      EXPECT_EQ(mc::pi_hits(7, (1ull << 32) - before, 80), mc::pi_hits_reference(7, (1ull << 32) - before, 80));
  });
}

TEST(MonteCarloOption, EverySimdPathMatchesScalarReferenceBitwise) {
  const mc::OptionParams option;
  for_each_simd_path([&](hk::simd::Path) {
    for (std::uint64_t first : {0ull, 5ull, (1ull << 32) - 37}) {
      for (std::uint64_t count : {1ull, 15ull, 257ull, 5000ull}) {
        const mc::Moments fast = mc::option_block(option, 11, first, count);
        const mc::Moments reference = mc::option_block_reference(option, 11, first, count);
        EXPECT_EQ(fast.sum, reference.sum) << "first " << first << " count " << count;
        EXPECT_EQ(fast.sum_sq, reference.sum_sq) << "first " << first << " count " << count;
      }
    }
  });
}

TEST(MonteCarloPi, SplittingDoesNotChangeTheCount) {
  const std::uint64_t whole = mc::pi_hits(99, 0, 100000);
  EXPECT_EQ(whole, mc::pi_hits(99, 0, 33333) + mc::pi_hits(99, 33333, 33334) + mc::pi_hits(99, 66667, 33333));
}

TEST(MonteCarloPi, EstimateIsNearPi) {
  const std::uint64_t n = 1'000'000;
  const double estimate = 4.0 * static_cast<double>(mc::pi_hits(1, 0, n)) / n;
  const double p = std::numbers::pi / 4;
  EXPECT_NEAR(estimate, std::numbers::pi, 5 * 4 * std::sqrt(p * (1 - p) / n));
}

TEST(MonteCarloOption, BlackScholesKnownValue) {
  // Textbook value: S=100, K=100, r=5%, sigma=20%, T=1y -> 10.4506.
  EXPECT_NEAR(mc::black_scholes_call({}), 10.450583572185565, 1e-9);
  // Deep in the money tends to S - K e^{-rT}.
  mc::OptionParams deep{200, 50, 0.03, 0.1, 0.5};
  EXPECT_NEAR(mc::black_scholes_call(deep), 200 - 50 * std::exp(-0.03 * 0.5), 1e-9);
}

TEST(MonteCarloOption, ExactVarianceMatchesTheSamples) {
  const mc::OptionParams option;
  const std::uint64_t n = 400'000;
  const mc::Moments m = mc::option_block(option, 5, 0, n);
  const double mean = m.sum / n;
  const double sample_variance = (m.sum_sq - n * mean * mean) / (n - 1);
  const double discount = std::exp(-option.rate * option.maturity);
  const double exact = mc::discounted_payoff_variance(option);
  EXPECT_NEAR(discount * discount * sample_variance / exact, 1.0, 0.02);
  EXPECT_NEAR(discount * mean, mc::black_scholes_call(option), 5 * std::sqrt(exact / n));
}

TEST(MonteCarloOption, BlocksAreDeterministic) {
  const mc::OptionParams option;
  const mc::Moments a = mc::option_block(option, 3, 1000, 5000);
  const mc::Moments b = mc::option_block(option, 3, 1000, 5000);
  EXPECT_EQ(a.sum, b.sum);
  EXPECT_EQ(a.sum_sq, b.sum_sq);
}
