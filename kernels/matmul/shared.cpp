// shared: A and C in row blocks, B once per node in an MPI-3 shared-memory window that every rank
// of the node reads: the memory of threads with processes' isolation for A and C.
#include "hk/mpi_env.hpp"
#include "matmul_layout.hpp"

namespace hk::matmul {
namespace {

class Shared final : public Layout {
 public:
  Shared(const LayoutOptions& options, const Context& ctx) : n_(options.n) { blocks_ = row_blocks(n_, ctx); }

  Blocks blocks_of(int rank, int size) const override { return row_block_of(n_, rank, size); }
  double b_bytes() const override { return 0; }
  double node_once_bytes() const override {
    return static_cast<double>(sizeof(double)) * static_cast<double>(n_) * static_cast<double>(n_);
  }

  // One window per node, allocated by the node's first rank; every rank of the node writes its
  // share of B's rows straight into it and then reads all of it. No communication at all.
  void setup(const Context&, MPI_Comm node_comm, std::uint64_t seed) override {
    int node_size = 1;
    HK_MPI_CHECK(MPI_Comm_rank(node_comm, &node_rank_));
    HK_MPI_CHECK(MPI_Comm_size(node_comm, &node_size));
    const MPI_Aint bytes = node_rank_ == 0 ? static_cast<MPI_Aint>(n_) * n_ * static_cast<MPI_Aint>(sizeof(double)) : 0;
    double* base = nullptr;
    HK_MPI_CHECK(MPI_Win_allocate_shared(bytes, sizeof(double), MPI_INFO_NULL, node_comm, &base, &win_));
    MPI_Aint size = 0;
    int unit = 0;
    HK_MPI_CHECK(MPI_Win_shared_query(win_, 0, &size, &unit, &b_));
    HK_MPI_CHECK(MPI_Win_lock_all(MPI_MODE_NOCHECK, win_));
    const Range my_b_rows = block_range(n_, node_size, node_rank_);
    generate(b_ + my_b_rows.begin * n_, n_, my_b_rows, {0, n_}, Stream::b, seed);
    // Make the node's writes visible to every rank of the node before anyone reads B.
    HK_MPI_CHECK(MPI_Win_sync(win_));
    HK_MPI_CHECK(MPI_Barrier(node_comm));
    HK_MPI_CHECK(MPI_Win_sync(win_));
  }

  void multiply(const RowMatrix& a, RowMatrix& c, PhaseTimer& phases) override {
    auto scope = phases.time(Phase::compute);
    multiply_add(a, b_view(), c);
  }

  ConstView b_view() const override { return Eigen::Map<const RowMatrix>(b_, n_, n_); }
  double b_elements_held() const override {
    return node_rank_ == 0 ? static_cast<double>(n_) * static_cast<double>(n_) : 0.0;
  }

  void teardown() override {
    if (win_ == MPI_WIN_NULL) return;
    HK_MPI_CHECK(MPI_Win_unlock_all(win_));
    HK_MPI_CHECK(MPI_Win_free(&win_));
  }

 private:
  std::int64_t n_;
  int node_rank_ = 0;
  MPI_Win win_ = MPI_WIN_NULL;
  double* b_ = nullptr;
};

}  // namespace

std::unique_ptr<Layout> make_shared(const LayoutOptions& options, const Context& ctx) {
  return std::make_unique<Shared>(options, ctx);
}

}  // namespace hk::matmul
