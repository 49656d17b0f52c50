#pragma once
#include <cstdint>

namespace hk::mc {

// Samples are summed in blocks of this many, blocks in block order: the reduction order is a
// property of the problem, not of the ranks x threads mix, so every mix gives the same bits.
inline constexpr std::uint64_t kBlockSamples = 1u << 16;

// pi: sample i is the dart (x, y) = (w0 >> 1, w1 >> 1) of Philox(counter i, seed), a point of the
// 2^31 x 2^31 lattice; it hits when x^2 + y^2 < 2^62. Integer arithmetic: exact on every mix.
std::uint64_t pi_hits(std::uint64_t seed, std::uint64_t first, std::uint64_t count);            // AVX2 when built for it
std::uint64_t pi_hits_reference(std::uint64_t seed, std::uint64_t first, std::uint64_t count);  // scalar oracle

struct OptionParams {
  double spot = 100.0;
  double strike = 100.0;
  double rate = 0.05;
  double volatility = 0.2;
  double maturity = 1.0;
};

// Sum and sum of squares of the undiscounted call payoffs max(S_T - K, 0) of samples
// [first, first + count), in sample order. S_T = S0 exp((r - v^2/2) T + v sqrt(T) Z), Z by
// Box-Muller from the 53-bit uniforms u1 = (w0:w1, (0,1]) and u2 = (w2:w3, [0,1)).
struct Moments {
  double sum = 0;
  double sum_sq = 0;
};
Moments option_block(const OptionParams& option, std::uint64_t seed, std::uint64_t first, std::uint64_t count);

// Black-Scholes closed form of the European call, and the exact variance of the discounted
// payoff e^{-rT} max(S_T - K, 0): the verification's standard error does not come from the samples.
double black_scholes_call(const OptionParams& option);
double discounted_payoff_variance(const OptionParams& option);

}  // namespace hk::mc
