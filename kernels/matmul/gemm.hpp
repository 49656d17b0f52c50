#pragma once
// The local product C += A·B of the matmul kernel, on Eigen row-major views.
// Two back ends chosen at build time (CMake option HK_MATMUL_GEMM=packed|eigen):
//   packed: our BLIS-style product (packed, cache-blocked panels, a register kernel per SIMD
//           path chosen at run time: AVX-512 8x24, AVX2+FMA 6x8, generic 4x6; OpenMP over the
//           macro loop with the thread count the runtime set);
//   eigen:  Eigen's own product (Eigen::setNbThreads follows the runtime's thread count).
// Both are called only from outside OpenMP parallel regions (no nested parallelism).
#include <Eigen/Core>
#include <cstdint>
#include <string>

namespace hk::matmul {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstView = Eigen::Ref<const RowMatrix, 0, Eigen::OuterStride<>>;
using View = Eigen::Ref<RowMatrix, 0, Eigen::OuterStride<>>;

// C += A·B with the build's back end. Shapes must agree (checked: std::invalid_argument).
void multiply_add(ConstView a, ConstView b, View c);

// C += A·B with the packed product on the SIMD path dispatch picks now (hk/simd.hpp).
// `threads` <= 0: omp_get_max_threads(). Each element of C gets its k-sum in the same order
// whatever the shape split or thread count (k is cut at fixed multiples of the path's kc), so
// row- or column-splits of C are bitwise reproducible on one path.
void packed_multiply_add(ConstView a, ConstView b, View c, int threads = 0);

// C += A·B with Eigen's product (the pure-Eigen back end and a comparison point).
void eigen_multiply_add(ConstView a, ConstView b, View c);

// The oracle: a plain serial blocked triple loop, C += A·B, no vector intrinsics, no threads.
void reference_multiply_add(ConstView a, ConstView b, View c);

// Doubles the packed product's buffers hold for n x n operands on `threads` threads (the B block
// the team shares and an A block per thread, on the path dispatch picks now), kept per thread
// between calls.
std::int64_t packing_doubles(std::int64_t n, int threads);

// Name of the back end multiply_add uses now: "packed-<path>-<rows>x<cols>" (e.g.
// "packed-avx512-8x24") or "eigen".
std::string gemm_backend();
// The SIMD path multiply_add runs now ("avx512", "avx2", "generic"; for eigen: the build's baseline).
const char* gemm_isa();

}  // namespace hk::matmul
