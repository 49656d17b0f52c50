// Blocked, vectorised filter passes, compiled once per SIMD path (Highway foreach_target: 16
// floats per vector with AVX-512, 8 with AVX2, 4 generic) and picked at run time
// (HWY_DYNAMIC_DISPATCH). Compiled with -ffp-contract=off, and the vector code uses separate
// multiplies and adds: every pixel sees exactly the operations documented in filter_core.hpp, in
// that order, whichever path, lane or tail loop computes it, so the result is bitwise the same as
// the serial reference on every path.
#ifndef HK_FILTER_CORE_SHARED
#define HK_FILTER_CORE_SHARED
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

#include "filter_core.hpp"
#include "hk/decomposition.hpp"
#include "hk/simd.hpp"

namespace hk::filter {
namespace {

// Columns per strip. Whole rows up to 8192 pixels measured fastest on the development machine
// (8192x1024 image, 1 thread: 512 -> 300, 2048 -> 405, 8192 -> 490 Mpixel/s of CPU time): long
// sequential runs keep the hardware prefetchers busy, which beats a ring that fits in L2.
constexpr int kStripWidth = kFilterStripWidth;
// Ring slots are one 64-byte line longer than a strip: slots exactly 32 KiB apart all fall into
// the same L1 sets, and the 16 rows a vertical step reads thrashed its 8 ways (the vertical pass
// alone ran at 957 Mpixel/s with 32 KiB slots, 1671 with this padding; 1 thread, 8192 columns).
constexpr std::ptrdiff_t kSlotStride = static_cast<std::ptrdiff_t>(kFilterSlotStride);
// Output rows per vertical step: the 2r+4 rows they need are loaded from L2 once per step and
// then hit L1, instead of 2r+1 L2 loads per output row.
constexpr int kRowsPerStep = kFilterRowsPerStep;
// The horizontal pass prefetches its input this many floats (8 KiB) ahead, which runs on into
// the next row (Zen 5, 8192 x 2048 Gaussian sigma 2, 1 thread, Mpixel/s of CPU time: AVX-512
// 1700 -> 1850, AVX2 930 -> 1300; prefetching the next rows from the vertical step instead was
// slower).
constexpr int kPrefetchAhead = 2048;
static_assert(kRowsPerStep == 4, "vertical_step computes four named output rows");

using HorizontalPass = void (*)(const float*, float*, int, const float*, int);
using VerticalRow = void (*)(const float* const*, float*, int, const float*, int);
using VerticalStep = void (*)(const float*, float* const*, int, const float*, bool);
using SobelRow = void (*)(const float*, const float*, const float*, float*, int);

// The passes of one SIMD path, for a radius: compiled steps exist for radii 1..8 (gaussian
// sigma <= 2.67, box radius <= 8); other radii use the any-radius passes, row by row.
struct FilterPasses {
  HorizontalPass (*horizontal)(int r);
  VerticalRow (*vertical_row)(int r);
  const VerticalStep* (*steps)(int r);  // indexed by top slot / 4, or nullptr
  SobelRow sobel_row;
  std::int64_t target;  // the Highway target of this copy
};

}  // namespace
}  // namespace hk::filter
#endif  // HK_FILTER_CORE_SHARED

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "filter_core.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace hk::filter {
namespace HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;
constexpr int kLanes = static_cast<int>(hn::MaxLanes(D()));

HWY_INLINE V load(const float* p) { return hn::LoadU(D(), p); }
HWY_INLINE void store(float* p, V v) { hn::StoreU(v, D(), p); }
HWY_INLINE V splat(float s) { return hn::Set(D(), s); }
// a + w * (x + y): a separate multiply and add (no fused multiply-add), as the definition says.
HWY_INLINE V tap(V a, V w, V x, V y) { return hn::Add(a, hn::Mul(w, hn::Add(x, y))); }

