// The Monte Carlo hot loops, compiled once per SIMD path (Highway foreach_target) and picked at
// run time (HWY_DYNAMIC_DISPATCH): Philox4x32-10 on as many counters as a vector has 32-bit
// lanes (16 with AVX-512, 8 with AVX2, 4 generic). Philox and the pi test are integer
// arithmetic, so every path gives the scalar generator's bits; the option payoffs are computed
// from those words by the same scalar code on every path (same operations, same order, no
// fused multiply-add: this file is compiled with -ffp-contract=off).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hk/simd.hpp"
#include "montecarlo.hpp"
#include "philox.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "montecarlo_paths.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace hk::mc {
namespace HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;
using D32 = hn::ScalableTag<std::uint32_t>;
using D64 = hn::Repartition<std::uint64_t, D32>;
using DI64 = hn::Repartition<std::int64_t, D32>;
using V32 = hn::Vec<D32>;
using V64 = hn::Vec<D64>;
constexpr std::uint64_t kLanes = hn::MaxLanes(D32());

// 32x32 -> 64-bit products of every lane with the constant `m`: high and low halves, lane for lane.
HWY_INLINE void mulhilo(V32 m, V32 v, V32& hi, V32& lo) {
  const D32 d32;
  const D64 d64;
  const V64 even = hn::MulEven(m, v);
  const V64 odd = hn::MulEven(m, hn::BitCast(d32, hn::ShiftRight<32>(hn::BitCast(d64, v))));
#if HWY_TARGET <= HWY_AVX3
  // AVX-512: one two-source permute gathers the high halves (Highway 1.0.3 has no two-table
  // lookup), and the low halves are the 32-bit product: 5 instructions instead of 7.
  const __m512i high_halves = _mm512_set_epi32(31, 15, 29, 13, 27, 11, 25, 9, 23, 7, 21, 5, 19, 3, 17, 1);
  hi = V32{_mm512_permutex2var_epi32(even.raw, high_halves, odd.raw)};
  lo = hn::Mul(m, v);
#else
  lo = hn::OddEven(hn::BitCast(d32, hn::ShiftLeft<32>(odd)), hn::BitCast(d32, even));
  hi = hn::OddEven(hn::BitCast(d32, odd), hn::BitCast(d32, hn::ShiftRight<32>(even)));
#endif
}

// Groups of kLanes counters computed round by round together: the 10 rounds of one group are a
// chain of dependent multiplies, and interleaved independent groups keep the vector units busy
// (Zen 5, 1 thread, Msamples/s of CPU time: AVX-512 2 groups 740, 4 groups 1000; AVX2 2: 330,
// 3: 380, 4: 400).
constexpr int kGroups = 4;

// Philox4x32-10 of kGroups x kLanes counters: group g, lane i has low word first + g kLanes + i,
// high word first >> 32, then 0, 0. Callers pass ranges that do not cross a multiple of 2^32
// (no carry into the second word).
template <int G>
HWY_INLINE void philox(rng::Key key, std::uint64_t first, V32 (&c0)[G], V32 (&c1)[G], V32 (&c2)[G], V32 (&c3)[G]) {
  const D32 d;
  for (int g = 0; g < G; ++g) {
    c0[g] = hn::Add(hn::Set(d, static_cast<std::uint32_t>(first + static_cast<std::uint64_t>(g) * kLanes)),
                    hn::Iota(d, 0));
    c1[g] = hn::Set(d, static_cast<std::uint32_t>(first >> 32));
    c2[g] = hn::Zero(d);
    c3[g] = hn::Zero(d);
  }
  const V32 m0 = hn::Set(d, rng::kPhiloxM0), m1 = hn::Set(d, rng::kPhiloxM1);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += rng::kPhiloxW0;
      key[1] += rng::kPhiloxW1;
    }
    const V32 k0 = hn::Set(d, key[0]), k1 = hn::Set(d, key[1]);
    for (int g = 0; g < G; ++g) {
      V32 hi0, lo0, hi1, lo1;
      mulhilo(m0, c0[g], hi0, lo0);
      mulhilo(m1, c2[g], hi1, lo1);
      c0[g] = hn::Xor(hn::Xor(hi1, c1[g]), k0);
      c1[g] = lo1;
      c2[g] = hn::Xor(hn::Xor(hi0, c3[g]), k1);
      c3[g] = lo0;
    }
  }
}

