// BLIS-style packed product (see gemm.hpp). Loop nest, outermost first:
//   jc: columns of B and C in blocks of nc   (B block shared by the threads, lives in L3)
//   pc: the k dimension in blocks of kKc     (fixed cuts: the per-element sum order never changes)
//       pack B[pc.., jc..] into kKc x kNr panels (threads split the panels)
//   ic: rows of A and C in blocks of mc      (split across the OpenMP threads)
//       pack A[ic.., pc..] into kMr x kKc panels (private to the thread, lives in its L2)
//       jr, ir: the 6x8 register kernel over the packed panels (B panel in L1)
#include "gemm.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define HK_MATMUL_HAVE_AVX2 1
#else
#define HK_MATMUL_HAVE_AVX2 0
#endif
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>

namespace hk::matmul {

namespace {

void check_shapes(const ConstView& a, const ConstView& b, const View& c) {
  if (a.cols() != b.rows() || c.rows() != a.rows() || c.cols() != b.cols())
    throw std::invalid_argument("matmul: C += A*B needs A m x k, B k x n, C m x n");
}

#if HK_MATMUL_HAVE_AVX2
constexpr std::int64_t kMr = 6;     // rows of the register block (broadcasts of packed A)
constexpr std::int64_t kNr = 8;     // columns of the register block (two 4-double vectors of B)
constexpr std::int64_t kKc = 256;   // k block: a kKc x kNr B panel (16 KiB) stays in L1
constexpr std::int64_t kMc = 120;   // m block: a kMc x kKc A block (240 KiB) stays in L2
constexpr std::int64_t kNc = 4080;  // n block: a kKc x kNc B block (8 MiB) stays in L3

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

std::int64_t round_up(std::int64_t value, std::int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

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

// Panel `j` (columns j*kNr ..) of B[0..kc, 0..nc] into [p][0..kNr]; columns past nc are zero.
void pack_b_panel(const double* b, std::int64_t ldb, std::int64_t kc, std::int64_t nc, std::int64_t panel,
                  double* packed) {
  const std::int64_t col = panel * kNr;
  const std::int64_t cols = std::min(kNr, nc - col);
  double* out = packed + panel * kNr * kc;
  if (cols == kNr) {
    for (std::int64_t p = 0; p < kc; ++p) {
      const double* src = b + p * ldb + col;
      _mm256_store_pd(out + p * kNr, _mm256_loadu_pd(src));
      _mm256_store_pd(out + p * kNr + 4, _mm256_loadu_pd(src + 4));
    }
  } else {
    for (std::int64_t p = 0; p < kc; ++p)
      for (std::int64_t j = 0; j < kNr; ++j) out[p * kNr + j] = j < cols ? b[p * ldb + col + j] : 0.0;
  }
}

// Panels [first, last) of B[0..kc, 0..nc], walking B row by row so each row is read contiguously.
void pack_b_panels(const double* b, std::int64_t ldb, std::int64_t kc, std::int64_t nc, std::int64_t first,
                   std::int64_t last, double* packed) {
  const std::int64_t full_end = std::min(last, nc / kNr);  // panels with all kNr columns
  for (std::int64_t p = 0; p < kc; ++p) {
    const double* row = b + p * ldb;
    for (std::int64_t panel = first; panel < full_end; ++panel) {
      double* out = packed + panel * kNr * kc + p * kNr;
      _mm256_store_pd(out, _mm256_loadu_pd(row + panel * kNr));
      _mm256_store_pd(out + 4, _mm256_loadu_pd(row + panel * kNr + 4));
    }
  }
  for (std::int64_t panel = std::max(first, full_end); panel < last; ++panel) pack_b_panel(b, ldb, kc, nc, panel, packed);
}

// acc = sum over p of a[p][i] * b[p][j] (FMA, p ascending, from zero); then C(i, j) += acc(i, j)
// for the rows/cols that exist. Edge blocks run the same arithmetic into a scratch tile.
inline void micro_kernel(std::int64_t kc, const double* __restrict a, const double* __restrict b, double* c,
                         std::int64_t ldc, std::int64_t rows, std::int64_t cols) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
  __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
  __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
  __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
  __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
  __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (std::int64_t i = 0; i < std::min(rows, kMr); ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_load_pd(b + p * kNr);
    const __m256d b1 = _mm256_load_pd(b + p * kNr + 4);
    const double* ap = a + p * kMr;
    __m256d x = _mm256_broadcast_sd(ap + 0);
    c00 = _mm256_fmadd_pd(x, b0, c00);
    c01 = _mm256_fmadd_pd(x, b1, c01);
    x = _mm256_broadcast_sd(ap + 1);
    c10 = _mm256_fmadd_pd(x, b0, c10);
    c11 = _mm256_fmadd_pd(x, b1, c11);
    x = _mm256_broadcast_sd(ap + 2);
    c20 = _mm256_fmadd_pd(x, b0, c20);
    c21 = _mm256_fmadd_pd(x, b1, c21);
    x = _mm256_broadcast_sd(ap + 3);
    c30 = _mm256_fmadd_pd(x, b0, c30);
    c31 = _mm256_fmadd_pd(x, b1, c31);
    x = _mm256_broadcast_sd(ap + 4);
    c40 = _mm256_fmadd_pd(x, b0, c40);
    c41 = _mm256_fmadd_pd(x, b1, c41);
    x = _mm256_broadcast_sd(ap + 5);
    c50 = _mm256_fmadd_pd(x, b0, c50);
    c51 = _mm256_fmadd_pd(x, b1, c51);
  }
  const __m256d acc[kMr][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == kMr && cols == kNr) {
    for (std::int64_t i = 0; i < kMr; ++i) {
      double* row = c + i * ldc;
      _mm256_storeu_pd(row, _mm256_add_pd(_mm256_loadu_pd(row), acc[i][0]));
      _mm256_storeu_pd(row + 4, _mm256_add_pd(_mm256_loadu_pd(row + 4), acc[i][1]));
    }
    return;
  }
  alignas(32) double tile[kMr][kNr];
  for (std::int64_t i = 0; i < kMr; ++i) {
    _mm256_store_pd(&tile[i][0], acc[i][0]);
    _mm256_store_pd(&tile[i][4], acc[i][1]);
  }
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) c[i * ldc + j] += tile[i][j];
}

void packed_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, const double* b,
                 std::int64_t ldb, double* c, std::int64_t ldc, int threads) {
  if (m == 0 || n == 0 || k == 0) return;
  // Even n blocks of at most kNc columns. Rows: each thread gets an equal share of the kMr-row
  // panels (a static split, so no thread waits at the barriers for a longer share), then walks
  // it in blocks of at most kMc rows.
  const std::int64_t n_blocks = (n + kNc - 1) / kNc;
  const std::int64_t nc_max = round_up((n + n_blocks - 1) / n_blocks, kNr);
  const std::int64_t row_panels = (m + kMr - 1) / kMr;
  const std::int64_t kc_max = std::min(k, kKc);
  Buffer packed_b = aligned_buffer(kc_max * nc_max);
  double* bp = packed_b.get();

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    Buffer packed_a = aligned_buffer(kc_max * kMc);
    double* ap = packed_a.get();
    const int thread = omp_get_thread_num(), team = omp_get_num_threads();
    const std::int64_t share_begin = std::min(m, row_panels * thread / team * kMr);
    const std::int64_t share_end = std::min(m, row_panels * (thread + 1) / team * kMr);
    const std::int64_t share_blocks = std::max<std::int64_t>(1, (share_end - share_begin + kMc - 1) / kMc);
    const std::int64_t mc_even = round_up((share_end - share_begin + share_blocks - 1) / share_blocks, kMr);
    for (std::int64_t jc = 0; jc < n; jc += nc_max) {
      const std::int64_t nc = std::min(nc_max, n - jc);
      const std::int64_t panels = (nc + kNr - 1) / kNr;
      for (std::int64_t pc = 0; pc < k; pc += kKc) {
        const std::int64_t kc = std::min(kKc, k - pc);
        {
          // This thread's share of B's panels, row by row of B (long contiguous reads).
          const std::int64_t first = panels * thread / team, last = panels * (thread + 1) / team;
          pack_b_panels(b + pc * ldb + jc, ldb, kc, nc, first, last, bp);
        }
#pragma omp barrier
        // implicit barrier: B block packed before anyone uses it
        for (std::int64_t ic = share_begin; ic < share_end; ic += mc_even) {
          const std::int64_t mc = std::min(mc_even, share_end - ic);
          pack_a(a + ic * lda + pc, lda, mc, kc, ap);
          for (std::int64_t jr = 0; jr < nc; jr += kNr) {
            const double* bpanel = bp + (jr / kNr) * kNr * kc;
            for (std::int64_t ir = 0; ir < mc; ir += kMr) {
              micro_kernel(kc, ap + ir * kc, bpanel, c + (ic + ir) * ldc + jc + jr, ldc, std::min(kMr, mc - ir),
                           std::min(kNr, nc - jr));
            }
          }
        }
#pragma omp barrier
        // nobody repacks B while another thread still reads it
      }
    }
  }
}
#endif

}  // namespace

void packed_multiply_add(ConstView a, ConstView b, View c, int threads) {
  check_shapes(a, b, c);
#if HK_MATMUL_HAVE_AVX2
  if (threads <= 0) threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  packed_gemm(a.rows(), b.cols(), a.cols(), a.data(), a.outerStride(), b.data(), b.outerStride(), c.data(),
              c.outerStride(), threads);
#else
  (void)threads;
  eigen_multiply_add(a, b, c);
#endif
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

const char* gemm_backend() {
#if defined(HK_MATMUL_GEMM_EIGEN) || !HK_MATMUL_HAVE_AVX2
  return "eigen";
#else
  return "packed-avx2-fma-6x8";
#endif
}

bool packed_is_native() { return HK_MATMUL_HAVE_AVX2 != 0; }

}  // namespace hk::matmul