#if HWY_TARGET <= HWY_AVX3
// AVX-512, radius R <= 15 fixed: in[i-k] and in[i+k] are cut out of three neighbouring vectors
// with valignd instead of loaded: 13 unaligned loads per 16 pixels (each crossing a cache line)
// became 1 (horizontal pass alone, 8192-wide rows in cache: 2900 -> 5500 Mpixel/s; AVX2 2300).
template <int K>
HWY_INLINE V lanes_from(V hi, V lo) {  // lanes K..15 of lo, then 0..K-1 of hi
  return V{_mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi.raw), _mm512_castps_si512(lo.raw), K))};
}
template <int... K>
HWY_INLINE V taps_of(V prev, V cur, V next, const V* wv, std::integer_sequence<int, K...>) {
  V a = hn::Mul(wv[0], cur);
  ((a = tap(a, wv[K + 1], lanes_from<15 - K>(cur, prev), lanes_from<K + 1>(next, cur))), ...);  // k = 1 .. R, in order
  return a;
}
// The pixels of one vector, i .. i+15, with the neighbours the R taps need: all 16 lanes of `cur`,
// the top R of `prev` and the bottom R of `next` (masked loads read no further: in[-R..n+R) is
// all that is valid).
template <int R>
int horizontal_vectors(const float* in, float* out, int n, const V* wv) {
  static_assert(R > 0 && R < 16);
  if (n < 16) return 0;
  V prev{_mm512_maskz_loadu_ps(static_cast<__mmask16>(0xFFFFu << (16 - R)), in - 16)};
  V cur = load(in);
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const int valid = n + R - (i + 16);  // floats readable from in + i + 16
    const V next = valid >= 16 ? load(in + i + 16)
                               : V{_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << valid) - 1), in + i + 16)};
    store(out + i, taps_of(prev, cur, next, wv, std::make_integer_sequence<int, R>{}));
    hwy::Prefetch(in + i + kPrefetchAhead);
    prev = cur;
    cur = next;
  }
  return i;
}
#endif

// out[i] = w0*in[i] + sum_k w[k]*(in[i-k] + in[i+k]), i in [0, n). R > 0: radius fixed at
// compile time (weights stay in registers, loops fully unrolled); R == 0: any radius r. Same
// operations in the same order either way.
template <int R>
void horizontal_pass(const float* in, float* out, int n, const float* w, int r) {
  if constexpr (R > 0) r = R;
#if HWY_TARGET <= HWY_AVX3
  if constexpr (R > 0) {
    V wv[R + 1];
    for (int k = 0; k <= R; ++k) wv[k] = splat(w[k]);
    for (int i = horizontal_vectors<R>(in, out, n, wv); i < n; ++i) {
      float a = w[0] * in[i];
      for (int k = 1; k <= R; ++k) a = a + w[k] * (in[i - k] + in[i + k]);
      out[i] = a;
    }
    return;
  }
#endif
  constexpr int kMaxRegs = R > 0 ? R + 1 : 1;
  V wv[kMaxRegs];
  if constexpr (R > 0)
    for (int k = 0; k <= R; ++k) wv[k] = splat(w[k]);
  int i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    V a = hn::Mul(R > 0 ? wv[0] : splat(w[0]), load(in + i));
    V b = hn::Mul(R > 0 ? wv[0] : splat(w[0]), load(in + i + kLanes));
    for (int k = 1; k <= r; ++k) {
      const V wk = R > 0 ? wv[R > 0 ? k : 0] : splat(w[k]);
      a = tap(a, wk, load(in + i - k), load(in + i + k));
      b = tap(b, wk, load(in + i + kLanes - k), load(in + i + kLanes + k));
    }
    store(out + i, a);
    store(out + i + kLanes, b);
    hwy::Prefetch(in + i + kPrefetchAhead);
  }
  for (; i < n; ++i) {
    float a = w[0] * in[i];
    for (int k = 1; k <= r; ++k) a = a + w[k] * (in[i - k] + in[i + k]);
    out[i] = a;
  }
}

