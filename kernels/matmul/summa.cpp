// summa: a 2-D process grid (MPI_Dims_create / MPI_Cart_create), A, B and C in 2-D blocks, and
// every repetition the k panels broadcast along grid rows (A) and columns (B): the least memory,
// the most communication.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "hk/errors.hpp"
#include "hk/mpi_env.hpp"
#include "matmul_layout.hpp"

namespace hk::matmul {

std::vector<std::int64_t> summa_panel_cuts(std::int64_t n, std::int64_t block, int grid_rows, int grid_cols) {
  std::vector<std::int64_t> owner_bounds;
  for (int p = 0; p < grid_rows; ++p) owner_bounds.push_back(block_range(n, grid_rows, p).end);
  for (int q = 0; q < grid_cols; ++q) owner_bounds.push_back(block_range(n, grid_cols, q).end);
  std::sort(owner_bounds.begin(), owner_bounds.end());
  std::vector<std::int64_t> cuts{0};
  std::size_t next_bound = 0;
  while (cuts.back() < n) {
    const std::int64_t at = cuts.back();
    while (owner_bounds[next_bound] <= at) ++next_bound;
    cuts.push_back(std::min(at + block, owner_bounds[next_bound]));
  }
  return cuts;
}

std::pair<int, int> parse_grid(const std::string& text) {
  int rows = 0, cols = 0;
  char x = 0, extra = 0;
  std::istringstream in(text);
  if (!(in >> rows >> x >> cols) || (x != 'x' && x != 'X') || (in >> extra) || rows < 1 || cols < 1 ||
      rows > (1 << 20) || cols > (1 << 20))
    throw UsageError(fmt::format("--grid: must be PxQ with P and Q integers from 1 to 1048576 (got '{}')", text));
  return {rows, cols};
}

namespace {

class Summa final : public Layout {
 public:
  Summa(const LayoutOptions& options, const Context& ctx) : n_(options.n), block_(options.block) {
    plan_grid(options.grid, ctx.size);
    my_row_ = ctx.rank / grid_cols_;  // MPI_Cart_create without reordering numbers ranks row-major
    my_col_ = ctx.rank % grid_cols_;
    blocks_ = blocks_of(ctx.rank, ctx.size);
  }

  Blocks blocks_of(int rank, int) const override {
    const int row = rank / grid_cols_, col = rank % grid_cols_;
    return {block_range(n_, grid_rows_, row), block_range(n_, grid_cols_, col), block_range(n_, grid_cols_, col),
            block_range(n_, grid_rows_, row)};
  }

  double b_bytes() const override {
    const double width = static_cast<double>(std::min(block_, n_));
    const double rows = static_cast<double>(blocks_.rows.size()), cols = static_cast<double>(blocks_.cols.size());
    return static_cast<double>(sizeof(double)) * (static_cast<double>(blocks_.k_b.size()) * cols + rows * width + width * cols);
  }

  void setup(const Context& ctx, MPI_Comm, std::uint64_t seed) override {
    b_.resize(blocks_.k_b.size(), blocks_.cols.size());
    generate(b_.data(), b_.cols(), blocks_.k_b, blocks_.cols, Stream::b, seed);
    make_communicators(ctx);
    cuts_ = summa_panel_cuts(n_, block_, grid_rows_, grid_cols_);
    std::int64_t widest = 0;
    for (std::size_t p = 0; p + 1 < cuts_.size(); ++p) {
      widest = std::max(widest, cuts_[p + 1] - cuts_[p]);
      panel_owner_row_.push_back(owner_of(cuts_[p], grid_rows_));
      panel_owner_col_.push_back(owner_of(cuts_[p], grid_cols_));
    }
    if (grid_cols_ > 1) a_panel_.resize(static_cast<std::size_t>(blocks_.rows.size() * widest));
    if (grid_rows_ > 1) b_panel_.resize(static_cast<std::size_t>(widest * blocks_.cols.size()));
  }

  // For each k panel: its owners broadcast the A columns along the grid row and the B rows along
  // the grid column, then every rank adds the panel's product to its block of C.
  void multiply(const RowMatrix& a, RowMatrix& c, PhaseTimer& phases) override {
    comm_bytes_ = 0;
    const std::int64_t rows = blocks_.rows.size(), cols = blocks_.cols.size();
    for (std::size_t panel = 0; panel + 1 < cuts_.size(); ++panel) {
      const std::int64_t k0 = cuts_[panel], width = cuts_[panel + 1] - cuts_[panel];
      const double* a_src = a.data() + (k0 - blocks_.k_a.begin);  // this rank's A columns, stride a.cols()
      std::int64_t a_stride = a.cols();
      const double* b_src = b_.data() + (k0 - blocks_.k_b.begin) * b_.cols();  // rows of B: contiguous
      {
        auto scope = phases.time(Phase::comm);
        if (grid_cols_ > 1) {
          const int root = panel_owner_col_[panel];
          if (my_col_ == root)
            Eigen::Map<RowMatrix>(a_panel_.data(), rows, width) = a.middleCols(k0 - blocks_.k_a.begin, width);
          bcast_doubles(a_panel_.data(), rows * width, root, row_comm_);
          a_src = a_panel_.data();
          a_stride = width;
          comm_bytes_ += static_cast<double>(rows * width) * sizeof(double);
        }
        if (grid_rows_ > 1) {
          const int root = panel_owner_row_[panel];
          double* buffer = my_row_ == root ? const_cast<double*>(b_src) : b_panel_.data();
          bcast_doubles(buffer, width * cols, root, col_comm_);
          b_src = buffer;
          comm_bytes_ += static_cast<double>(width * cols) * sizeof(double);
        }
      }
      auto scope = phases.time(Phase::compute);
      const Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> a_panel(a_src, rows, width,
                                                                         Eigen::OuterStride<>(a_stride));
      const Eigen::Map<const RowMatrix> b_panel(b_src, width, cols);
      multiply_add(a_panel, b_panel, c);
    }
  }

