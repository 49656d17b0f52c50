// BLIS-style packed product (see gemm.hpp), one copy per SIMD path (Highway's foreach_target
// compiles the code between HWY_BEFORE_NAMESPACE and HWY_AFTER_NAMESPACE once per target; the
// run-time choice is HWY_DYNAMIC_DISPATCH). Loop nest, outermost first:
//   jc: columns of B and C in blocks of nc   (B block shared by the threads, lives in L3)
//   pc: the k dimension in blocks of kc      (fixed cuts: the per-element sum order never changes)
//       pack B[pc.., jc..] into kc x nr panels (threads split the panels)
//   ic: rows of A and C in blocks of mc      (split across the OpenMP threads)
//       pack A[ic.., pc..] into mr x kc panels (private to the thread, lives in its L2)
//       jr, ir: the mr x nr register kernel over the packed panels
// Register blocks: AVX-512 8 x 24 (24 accumulators of 8 doubles), AVX2+FMA 6 x 8 (12 of 4),
// generic (SSSE3, no FMA) 4 x 6 (12 of 2).
#ifndef HK_MATMUL_GEMM_SHARED
#define HK_MATMUL_GEMM_SHARED
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <fmt/format.h>
#include <stdexcept>

#include "gemm.hpp"
#include "hk/simd.hpp"