// One output row: out[i] = w0*rows[r][i] + sum_k w[k]*(rows[r-k][i] + rows[r+k][i]). Used for
// the last rows of a band (fewer than kRowsPerStep) and for radii without a compiled step.
template <int R>
void vertical_row(const float* const* rows, float* out, int n, const float* w, int r) {
  if constexpr (R > 0) r = R;
  const float* centre = rows[r];
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    V a = hn::Mul(splat(w[0]), load(centre + i));
    for (int k = 1; k <= r; ++k) a = tap(a, splat(w[k]), load(rows[r - k] + i), load(rows[r + k] + i));
    store(out + i, a);
  }
  for (; i < n; ++i) {
    float a = w[0] * centre[i];
    for (int k = 1; k <= r; ++k) a = a + w[k] * (rows[r - k][i] + rows[r + k][i]);
    out[i] = a;
  }
}

// kRowsPerStep output rows from a ring of ring_slots(R) slots whose row j (j = 0 .. 2R+3, the
// rows the step needs, top first) sits in slot (T + j) mod slots. T is a template parameter so
// that every row address is the ring base plus a constant: sixteen row pointers do not fit in
// the general registers and were reloaded from the stack on every iteration. Columns
// [begin, end) in whole vectors; returns where it stopped. kStream: streaming stores (out must be
// vector-aligned at begin).
template <int R, int T, bool kStream>
int vertical_step_vectors(const float* ring, float* const* out, int begin, int end, const V* wv) {
  constexpr int kSlots = ring_slots(R);
  float* const o0 = out[0];
  float* const o1 = out[1];
  float* const o2 = out[2];
  float* const o3 = out[3];
  const auto row = [ring](int j) { return ring + static_cast<std::ptrdiff_t>((T + j) % kSlots) * kSlotStride; };
  const auto put = [](float* p, V v) HWY_ATTR {  // HWY_ATTR: clang gives lambdas no target attribute
    if constexpr (kStream) hn::Stream(v, D(), p);
    else store(p, v);
  };
  int i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    V a0 = hn::Mul(wv[0], load(row(R) + i));
    V a1 = hn::Mul(wv[0], load(row(R + 1) + i));
    V a2 = hn::Mul(wv[0], load(row(R + 2) + i));
    V a3 = hn::Mul(wv[0], load(row(R + 3) + i));
#pragma GCC unroll 16
    for (int k = 1; k <= R; ++k) {
      a0 = tap(a0, wv[k], load(row(R - k) + i), load(row(R + k) + i));
      a1 = tap(a1, wv[k], load(row(R + 1 - k) + i), load(row(R + 1 + k) + i));
      a2 = tap(a2, wv[k], load(row(R + 2 - k) + i), load(row(R + 2 + k) + i));
      a3 = tap(a3, wv[k], load(row(R + 3 - k) + i), load(row(R + 3 + k) + i));
    }
    put(o0 + i, a0);
    put(o1 + i, a1);
    put(o2 + i, a2);
    put(o3 + i, a3);
  }
  return i;
}

template <int R, int T>
void vertical_step_columns(const float* ring, float* const* out, int begin, int end, const float* w) {
  constexpr int kSlots = ring_slots(R);
  const auto row = [ring](int j) { return ring + static_cast<std::ptrdiff_t>((T + j) % kSlots) * kSlotStride; };
  for (int i = begin; i < end; ++i)
    for (int m = 0; m < kRowsPerStep; ++m) {
      float a = w[0] * row(m + R)[i];
      for (int k = 1; k <= R; ++k) a = a + w[k] * (row(m + R - k)[i] + row(m + R + k)[i]);
      out[m][i] = a;
    }
}