  ConstView b_view() const override { return b_; }
  std::int64_t b_first_row() const override { return blocks_.k_b.begin; }  // b_ is this rank's block only
  double b_elements_held() const override { return static_cast<double>(b_.size()); }

  void add_metrics(nlohmann::json& metrics) const override {
    metrics["grid"] = {grid_rows_, grid_cols_};
    metrics["panels"] = cuts_.size() - 1;
  }

  void teardown() override {
    for (MPI_Comm* comm : {&row_comm_, &col_comm_, &cart_})
      if (*comm != MPI_COMM_NULL) HK_MPI_CHECK(MPI_Comm_free(comm));
  }

 private:
  // --grid PxQ or MPI_Dims_create (local: no communication); refuses a grid that cannot be formed.
  void plan_grid(const std::string& grid, int ranks) {
    int dims[2] = {0, 0};
    if (!grid.empty()) {
      const auto [p, q] = parse_grid(grid);
      if (static_cast<std::int64_t>(p) * q != ranks)
        throw UsageError(fmt::format("--grid {}: a {}x{} grid needs {} ranks, but the run has {}", grid, p, q,
                                     static_cast<std::int64_t>(p) * q, ranks));
      dims[0] = p;
      dims[1] = q;
    } else {
      HK_MPI_CHECK(MPI_Dims_create(ranks, 2, dims));
    }
    grid_rows_ = dims[0];
    grid_cols_ = dims[1];
    if (n_ < std::max(grid_rows_, grid_cols_))
      throw UsageError(fmt::format("--n {}: the {}x{} process grid cannot be formed: each grid row and column "
                                   "needs at least one matrix row and column (n >= {})",
                                   n_, grid_rows_, grid_cols_, std::max(grid_rows_, grid_cols_)));
  }

  void make_communicators(const Context& ctx) {
    int dims[2] = {grid_rows_, grid_cols_}, periods[2] = {0, 0};
    HK_MPI_CHECK(MPI_Cart_create(ctx.comm, 2, dims, periods, /*reorder=*/0, &cart_));
    HK_MPI_CHECK(MPI_Comm_set_errhandler(cart_, MPI_ERRORS_RETURN));
    int coords[2] = {0, 0};
    HK_MPI_CHECK(MPI_Cart_coords(cart_, ctx.rank, 2, coords));
    if (coords[0] != my_row_ || coords[1] != my_col_)
      throw RuntimeError("matmul: MPI_Cart_coords disagrees with the row-major grid numbering");
    int keep_cols[2] = {0, 1}, keep_rows[2] = {1, 0};
    HK_MPI_CHECK(MPI_Cart_sub(cart_, keep_cols, &row_comm_));  // my grid row: ranks that share A panels
    HK_MPI_CHECK(MPI_Cart_sub(cart_, keep_rows, &col_comm_));  // my grid column: ranks that share B panels
    HK_MPI_CHECK(MPI_Comm_set_errhandler(row_comm_, MPI_ERRORS_RETURN));
    HK_MPI_CHECK(MPI_Comm_set_errhandler(col_comm_, MPI_ERRORS_RETURN));
  }

  int owner_of(std::int64_t index, int parts) const {
    for (int p = 0; p < parts; ++p)
      if (index < block_range(n_, parts, p).end) return p;
    return parts - 1;
  }

  std::int64_t n_, block_;
  int grid_rows_ = 1, grid_cols_ = 1, my_row_ = 0, my_col_ = 0;
  MPI_Comm cart_ = MPI_COMM_NULL, row_comm_ = MPI_COMM_NULL, col_comm_ = MPI_COMM_NULL;
  std::vector<std::int64_t> cuts_;
  std::vector<int> panel_owner_row_, panel_owner_col_;
  RowMatrix b_;
  std::vector<double> a_panel_, b_panel_;
};

}  // namespace

std::unique_ptr<Layout> make_summa(const LayoutOptions& options, const Context& ctx) {
  return std::make_unique<Summa>(options, ctx);
}

}  // namespace hk::matmul
