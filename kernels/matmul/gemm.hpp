#pragma once
// The local product C += A·B of the matmul kernel, on Eigen row-major views.
// Two back ends chosen at build time (CMake option HK_MATMUL_GEMM=packed|eigen):
//   packed: our BLIS-style product (packed, cache-blocked panels, a 6x8 AVX2/FMA register kernel,
//           OpenMP over the macro loop with the thread count the runtime set);
//   eigen:  Eigen's own product (Eigen::setNbThreads follows the runtime's thread count).
// Both are called only from outside OpenMP parallel regions (no nested parallelism).
#include <Eigen/Core>
#include <cstdint>

namespace hk::matmul {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstView = Eigen::Ref<const RowMatrix, 0, Eigen::OuterStride<>>;
using View = Eigen::Ref<RowMatrix, 0, Eigen::OuterStride<>>;

// C += A·B with the build's back end. Shapes must agree (checked: std::invalid_argument).
void multiply_add(ConstView a, ConstView b, View c);

// C += A·B with the packed AVX2/FMA product (available in every build where the CPU has
// AVX2 and FMA at compile time; falls back to Eigen otherwise). `threads` <= 0: omp_get_max_threads().
// Each element of C gets its k-sum in the same order whatever the shape split or thread count
// (k is cut at fixed multiples of kKc), so row- or column-splits of C are bitwise reproducible.
void packed_multiply_add(ConstView a, ConstView b, View c, int threads = 0);

// C += A·B with Eigen's product (the pure-Eigen back end and a comparison point).
void eigen_multiply_add(ConstView a, ConstView b, View c);

// The oracle: a plain serial blocked triple loop, C += A·B, no vector intrinsics, no threads.
void reference_multiply_add(ConstView a, ConstView b, View c);

// Name of the back end multiply_add uses ("packed-avx2-fma-6x8" or "eigen").
const char* gemm_backend();
// Whether the packed kernel was compiled with AVX2+FMA (false: packed_multiply_add is Eigen).
bool packed_is_native();

}  // namespace hk::matmul