// With `stream` the outputs go out with streaming stores (no read for ownership, no cache
// pollution; filter_region asks for them on outputs larger than a last-level cache): the columns
// before the outputs' first vector boundary are computed one by one (the same operations).
template <int R, int T>
void vertical_step(const float* ring, float* const* out, int n, const float* w, bool stream) {
  V wv[R + 1];
  for (int k = 0; k <= R; ++k) wv[k] = splat(w[k]);
  int i = 0;
  if (stream) {
    const int misaligned = static_cast<int>(reinterpret_cast<std::uintptr_t>(out[0]) / sizeof(float) % kLanes);
    const int peel = std::min(n, (kLanes - misaligned) % kLanes);
    vertical_step_columns<R, T>(ring, out, 0, peel, w);
    i = vertical_step_vectors<R, T, true>(ring, out, peel, n, wv);
  } else {
    i = vertical_step_vectors<R, T, false>(ring, out, 0, n, wv);
  }
  vertical_step_columns<R, T>(ring, out, i, n, w);
}

// The steps of radius R, one per ring rotation T = 0, 4, 8, ... (steps start every 4 rows),
// indexed by top slot / 4.
template <int R, std::size_t... Rotation>
const VerticalStep* steps_of_radius(std::index_sequence<Rotation...>) {
  static constexpr VerticalStep table[] = {&vertical_step<R, static_cast<int>(Rotation) * kRowsPerStep>...};
  return table;
}

// Compile-time radii for the common filters (gaussian sigma <= 2.67, box radius <= 8).
template <int... Rs>
struct PassTable {
  static HorizontalPass horizontal(int r) {
    HorizontalPass chosen = horizontal_pass<0>;
    ((r == Rs ? (chosen = horizontal_pass<Rs>, 0) : 0), ...);
    return chosen;
  }
  static VerticalRow vertical_row_for(int r) {
    VerticalRow chosen = vertical_row<0>;
    ((r == Rs ? (chosen = vertical_row<Rs>, 0) : 0), ...);
    return chosen;
  }
  // The compiled steps of radius r (see steps_of_radius), or nullptr: those radii go row by row.
  static const VerticalStep* steps(int r) {
    const VerticalStep* chosen = nullptr;
    ((r == Rs ? (chosen = steps_of_radius<Rs>(std::make_index_sequence<ring_slots(Rs) / kRowsPerStep>{}), 0) : 0),
     ...);
    return chosen;
  }
};
using Passes = PassTable<1, 2, 3, 4, 5, 6, 7, 8>;

// gx = ((a[x+1] + 2 m[x+1]) + b[x+1]) - ((a[x-1] + 2 m[x-1]) + b[x-1]), gy likewise down the
// column, out = sqrt(gx*gx + gy*gy): the same operations vector and scalar (sqrt is exact).
void sobel_row(const float* above, const float* mid, const float* below, float* out, int n) {
  const V two = splat(2.0f);
  int x = 0;
  for (; x + kLanes <= n; x += kLanes) {
    const V gx = hn::Sub(hn::Add(hn::Add(load(above + x + 1), hn::Mul(two, load(mid + x + 1))), load(below + x + 1)),
                         hn::Add(hn::Add(load(above + x - 1), hn::Mul(two, load(mid + x - 1))), load(below + x - 1)));
    const V gy = hn::Sub(hn::Add(hn::Add(load(below + x - 1), hn::Mul(two, load(below + x))), load(below + x + 1)),
                         hn::Add(hn::Add(load(above + x - 1), hn::Mul(two, load(above + x))), load(above + x + 1)));
    store(out + x, hn::Sqrt(hn::Add(hn::Mul(gx, gx), hn::Mul(gy, gy))));
  }
  for (; x < n; ++x) {
    const float gx = ((above[x + 1] + 2.0f * mid[x + 1]) + below[x + 1]) - ((above[x - 1] + 2.0f * mid[x - 1]) + below[x - 1]);
    const float gy = ((below[x - 1] + 2.0f * below[x]) + below[x + 1]) - ((above[x - 1] + 2.0f * above[x]) + above[x + 1]);
    out[x] = std::sqrt(gx * gx + gy * gy);
  }
}

}  // namespace

