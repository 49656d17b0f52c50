// rowblock: A and C in row blocks, B replicated on every rank (all-gathered once in setup). The
// simplest layout, and the one whose memory grows with the rank count: a copy of B per process.
#include <vector>

#include "hk/mpi_env.hpp"
#include "matmul_layout.hpp"

namespace hk::matmul {
namespace {

class RowBlock final : public Layout {
 public:
  RowBlock(const LayoutOptions& options, const Context& ctx) : n_(options.n) { blocks_ = row_blocks(n_, ctx); }

  Blocks blocks_of(int rank, int size) const override { return row_block_of(n_, rank, size); }
  double b_bytes() const override { return static_cast<double>(sizeof(double)) * static_cast<double>(n_) * n_; }

  // Each rank generates its row block of B, then all-gathers the rest (rows as one datatype, so
  // n^2 may exceed an int count).
  void setup(const Context& ctx, MPI_Comm, std::uint64_t seed) override {
    const Range rows = blocks_.rows;
    b_.resize(n_, n_);
    generate(b_.data() + rows.begin * n_, n_, rows, {0, n_}, Stream::b, seed);
    std::vector<int> counts(static_cast<std::size_t>(ctx.size)), offsets(counts.size());
    for (int r = 0; r < ctx.size; ++r) {
      const Range range = block_range(n_, ctx.size, r);
      counts[static_cast<std::size_t>(r)] = static_cast<int>(range.size());
      offsets[static_cast<std::size_t>(r)] = static_cast<int>(range.begin);
    }
    MPI_Datatype row_type = MPI_DATATYPE_NULL;
    HK_MPI_CHECK(MPI_Type_contiguous(static_cast<int>(n_), MPI_DOUBLE, &row_type));
    HK_MPI_CHECK(MPI_Type_commit(&row_type));
    HK_MPI_CHECK(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, b_.data(), counts.data(), offsets.data(), row_type,
                                ctx.comm));
    HK_MPI_CHECK(MPI_Type_free(&row_type));
    setup_comm_bytes_ = static_cast<double>(n_ - rows.size()) * static_cast<double>(n_) * sizeof(double);
  }

  void multiply(const RowMatrix& a, RowMatrix& c, PhaseTimer& phases) override {
    auto scope = phases.time(Phase::compute);
    multiply_add(a, b_, c);
  }

  ConstView b_view() const override { return b_; }
  double b_elements_held() const override { return static_cast<double>(n_) * static_cast<double>(n_); }

 private:
  std::int64_t n_;
  RowMatrix b_;
};

}  // namespace

std::unique_ptr<Layout> make_rowblock(const LayoutOptions& options, const Context& ctx) {
  return std::make_unique<RowBlock>(options, ctx);
}

}  // namespace hk::matmul
