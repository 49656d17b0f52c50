#pragma once
// Pieces of the matmul kernel that tests use directly: the element generator, the SUMMA panel
// cuts and the --grid parser.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hk::matmul {

// Which matrix an element belongs to: each has its own stream of the generator.
enum class Stream : std::uint64_t { a = 1, b = 2, x = 3 };

// Element (i, j) of matrix `stream` for `seed`: uniform in [-1, 1), a function of
// (seed, stream, i, j) only, so every rank generates its own block and every mix multiplies
// the same matrices. SplitMix64 finaliser over a unique 64-bit word per element (i, j < 2^32).
inline double element(std::uint64_t seed, Stream stream, std::uint64_t i, std::uint64_t j) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(stream) * 0xD1B54A32D192ED03ull;
  z ^= (i << 32 | j) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

// SUMMA's k panels: cuts at every multiple-of-`block` step from the previous cut and at every
// boundary of the k split over the grid's rows (B) and columns (A), so each panel has one owner
// in each direction. Returns the cut points 0 = c0 < c1 < ... < cm = n.
std::vector<std::int64_t> summa_panel_cuts(std::int64_t n, std::int64_t block, int grid_rows, int grid_cols);

// "PxQ" -> {P, Q}; throws UsageError naming --grid otherwise.
std::pair<int, int> parse_grid(const std::string& text);

}  // namespace hk::matmul