namespace hk::matmul {
namespace {

struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<double, FreeDeleter>;

Buffer aligned_buffer(std::int64_t doubles) {
  const std::size_t bytes = ((static_cast<std::size_t>(doubles) * sizeof(double) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, std::max<std::size_t>(bytes, 64));
  if (p == nullptr) throw std::bad_alloc();
  return Buffer(static_cast<double*>(p));
}

// Grow-only scratch space, one per thread and purpose (0: packed B, 1: packed A). The product
// runs once per SUMMA panel; fresh buffers of these sizes are mmapped and page-faulted on every
// call (measured: n = 192 ran at 1.4 GFLOP/s with them, 90 with reuse).
double* scratch(int purpose, std::int64_t doubles) {
  thread_local Buffer buffers[2];
  thread_local std::int64_t capacity[2] = {0, 0};
  if (capacity[purpose] < doubles) {
    buffers[purpose].reset();
    buffers[purpose] = aligned_buffer(doubles);
    capacity[purpose] = doubles;
  }
  return buffers[purpose].get();
}

inline std::int64_t round_up(std::int64_t value, std::int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// The cache blocking of one path and its per-thread entry point.
struct Blocking {
  std::int64_t mr, nr, kc, mc, nc;
};
struct Problem {
  std::int64_t m, n, k;
  const double* a;
  std::int64_t lda;
  const double* b;
  std::int64_t ldb;
  double* c;
  std::int64_t ldc;
  double* packed_b;  // kc x nc_max, shared by the team
  std::int64_t nc_max;
};
struct GemmPath {
  Blocking blocking;
  const char* shape;  // register block, rows x columns: "8x24"
  std::int64_t target;  // the Highway target compiled into this copy
  // One thread's share of the product; every thread of the team calls it (it has barriers).
  void (*thread_share)(const Problem&, int thread, int team);
};

}  // namespace
}  // namespace hk::matmul
#endif  // HK_MATMUL_GEMM_SHARED

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gemm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace hk::matmul {
namespace HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<double>;
using V = hn::Vec<D>;
constexpr std::int64_t kLanes = static_cast<std::int64_t>(hn::MaxLanes(D()));

// Rows (broadcasts of packed A) and vectors of columns (loads of packed B) of the register
// block, and the cache blocks: an mc x kc block of A lives in L2, a kc x nc block of B in L3.
// The kc x nr panel of B the inner loop reuses stays in L1 on AVX2 (16 KiB); on AVX-512 it
// streams from L2 (96 KiB): kc = 512 reads and writes C half as often as 256, and measured
// fastest (Zen 5, n = 2048, 1 thread, mc = 192, GFLOP/s of CPU time under load: kc 128: 66,
// 192: 69, 256: 72, 384: 73, 512: 76; OpenBLAS 72-75 in the same runs).
#if HWY_TARGET <= HWY_AVX3
constexpr std::int64_t kMr = 8, kVectors = 3, kKc = 512, kMc = 192, kNc = 4032;
#define HK_GEMM_SHAPE "8x24"
#elif HWY_TARGET == HWY_AVX2
constexpr std::int64_t kMr = 6, kVectors = 2, kKc = 256, kMc = 120, kNc = 4080;
#define HK_GEMM_SHAPE "6x8"
#else
constexpr std::int64_t kMr = 4, kVectors = 3, kKc = 256, kMc = 96, kNc = 4080;
#define HK_GEMM_SHAPE "4x6"
#endif
constexpr std::int64_t kNr = kVectors * kLanes;

// A[0..mc, 0..kc] (row-major, leading dimension lda) into panels of kMr rows: panel r holds
// a(r*kMr + i, p) at [r][p][i]; rows past mc are zero.
void pack_a(const double* a, std::int64_t lda, std::int64_t mc, std::int64_t kc, double* packed) {
  for (std::int64_t r = 0; r < mc; r += kMr) {
    const std::int64_t rows = std::min(kMr, mc - r);
    double* out = packed + r * kc;
    if (rows == kMr) {
      const double* row[kMr];
      for (std::int64_t i = 0; i < kMr; ++i) row[i] = a + (r + i) * lda;
      for (std::int64_t p = 0; p < kc; ++p)
        for (std::int64_t i = 0; i < kMr; ++i) out[p * kMr + i] = row[i][p];
    } else {
      for (std::int64_t p = 0; p < kc; ++p)
        for (std::int64_t i = 0; i < kMr; ++i) out[p * kMr + i] = i < rows ? a[(r + i) * lda + p] : 0.0;
    }
  }
}

// Panels [first, last) of B[0..kc, 0..nc] into [panel][p][0..kNr], walking B row by row so each
// row is read contiguously; columns past nc are zero.
void pack_b_panels(const double* b, std::int64_t ldb, std::int64_t kc, std::int64_t nc, std::int64_t first,
                   std::int64_t last, double* packed) {
  const D d;
  const std::int64_t full_end = std::min(last, nc / kNr);  // panels with all kNr columns
  for (std::int64_t p = 0; p < kc; ++p) {
    const double* row = b + p * ldb;
    for (std::int64_t panel = first; panel < full_end; ++panel) {
      double* out = packed + panel * kNr * kc + p * kNr;
      for (std::int64_t v = 0; v < kVectors; ++v)
        hn::Store(hn::LoadU(d, row + panel * kNr + v * kLanes), d, out + v * kLanes);
    }
  }
  for (std::int64_t panel = std::max(first, full_end); panel < last; ++panel) {
    const std::int64_t col = panel * kNr;
    const std::int64_t cols = std::min(kNr, nc - col);
    double* out = packed + panel * kNr * kc;
    for (std::int64_t p = 0; p < kc; ++p)
      for (std::int64_t j = 0; j < kNr; ++j) out[p * kNr + j] = j < cols ? b[p * ldb + col + j] : 0.0;
  }
}

// acc = sum over p of a[p][i] * b[p][j] (multiply-add, p ascending, from zero); then
// C(i, j) += acc(i, j) for the rows/cols that exist. Edge blocks run the same arithmetic into a
// scratch tile.
HWY_INLINE void micro_kernel(std::int64_t kc, const double* HWY_RESTRICT a, const double* HWY_RESTRICT b, double* c,
                             std::int64_t ldc, std::int64_t rows, std::int64_t cols) {
  const D d;
  V acc[kMr][kVectors];
  for (std::int64_t i = 0; i < kMr; ++i)
    for (std::int64_t v = 0; v < kVectors; ++v) acc[i][v] = hn::Zero(d);
  for (std::int64_t i = 0; i < std::min(rows, kMr); ++i)
    for (std::int64_t j = 0; j < kNr; j += 8) hwy::Prefetch(c + i * ldc + j);
#pragma GCC unroll 2
  for (std::int64_t p = 0; p < kc; ++p) {
    V bv[kVectors];
    for (std::int64_t v = 0; v < kVectors; ++v) bv[v] = hn::Load(d, b + p * kNr + v * kLanes);
    const double* ap = a + p * kMr;
    for (std::int64_t i = 0; i < kMr; ++i) {
      const V x = hn::Set(d, ap[i]);
      for (std::int64_t v = 0; v < kVectors; ++v) acc[i][v] = hn::MulAdd(x, bv[v], acc[i][v]);
    }
  }
  if (rows == kMr && cols == kNr) {
    for (std::int64_t i = 0; i < kMr; ++i) {
      double* row = c + i * ldc;
      for (std::int64_t v = 0; v < kVectors; ++v)
        hn::StoreU(hn::Add(hn::LoadU(d, row + v * kLanes), acc[i][v]), d, row + v * kLanes);
    }
    return;
  }
  HWY_ALIGN double tile[kMr][kNr];
  for (std::int64_t i = 0; i < kMr; ++i)
    for (std::int64_t v = 0; v < kVectors; ++v) hn::Store(acc[i][v], d, &tile[i][v * kLanes]);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) c[i * ldc + j] += tile[i][j];
}

// One thread's rows of C: an equal share of the kMr-row panels (a static split, so no thread
// waits at the barriers for a longer share), walked in blocks of at most kMc rows. Every thread
// packs its share of each B block; barriers keep the block whole while anyone reads it.
void thread_share(const Problem& pr, int thread, int team) {
  double* ap = scratch(1, std::min(pr.k, kKc) * kMc);
  const std::int64_t row_panels = (pr.m + kMr - 1) / kMr;
  const std::int64_t share_begin = std::min(pr.m, row_panels * thread / team * kMr);
  const std::int64_t share_end = std::min(pr.m, row_panels * (thread + 1) / team * kMr);
  const std::int64_t share_blocks = std::max<std::int64_t>(1, (share_end - share_begin + kMc - 1) / kMc);
  const std::int64_t mc_even = round_up((share_end - share_begin + share_blocks - 1) / share_blocks, kMr);
  for (std::int64_t jc = 0; jc < pr.n; jc += pr.nc_max) {
    const std::int64_t nc = std::min(pr.nc_max, pr.n - jc);
    const std::int64_t panels = (nc + kNr - 1) / kNr;
    for (std::int64_t pc = 0; pc < pr.k; pc += kKc) {
      const std::int64_t kc = std::min(kKc, pr.k - pc);
      pack_b_panels(pr.b + pc * pr.ldb + jc, pr.ldb, kc, nc, panels * thread / team, panels * (thread + 1) / team,
                    pr.packed_b);
      if (team > 1) {
#pragma omp barrier
      }
      for (std::int64_t ic = share_begin; ic < share_end; ic += mc_even) {
        const std::int64_t mc = std::min(mc_even, share_end - ic);
        pack_a(pr.a + ic * pr.lda + pc, pr.lda, mc, kc, ap);
        for (std::int64_t jr = 0; jr < nc; jr += kNr) {
          const double* bpanel = pr.packed_b + (jr / kNr) * kNr * kc;
          for (std::int64_t ir = 0; ir < mc; ir += kMr) {
            micro_kernel(kc, ap + ir * kc, bpanel, pr.c + (ic + ir) * pr.ldc + jc + jr, pr.ldc,
                         std::min(kMr, mc - ir), std::min(kNr, nc - jr));
          }
        }
      }
      if (team > 1) {
#pragma omp barrier
      }
    }
  }
}

const GemmPath* path() {
  static const GemmPath chosen = {{kMr, kNr, kKc, kMc, kNc},
                                  HK_GEMM_SHAPE,
                                  HWY_TARGET,
                                  &thread_share};
  return &chosen;
}
#undef HK_GEMM_SHAPE

}  // namespace
// Exported (HWY_EXPORT takes the address of this name in every target's namespace).
const GemmPath* GemmPathOfTarget() { return path(); }
}  // namespace HWY_NAMESPACE
}  // namespace hk::matmul
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hk::matmul {
HWY_EXPORT(GemmPathOfTarget);

namespace {

void check_shapes(const ConstView& a, const ConstView& b, const View& c) {
  if (a.cols() != b.rows() || c.rows() != a.rows() || c.cols() != b.cols())
    throw std::invalid_argument("matmul: C += A*B needs A m x k, B k x n, C m x n");
}

const GemmPath& current_path() { return *HWY_DYNAMIC_DISPATCH(GemmPathOfTarget)(); }

void packed_gemm(const GemmPath& path, Problem problem, int threads) {
  if (problem.m == 0 || problem.n == 0 || problem.k == 0) return;
  // Even n blocks of at most nc columns.
  const Blocking& blocking = path.blocking;
  const std::int64_t n_blocks = (problem.n + blocking.nc - 1) / blocking.nc;
  problem.nc_max = round_up((problem.n + n_blocks - 1) / n_blocks, blocking.nr);
  problem.packed_b = scratch(0, std::min(problem.k, blocking.kc) * problem.nc_max);
  if (threads <= 1) {
    path.thread_share(problem, 0, 1);
    return;
  }
#pragma omp parallel num_threads(threads)
  path.thread_share(problem, omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace

void packed_multiply_add(ConstView a, ConstView b, View c, int threads) {
  check_shapes(a, b, c);
  if (threads <= 0) threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  Problem problem{a.rows(), b.cols(), a.cols(), a.data(), a.outerStride(), b.data(), b.outerStride(), c.data(),
                  c.outerStride(), nullptr, 0};
  packed_gemm(current_path(), problem, threads);
}

void eigen_multiply_add(ConstView a, ConstView b, View c) {
  check_shapes(a, b, c);
  c.noalias() += a * b;
}

void reference_multiply_add(ConstView a, ConstView b, View c) {
  check_shapes(a, b, c);
  constexpr std::int64_t kBlock = 64;
  const std::int64_t m = a.rows(), n = b.cols(), k = a.cols();
  for (std::int64_t i0 = 0; i0 < m; i0 += kBlock)
    for (std::int64_t p0 = 0; p0 < k; p0 += kBlock)
      for (std::int64_t j0 = 0; j0 < n; j0 += kBlock)
        for (std::int64_t i = i0; i < std::min(m, i0 + kBlock); ++i)
          for (std::int64_t p = p0; p < std::min(k, p0 + kBlock); ++p) {
            const double aip = a(i, p);
            for (std::int64_t j = j0; j < std::min(n, j0 + kBlock); ++j) c(i, j) += aip * b(p, j);
          }
}

void multiply_add(ConstView a, ConstView b, View c) {
#if defined(HK_MATMUL_GEMM_EIGEN)
  eigen_multiply_add(a, b, c);
#else
  packed_multiply_add(a, b, c);
#endif
}

std::int64_t packing_doubles(std::int64_t n, int threads) {
  const Blocking& blocking = current_path().blocking;
  const std::int64_t kc = std::min(n, blocking.kc);
  return kc * round_up(std::min(n, blocking.nc), blocking.nr) + threads * kc * blocking.mc;
}

std::string gemm_backend() {
#if defined(HK_MATMUL_GEMM_EIGEN)
  return "eigen";
#else
  const GemmPath& path = current_path();
  return fmt::format("packed-{}-{}", simd::path_name(simd::path_of_target(path.target)), path.shape);
#endif
}

const char* gemm_isa() {
#if defined(HK_MATMUL_GEMM_EIGEN)
  return simd::path_name(simd::build_baseline_path());
#else
  return simd::path_name(simd::path_of_target(current_path().target));
#endif
}

}  // namespace hk::matmul
#endif  // HWY_ONCE