// Per 64-bit lane: 1 for each dart of the group that hits (x = w0 >> 1, y = w1 >> 1 of the even
// and of the odd 32-bit lanes: x^2 + y^2 < 2^62), added to `hits`.
HWY_INLINE void add_hits(V32 w0, V32 w1, V64& hits) {
  const D32 d32;
  const D64 d64;
  const DI64 di64;
  const V32 x = hn::ShiftRight<1>(w0), y = hn::ShiftRight<1>(w1);
  const V32 x_odd = hn::BitCast(d32, hn::ShiftRight<32>(hn::BitCast(d64, x)));
  const V32 y_odd = hn::BitCast(d32, hn::ShiftRight<32>(hn::BitCast(d64, y)));
  const V64 r_even = hn::Add(hn::MulEven(x, x), hn::MulEven(y, y));
  const V64 r_odd = hn::Add(hn::MulEven(x_odd, x_odd), hn::MulEven(y_odd, y_odd));
  // Sums are below 2^63: the signed comparison is exact. A true mask lane is all ones (-1).
  const auto limit = hn::Set(di64, std::int64_t{1} << 62);
  hits = hn::Sub(hits, hn::BitCast(d64, hn::VecFromMask(di64, hn::Lt(hn::BitCast(di64, r_even), limit))));
  hits = hn::Sub(hits, hn::BitCast(d64, hn::VecFromMask(di64, hn::Lt(hn::BitCast(di64, r_odd), limit))));
}

}  // namespace

std::uint64_t PiHits(std::uint64_t seed, std::uint64_t first, std::uint64_t count) {
  const D64 d64;
  const rng::Key key = rng::key_from_seed(seed);
  V64 hits = hn::Zero(d64);
  std::uint64_t scalar_hits = 0;
  std::uint64_t i = first;
  const std::uint64_t end = first + count;
  while (i < end) {
    const std::uint64_t boundary = (i | 0xFFFFFFFFull) + 1;  // groups stay below the next 2^32
    const std::uint64_t stop = std::min(end, boundary);
    for (; i + kGroups * kLanes <= stop; i += kGroups * kLanes) {
      V32 w0[kGroups], w1[kGroups], w2[kGroups], w3[kGroups];
      philox(key, i, w0, w1, w2, w3);
      for (int g = 0; g < kGroups; ++g) add_hits(w0[g], w1[g], hits);
    }
    for (; i < stop; ++i) {
      const rng::Counter w = rng::philox4x32(rng::counter_for(i), key);
      const std::uint64_t x = w[0] >> 1, y = w[1] >> 1;
      scalar_hits += x * x + y * y < (std::uint64_t{1} << 62);
    }
  }
  return hn::GetLane(hn::SumOfLanes(d64, hits)) + scalar_hits;
}

void PhiloxWords(std::uint64_t seed, std::uint64_t first, std::size_t count, std::uint32_t* HWY_RESTRICT w0,
                 std::uint32_t* HWY_RESTRICT w1, std::uint32_t* HWY_RESTRICT w2, std::uint32_t* HWY_RESTRICT w3) {
  const D32 d;
  const rng::Key key = rng::key_from_seed(seed);
  std::size_t i = 0;
  while (i < count) {
    const std::uint64_t at = first + i;
    const std::uint64_t room = ((at | 0xFFFFFFFFull) + 1) - at;  // samples before the next 2^32
    const std::size_t stop = static_cast<std::size_t>(std::min<std::uint64_t>(count, i + room));
    for (; i + kLanes <= stop; i += kLanes) {
      V32 c0[1], c1[1], c2[1], c3[1];
      philox(key, first + i, c0, c1, c2, c3);
      hn::StoreU(c0[0], d, w0 + i);
      hn::StoreU(c1[0], d, w1 + i);
      hn::StoreU(c2[0], d, w2 + i);
      hn::StoreU(c3[0], d, w3 + i);
    }
    for (; i < stop; ++i) {
      const rng::Counter w = rng::philox4x32(rng::counter_for(first + i), key);
      w0[i] = w[0], w1[i] = w[1], w2[i] = w[2], w3[i] = w[3];
    }
  }
}

std::int64_t MonteCarloTarget() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace hk::mc
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hk::mc {
HWY_EXPORT(PiHits);
HWY_EXPORT(PhiloxWords);
HWY_EXPORT(MonteCarloTarget);

std::uint64_t pi_hits(std::uint64_t seed, std::uint64_t first, std::uint64_t count) {
  return HWY_DYNAMIC_DISPATCH(PiHits)(seed, first, count);
}

void philox_words(std::uint64_t seed, std::uint64_t first, std::size_t count, std::uint32_t* w0, std::uint32_t* w1,
                  std::uint32_t* w2, std::uint32_t* w3) {
  HWY_DYNAMIC_DISPATCH(PhiloxWords)(seed, first, count, w0, w1, w2, w3);
}

const char* montecarlo_isa() { return simd::path_name(simd::path_of_target(HWY_DYNAMIC_DISPATCH(MonteCarloTarget)())); }

Moments option_block(const OptionParams& option, std::uint64_t seed, std::uint64_t first, std::uint64_t count) {
  const CallPayoff payoff(option);
  constexpr std::size_t kChunk = 256;  // words of kChunk samples at a time from the vector generator
  alignas(64) std::uint32_t w0[kChunk], w1[kChunk], w2[kChunk], w3[kChunk];
  Moments moments;
  for (std::uint64_t done = 0; done < count; done += kChunk) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, count - done));
    philox_words(seed, first + done, n, w0, w1, w2, w3);
    for (std::size_t i = 0; i < n; ++i) add_payoff(moments, payoff(w0[i], w1[i], w2[i], w3[i]));
  }
  return moments;
}

}  // namespace hk::mc
#endif  // HWY_ONCE
