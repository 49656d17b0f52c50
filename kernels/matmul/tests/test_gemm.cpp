// The local product against the serial oracle, and the matmul kernel's helpers.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "each_simd_path.hpp"
#include "gemm.hpp"
#include "hk/errors.hpp"
#include "matmul.hpp"

namespace hk::matmul {
namespace {

RowMatrix generated(std::int64_t rows, std::int64_t cols, Stream stream) {
  RowMatrix m(rows, cols);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) m(i, j) = element(7, stream, i, j);
  return m;
}

// |C - C_ref| <= 2 k eps (|A||B|) element by element (rounding of two k-term sums).
void expect_close(const RowMatrix& c, const RowMatrix& reference, const RowMatrix& a, const RowMatrix& b) {
  RowMatrix bound = RowMatrix::Zero(c.rows(), c.cols());
  const RowMatrix abs_a = a.cwiseAbs(), abs_b = b.cwiseAbs();
  reference_multiply_add(abs_a, abs_b, bound);
  const double scale = 2.0 * static_cast<double>(a.cols() + 1) * std::numeric_limits<double>::epsilon();
  for (std::int64_t i = 0; i < c.rows(); ++i)
    for (std::int64_t j = 0; j < c.cols(); ++j)
      ASSERT_LE(std::fabs(c(i, j) - reference(i, j)), scale * bound(i, j) + 1e-300) << "at (" << i << ", " << j << ")";
}

class GemmShapes : public ::testing::TestWithParam<std::tuple<int, int, int, int>> {};

// Shapes that hit every edge of every path's blocking: below, at and above the register blocks
// (4x6, 6x8, 8x24), the k blocks (256, 512) and the m blocks (96, 120, 192); 1 and 2 threads;
// packed on every SIMD path.
TEST_P(GemmShapes, PackedOnEveryPathAndEigenMatchTheSerialReference) {
  const auto [m, n, k, threads] = GetParam();
  const RowMatrix a = generated(m, k, Stream::a), b = generated(k, n, Stream::b);
  const RowMatrix start = generated(m, n, Stream::x);  // C += A B onto a nonzero C
  RowMatrix reference = start, eigen = start;
  reference_multiply_add(a, b, reference);
  for_each_simd_path([&](hk::simd::Path path) {
    ASSERT_STREQ(gemm_isa(), hk::simd::path_name(path));
    RowMatrix packed = start;
    packed_multiply_add(a, b, packed, threads);
    expect_close(packed, reference, a, b);
  });
  eigen_multiply_add(a, b, eigen);
  expect_close(eigen, reference, a, b);
}

INSTANTIATE_TEST_SUITE_P(Edges, GemmShapes,
                         ::testing::Values(std::make_tuple(1, 1, 1, 1), std::make_tuple(5, 7, 3, 1),
                                           std::make_tuple(6, 8, 256, 1), std::make_tuple(7, 9, 257, 2),
                                           std::make_tuple(8, 24, 512, 1), std::make_tuple(9, 25, 513, 2),
                                           std::make_tuple(73, 31, 300, 2), std::make_tuple(150, 97, 513, 2),
                                           std::make_tuple(193, 49, 40, 2), std::make_tuple(13, 200, 64, 2),
                                           std::make_tuple(97, 97, 97, 1)));

TEST(Gemm, WorksOnStridedSubBlocksWithoutTouchingTheRest) {
  const RowMatrix a = generated(40, 50, Stream::a), b = generated(60, 70, Stream::b);
  RowMatrix c = RowMatrix::Constant(45, 55, 3.0), reference = c;
  packed_multiply_add(a.block(3, 5, 30, 20), b.block(7, 11, 20, 33), c.block(2, 4, 30, 33), 2);
  reference_multiply_add(a.block(3, 5, 30, 20), b.block(7, 11, 20, 33), reference.block(2, 4, 30, 33));
  for (std::int64_t i = 0; i < c.rows(); ++i)
    for (std::int64_t j = 0; j < c.cols(); ++j) {
      const bool inside = i >= 2 && i < 32 && j >= 4 && j < 37;
      if (!inside) ASSERT_EQ(c(i, j), 3.0) << "(" << i << ", " << j << ") outside C was written";
      else ASSERT_NEAR(c(i, j), reference(i, j), 1e-12);
    }
}

// Rows of C computed apart (as the ranks of rowblock do) give the same bits as computed together,
// with any thread count: the k sum order depends only on k (and the path). k = 600 crosses the
// k blocks of every path.
TEST(Gemm, PackedIsBitwiseIndependentOfRowSplitAndThreadsOnEveryPath) {
  const std::int64_t n = 203, k = 600;
  const RowMatrix a = generated(n, k, Stream::a), b = generated(k, n, Stream::b);
  for_each_simd_path([&](hk::simd::Path) {
    RowMatrix whole = RowMatrix::Zero(n, n), split = RowMatrix::Zero(n, n);
    packed_multiply_add(a, b, whole, 1);
    packed_multiply_add(a.topRows(77), b, split.topRows(77), 2);
    packed_multiply_add(a.bottomRows(n - 77), b.leftCols(100), split.bottomRows(n - 77).leftCols(100), 2);
    packed_multiply_add(a.bottomRows(n - 77), b.rightCols(n - 100), split.bottomRows(n - 77).rightCols(n - 100), 1);
    EXPECT_TRUE((whole.array() == split.array()).all());
  });
}

TEST(Gemm, ShapeMismatchIsRefused) {
  RowMatrix a(3, 4), b(5, 6), c(3, 6);
  EXPECT_THROW(packed_multiply_add(a, b, c), std::invalid_argument);
  EXPECT_THROW(multiply_add(a, b, c), std::invalid_argument);
}

TEST(Elements, DependOnlyOnSeedStreamAndIndexAndStayInRange) {
  EXPECT_EQ(element(1, Stream::a, 3, 4), element(1, Stream::a, 3, 4));
  EXPECT_NE(element(1, Stream::a, 3, 4), element(2, Stream::a, 3, 4));
  EXPECT_NE(element(1, Stream::a, 3, 4), element(1, Stream::b, 3, 4));
  EXPECT_NE(element(1, Stream::a, 3, 4), element(1, Stream::a, 4, 3));
  double sum = 0;
  for (std::uint64_t i = 0; i < 200; ++i)
    for (std::uint64_t j = 0; j < 200; ++j) {
      const double v = element(5, Stream::b, i, j);
      ASSERT_GE(v, -1.0);
      ASSERT_LT(v, 1.0);
      sum += v;
    }
  EXPECT_LT(std::fabs(sum / 40000.0), 0.02);  // mean of U(-1, 1): 0 within ~4 standard errors
}

TEST(Summa, PanelCutsRespectBlockAndOwners) {
  // n = 97 over a 2x3 grid: k owners split at 49 (rows) and 33, 65 (columns).
  const auto cuts = summa_panel_cuts(97, 16, 2, 3);
  ASSERT_EQ(cuts.front(), 0);
  ASSERT_EQ(cuts.back(), 97);
  for (std::size_t i = 1; i < cuts.size(); ++i) {
    EXPECT_GT(cuts[i], cuts[i - 1]);
    EXPECT_LE(cuts[i] - cuts[i - 1], 16);
  }
  for (std::int64_t bound : {33, 49, 65}) EXPECT_NE(std::find(cuts.begin(), cuts.end(), bound), cuts.end()) << bound;
  EXPECT_EQ(summa_panel_cuts(10, 100, 1, 1), (std::vector<std::int64_t>{0, 10}));
}

TEST(Summa, GridParser) {
  EXPECT_EQ(parse_grid("2x3"), std::make_pair(2, 3));
  EXPECT_EQ(parse_grid("4X1"), std::make_pair(4, 1));
  for (const char* bad : {"", "2", "2x", "x3", "0x2", "2x-1", "2x3x4", "axb", "2y3"})
    EXPECT_THROW(parse_grid(bad), UsageError) << bad;
}

}  // namespace
}  // namespace hk::matmul
