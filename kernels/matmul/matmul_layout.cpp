// The table of matmul's layouts and what they share.
#include "matmul_layout.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "hk/errors.hpp"
#include "hk/mpi_env.hpp"

namespace hk::matmul {

const std::vector<LayoutInfo>& layouts() {
  static const std::vector<LayoutInfo> table = {
      {"rowblock", "B replicated on every rank", "row blocks of A and C plus a full copy of B on every rank", false,
       make_rowblock},
      {"summa", "2-D grid, panels broadcast", "2-D blocks of A, B and C plus one panel of each per rank", true,
       make_summa},
      {"shared", "B once per node in an MPI-3 shared-memory window",
       "row blocks of A and C per rank plus one B per node", false, make_shared},
  };
  return table;
}

const LayoutInfo& layout_info(const std::string& name) {
  for (const LayoutInfo& info : layouts())
    if (name == info.name) return info;
  throw UsageError(fmt::format("--variant: {} is not a matmul layout", name));  // CLI11 refuses it first
}

std::unique_ptr<Layout> make_layout(const LayoutOptions& options, const Context& ctx) {
  return layout_info(options.variant).make(options, ctx);
}

Blocks row_blocks(std::int64_t n, const Context& ctx) {
  if (n < ctx.size)
    throw UsageError(
        fmt::format("--n {}: smaller than the {} ranks; every rank needs at least one row of A and C", n, ctx.size));
  return row_block_of(n, ctx.rank, ctx.size);
}

Blocks row_block_of(std::int64_t n, int rank, int size) {
  const Range rows = block_range(n, size, rank);
  return {rows, {0, n}, {0, n}, rows};  // B is held whole; for the check each rank accounts for its row block of it
}

void generate(double* out, std::int64_t ld, Range rows, Range cols, Stream stream, std::uint64_t seed) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = rows.begin; i < rows.end; ++i) {
    double* row = out + (i - rows.begin) * ld;
    for (std::int64_t j = cols.begin; j < cols.end; ++j)
      row[j - cols.begin] = element(seed, stream, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j));
  }
}

void bcast_doubles(double* data, std::int64_t count, int root, MPI_Comm comm) {
  constexpr std::int64_t kChunk = std::int64_t{1} << 28;
  for (std::int64_t at = 0; at < count; at += kChunk)
    HK_MPI_CHECK(MPI_Bcast(data + at, static_cast<int>(std::min(kChunk, count - at)), MPI_DOUBLE, root, comm));
}

}  // namespace hk::matmul