const FilterPasses* FilterPassesOfTarget() {
  static const FilterPasses passes = {&Passes::horizontal, &Passes::vertical_row_for, &Passes::steps, &sobel_row,
                                      HWY_TARGET};
  return &passes;
}

}  // namespace HWY_NAMESPACE
}  // namespace hk::filter
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hk::filter {
HWY_EXPORT(FilterPassesOfTarget);

namespace {
const FilterPasses& current_passes() { return *HWY_DYNAMIC_DISPATCH(FilterPassesOfTarget)(); }

double g_streaming_bytes = 32.0 * 1024 * 1024;  // set_streaming_threshold

// Where p sits in its 64-byte line, in floats.
int line_offset(const float* p) { return static_cast<int>(reinterpret_cast<std::uintptr_t>(p) / sizeof(float) % 16); }
}  // namespace

void set_streaming_threshold(double bytes) { g_streaming_bytes = bytes; }

const char* filter_isa() { return simd::path_name(simd::path_of_target(current_passes().target)); }

const char* kind_name(FilterKind kind) {
  switch (kind) {
    case FilterKind::gaussian: return "gaussian";
    case FilterKind::box: return "box";
    case FilterKind::sobel: return "sobel";
  }
  return "?";
}

FilterSpec make_gaussian(double sigma) {
  if (!(sigma > 0) || !std::isfinite(sigma)) throw std::invalid_argument("gaussian: sigma must be > 0");
  FilterSpec spec;
  spec.kind = FilterKind::gaussian;
  spec.sigma = sigma;
  spec.radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<double> g(static_cast<std::size_t>(spec.radius) + 1);
  double sum = 0;
  for (int k = 0; k <= spec.radius; ++k) {
    // g(0) = 1 exactly: for sigma below ~1e-162, sigma^2 underflows and 0 / 0 made every weight NaN.
    g[k] = k == 0 ? 1.0 : std::exp(-static_cast<double>(k) * k / (2.0 * sigma * sigma));
    sum += k == 0 ? g[k] : 2.0 * g[k];
  }
  for (double value : g) spec.weights.push_back(static_cast<float>(value / sum));
  return spec;
}

FilterSpec make_box(int radius) {
  if (radius < 0) throw std::invalid_argument("box: radius must be >= 0");
  FilterSpec spec;
  spec.kind = FilterKind::box;
  spec.radius = radius;
  spec.weights.assign(static_cast<std::size_t>(radius) + 1, static_cast<float>(1.0 / (2.0 * radius + 1.0)));
  return spec;
}

FilterSpec make_sobel() {
  FilterSpec spec;
  spec.kind = FilterKind::sobel;
  spec.radius = 1;
  return spec;
}

double flops_per_pixel(const FilterSpec& spec) {
  if (spec.kind == FilterKind::sobel) return 18;  // 10 adds/subs, 2 doublings, 2 squares, 1 add, 1 sqrt (+2)
  return 2.0 * (1 + 3.0 * spec.radius);           // per pass: 1 + r multiplies, 2r adds; two passes
}

void Block::Free::operator()(float* p) const { std::free(p); }

Block::Block(int width, int height, int halo, int channels)
    : width_(width), height_(height), halo_(halo), channels_(channels) {
  if (width < 1 || height < 1 || halo < 0 || channels < 1) throw std::invalid_argument("Block: bad geometry");
  // Rows padded to whole 64-byte lines keep the vector loads of neighbouring rows apart.
  stride_ = (static_cast<std::size_t>(width) + 2 * halo + 15) / 16 * 16;
  plane_ = stride_ * (static_cast<std::size_t>(height) + 2 * halo);
  const std::size_t bytes = (plane_ * channels * sizeof(float) + 63) / 64 * 64;
  auto* memory = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (memory == nullptr) throw std::bad_alloc();
  data_.reset(memory);
}

void clamp_columns(Block& block, bool left, bool right, int y_begin, int y_end) {
  const int r = block.halo(), w = block.width();
  if (r == 0) return;
  for (int c = 0; c < block.channels(); ++c) {
    for (int y = y_begin; y < y_end; ++y) {
      float* row = block.row(c, y);
      if (left) std::fill(row - r, row, row[0]);
      if (right) std::fill(row + w, row + w + r, row[w - 1]);
    }
  }
}

void clamp_rows(Block& block, bool top, bool bottom) {
  const int r = block.halo(), h = block.height(), w = block.width();
  if (r == 0) return;
  const std::size_t padded = static_cast<std::size_t>(w) + 2 * r;
  for (int c = 0; c < block.channels(); ++c) {
    for (int k = 1; k <= r; ++k) {
      if (top) std::memcpy(block.row(c, -k) - r, block.row(c, 0) - r, padded * sizeof(float));
      if (bottom) std::memcpy(block.row(c, h - 1 + k) - r, block.row(c, h - 1) - r, padded * sizeof(float));
    }
  }
}

void filter_region(const FilterSpec& spec, const Block& src, Block& dst, int x_begin, int x_end, int y_begin,
                   int y_end, Scratch& scratch, const std::function<void()>& progress) {
  if (x_begin >= x_end || y_begin >= y_end) return;
  const int r = spec.radius;
  const FilterPasses& passes = current_passes();
  if (spec.kind == FilterKind::sobel) {
    for (int c = 0; c < src.channels(); ++c)
      for (int y = y_begin; y < y_end; ++y) {
        passes.sobel_row(src.row(c, y - 1) + x_begin, src.row(c, y) + x_begin, src.row(c, y + 1) + x_begin,
                  dst.row(c, y) + x_begin, x_end - x_begin);
        if (progress && (y - y_begin) % 64 == 63) progress();
      }
    return;
  }
  // Ring of ring_slots(r) horizontally filtered rows (a multiple of 4, at least 2r+4): row y
  // lives in slot (y - first) mod slots. Output rows are computed 4 at a time as soon as their
  // last input row is in, so every step starts at a slot that is a multiple of 4.
  // Ring rows start at the output rows' offset within a 64-byte line: the vertical step's loads
  // and stores line up, and its streaming stores (outputs larger than a last-level cache, where
  // reading each line for ownership before writing it costs bandwidth) need that alignment.
  const int slots = ring_slots(r);
  scratch.ring.resize(ring_floats(r) + 32);
  const int lead = line_offset(dst.row(0, y_begin) + x_begin);
  float* const ring = scratch.ring.data() + (16 - line_offset(scratch.ring.data())) % 16 + lead;
  const bool stream = 4.0 * (x_end - x_begin) * (y_end - y_begin) * src.channels() >= g_streaming_bytes;
  const float* w = spec.weights.data();
  const HorizontalPass horizontal = passes.horizontal(r);
  const VerticalRow vertical = passes.vertical_row(r);
  const VerticalStep* const steps = passes.steps(r);
  const int first = y_begin - r;
  const auto slot_row = [&](int y) { return ring + static_cast<std::ptrdiff_t>((y - first) % slots) * kSlotStride; };
  std::vector<const float*> rows(static_cast<std::size_t>(2 * r + 1));
  float* out[kRowsPerStep];
  for (int c = 0; c < src.channels(); ++c) {
    for (int xs = x_begin; xs < x_end; xs += kStripWidth) {
      const int n = std::min(x_end, xs + kStripWidth) - xs;
      const auto one_row = [&](int out_y) {
        for (int k = 0; k <= 2 * r; ++k) rows[static_cast<std::size_t>(k)] = slot_row(out_y - r + k);
        vertical(rows.data(), dst.row(c, out_y) + xs, n, w, r);
      };
      int next_out = y_begin;  // first output row not yet computed
      for (int y = first; y < y_end + r; ++y) {
        horizontal(src.row(c, y) + xs, slot_row(y), n, w, r);
        const int ready = y - r + 1;  // output rows [next_out, ready) have all their input rows
        if (steps != nullptr && ready - next_out == kRowsPerStep) {
          for (int m = 0; m < kRowsPerStep; ++m) out[m] = dst.row(c, next_out + m) + xs;
          steps[(next_out - r - first) % slots / kRowsPerStep](ring, out, n, w, stream);
          next_out += kRowsPerStep;
        } else if (steps == nullptr && ready > next_out) {
          one_row(next_out++);
        } else {
          continue;
        }
        if (progress && (next_out - y_begin) % 64 == 0) progress();
      }
      // The last (y_end - y_begin) mod 4 rows: their 2r+3 input rows are still in the ring.
      for (; next_out < y_end; ++next_out) one_row(next_out);
    }
  }
  if (stream) hwy::FlushStream();  // streamed lines visible before the caller's barrier publishes them
}

void filter_image(const FilterSpec& spec, Block& src, Block& dst) {
  clamp_columns(src, true, true, 0, src.height());
  clamp_rows(src, true, true);
#pragma omp parallel
  {
    Scratch scratch;
    const Range band = block_range(src.height(), omp_get_num_threads(), omp_get_thread_num());
    filter_region(spec, src, dst, 0, src.width(), static_cast<int>(band.begin), static_cast<int>(band.end), scratch);
  }
}

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

float synthetic_value(std::int64_t x, std::int64_t y, int c, std::uint64_t seed) {
  const std::int64_t ramp = (x + 2 * y + 85 * c) & 255;
  const std::int64_t checker = (((x >> 6) ^ (y >> 6)) & 1) ? 48 : 0;
  const std::uint64_t noise =
      mix64(seed ^ mix64(static_cast<std::uint64_t>(x) * 0x100000001B3ull ^ (static_cast<std::uint64_t>(y) << 20) ^
                         static_cast<std::uint64_t>(c) << 58)) & 15;
  return static_cast<float>(ramp * 3 / 4 + checker + static_cast<std::int64_t>(noise));
}

namespace {
inline void add_pixel(Checksum& sum, float v, std::int64_t x, std::int64_t y, int c, std::int64_t width,
                      std::int64_t height) {
  const double scaled = static_cast<double>(v) * 65536.0;
  const double limited = std::isnan(scaled) ? 0.0 : std::clamp(scaled, -0x1p62, 0x1p62);
  const auto fixed = static_cast<std::uint64_t>(std::llround(limited));
  sum.fixed += fixed * static_cast<std::uint64_t>(1 + (x + 2 * y + 3 * c) % 17);
  const std::uint64_t index = static_cast<std::uint64_t>((c * height + y) * width + x);
  sum.hash += static_cast<std::uint64_t>(std::bit_cast<std::uint32_t>(v)) * mix64(index);
}
}  // namespace

Checksum block_checksum(const Block& block, std::int64_t x0, std::int64_t y0, std::int64_t width,
                        std::int64_t height) {
  Checksum total;
  for (int c = 0; c < block.channels(); ++c)
    for (int y = 0; y < block.height(); ++y) {
      const float* row = block.row(c, y);
      for (int x = 0; x < block.width(); ++x) add_pixel(total, row[x], x0 + x, y0 + y, c, width, height);
    }
  return total;
}

Checksum plane_checksum(const std::vector<float>& image, std::int64_t width, std::int64_t height, int channels) {
  Checksum total;
  for (int c = 0; c < channels; ++c)
    for (std::int64_t y = 0; y < height; ++y)
      for (std::int64_t x = 0; x < width; ++x)
        add_pixel(total, image[static_cast<std::size_t>((c * height + y) * width + x)], x, y, c, width, height);
  return total;
}

}  // namespace hk::filter
#endif  // HWY_ONCE
