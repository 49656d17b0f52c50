#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>

#include "philox.hpp"

namespace hk::mc {

// Samples are summed in blocks of this many, blocks in block order: the reduction order is a
// property of the problem, not of the ranks x threads mix, so every mix gives the same bits.
inline constexpr std::uint64_t kBlockSamples = 1u << 16;

// pi: sample i is the dart (x, y) = (w0 >> 1, w1 >> 1) of Philox(counter i, seed), a point of the
// 2^31 x 2^31 lattice; it hits when x^2 + y^2 < 2^62. Integer arithmetic: exact on every mix and path.
std::uint64_t pi_hits(std::uint64_t seed, std::uint64_t first, std::uint64_t count);  // the SIMD path dispatch picks
std::uint64_t pi_hits_reference(std::uint64_t seed, std::uint64_t first, std::uint64_t count);  // scalar oracle

// Philox words of samples [first, first + count): w<j>[i] is word j of sample first + i (SIMD path).
void philox_words(std::uint64_t seed, std::uint64_t first, std::size_t count, std::uint32_t* w0, std::uint32_t* w1,
                  std::uint32_t* w2, std::uint32_t* w3);
// The SIMD path the hot loops run now ("avx512", "avx2", "generic"; see hk/simd.hpp).
const char* montecarlo_isa();

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
// The same sums sample by sample with the scalar generator (the oracle of option_block).
Moments option_block_reference(const OptionParams& option, std::uint64_t seed, std::uint64_t first,
                               std::uint64_t count);

// One sample's payoff from its Philox words: the same operations in the same order for the fast
// path and the oracle (both compiled with -ffp-contract=off: no fused multiply-add).
class CallPayoff {
 public:
  explicit CallPayoff(const OptionParams& option)
      : spot_(option.spot),
        strike_(option.strike),
        drift_((option.rate - 0.5 * option.volatility * option.volatility) * option.maturity),
        diffusion_(option.volatility * std::sqrt(option.maturity)) {}
  double operator()(std::uint32_t w0, std::uint32_t w1, std::uint32_t w2, std::uint32_t w3) const {
    const double u1 = rng::uniform_oc(w0, w1);
    const double u2 = rng::uniform_co(w2, w3);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    const double terminal = spot_ * std::exp(drift_ + diffusion_ * z);
    return terminal > strike_ ? terminal - strike_ : 0.0;
  }

 private:
  double spot_, strike_, drift_, diffusion_;
};
inline void add_payoff(Moments& moments, double payoff) {
  moments.sum += payoff;
  moments.sum_sq += payoff * payoff;
}

// Black-Scholes closed form of the European call, and the exact variance of the discounted
// payoff e^{-rT} max(S_T - K, 0): the verification's standard error does not come from the samples.
double black_scholes_call(const OptionParams& option);
double discounted_payoff_variance(const OptionParams& option);

}  // namespace hk::mc
