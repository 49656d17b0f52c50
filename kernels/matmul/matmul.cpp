// Dense C = A·B of n x n doubles over R ranks x T threads, in three layouts that show what
// process isolation costs in memory:
//   rowblock: A and C in row blocks, B replicated on every rank (all-gathered once in setup);
//   summa:    2-D grid (MPI_Dims_create / MPI_Cart_create), A and C and B in 2-D blocks, k panels
//             broadcast along grid rows (A) and columns (B) every repetition;
//   shared:   A and C in row blocks, B once per node in an MPI-3 shared-memory window.
// Matrices are generated in place from (seed, i, j); the local product is gemm.hpp's.
#include <mpi.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "gemm.hpp"
#include "hk/cli.hpp"
#include "hk/decomposition.hpp"
#include "hk/errors.hpp"
#include "hk/kernel.hpp"
#include "hk/mpi_env.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "matmul.hpp"

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

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr std::int64_t kFullCheckMaxN = 2048;  // --verify full: rank 0 recomputes serially, O(n^3)

// Broadcast of any number of doubles (MPI counts are int).
void bcast_doubles(double* data, std::int64_t count, int root, MPI_Comm comm) {
  constexpr std::int64_t kChunk = std::int64_t{1} << 28;
  for (std::int64_t at = 0; at < count; at += kChunk)
    HK_MPI_CHECK(MPI_Bcast(data + at, static_cast<int>(std::min(kChunk, count - at)), MPI_DOUBLE, root, comm));
}

// Fills rows x cols of matrix `stream` (global offsets row0, col0) into row-major `out`; the
// OpenMP threads that will compute on the rows write them first.
void generate(double* out, std::int64_t ld, Range rows, Range cols, Stream stream, std::uint64_t seed) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = rows.begin; i < rows.end; ++i) {
    double* row = out + (i - rows.begin) * ld;
    for (std::int64_t j = cols.begin; j < cols.end; ++j)
      row[j - cols.begin] = element(seed, stream, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j));
  }
}

// Proportional set size (shared pages split among the processes mapping them), in bytes; 0 if
// unknown. Unlike RSS it counts a shared-memory window once per node, not once per rank.
double pss_bytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string key;
  double kib = 0;
  while (in >> key) {
    if (key == "Pss:") {
      in >> kib;
      return kib * 1024.0;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

struct Totals {
  double max = 0, mean = 0;
};
Totals max_and_mean(double value, const Context& ctx) {
  Totals t;
  double sum = 0;
  HK_MPI_CHECK(MPI_Allreduce(&value, &t.max, 1, MPI_DOUBLE, MPI_MAX, ctx.comm));
  HK_MPI_CHECK(MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, ctx.comm));
  t.mean = sum / ctx.size;
  return t;
}

class MatMul final : public Kernel {
 public:
  void add_options(CLI::App& app) override {
    add_int_option(app, "--n", n_, 1, std::int64_t{1} << 31, "matrix order: C = A*B, all n x n doubles");
    app.add_option("--variant", variant_,
                   "rowblock: B replicated on every rank; summa: 2-D grid, panels broadcast; "
                   "shared: B once per node in an MPI-3 shared-memory window")
        ->check(CLI::IsMember({"rowblock", "summa", "shared"}))
        ->capture_default_str();
    block_option_ = add_int_option(app, "--block", block_, 1, std::int64_t{1} << 30,
                                   "summa: k-panel width (columns of A, rows of B)");
    app.add_option("--grid", grid_, "summa: process grid PxQ (default: MPI_Dims_create)");
    app.add_option("--verify", verify_,
                   "freivalds: C*x against A*(B*x) on every run; full: also gather C on rank 0 and compare "
                   "with the serial reference (n <= 2048)")
        ->check(CLI::IsMember({"freivalds", "full"}))
        ->capture_default_str();
    add_real_option(app, "--inject-fault", inject_fault_, -1e300, 1e300, false,
                    "test hook: add this to C(n/2, n/2) before verifying (the check must then fail)");
  }

  void check_options() const override {
    if (!grid_.empty()) {
      parse_grid(grid_);
      if (variant_ != "summa")
        throw UsageError(fmt::format("--grid: only for --variant summa (got --variant {})", variant_));
    }
    if (block_option_->count() > 0 && variant_ != "summa")
      throw UsageError(fmt::format("--block: only for --variant summa (got --variant {})", variant_));
    if (verify_ == "full" && n_ > kFullCheckMaxN)
      throw UsageError(
          fmt::format("--verify full: needs --n <= {} (rank 0 recomputes C serially); got --n {}", kFullCheckMaxN, n_));
  }

  std::string variant() const override { return variant_; }

  nlohmann::json params() const override {
    nlohmann::json p = {{"n", n_}, {"verify", verify_}, {"gemm", gemm_backend()}};
    if (variant_ == "summa") {
      p["block"] = block_;
      p["grid"] = grid_.empty() ? "auto" : grid_;
    }
    return p;
  }

  Work work() const override {
    Work w;
    const double n = static_cast<double>(n_);
    w.flops = 2.0 * n * n * n;
    w.bytes = 3.0 * n * n * sizeof(double);  // A and B read, C written, at least once
    w.rate_unit = "GFLOP/s";
    return w;
  }

  std::vector<std::vector<std::string>> smoke_configs() const override {
    return {{"--variant", "rowblock", "--n", "97"},
            {"--variant", "summa", "--n", "97", "--block", "16"},
            {"--variant", "shared", "--n", "97"}};
  }

  std::vector<std::string> weak_scaling_args(double factor) const override {
    // n^3 grows with the core count.
    return {"--n", fmt::format("{}", std::max<std::int64_t>(1, std::llround(static_cast<double>(n_) * std::cbrt(factor))))};
  }

  void setup(Context& ctx) override {
    Eigen::setNbThreads(ctx.threads);  // the pure-Eigen back end follows the runtime's thread count
    plan_layout(ctx);                  // may throw UsageError: same decision on every rank, no collective yet
    HK_MPI_CHECK(MPI_Comm_split_type(ctx.comm, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &node_comm_));
    HK_MPI_CHECK(MPI_Comm_set_errhandler(node_comm_, MPI_ERRORS_RETURN));
    HK_MPI_CHECK(MPI_Comm_rank(node_comm_, &node_rank_));
    HK_MPI_CHECK(MPI_Comm_size(node_comm_, &node_size_));
    check_memory(ctx);  // collective, then the same decision on every rank; before any allocation

    const std::uint64_t seed = ctx.common->seed;
    a_.resize(rows_.size(), k_a_.size());
    generate(a_.data(), a_.cols(), rows_, k_a_, Stream::a, seed);
    c_.resize(rows_.size(), cols_.size());
    zero_c();
    if (variant_ == "rowblock") setup_rowblock(ctx, seed);
    else if (variant_ == "shared") setup_shared(seed);
    else setup_summa(ctx, seed);
  }

  void run(Context& ctx, PhaseTimer& phases) override {
    (void)ctx;
    comm_bytes_ = 0;
    {
      auto scope = phases.time(Phase::compute);
      zero_c();
    }
    if (variant_ != "summa") {
      auto scope = phases.time(Phase::compute);
      multiply_add(a_, b_view(), c_);
      return;
    }
    for (std::size_t panel = 0; panel + 1 < cuts_.size(); ++panel) {
      const std::int64_t k0 = cuts_[panel], width = cuts_[panel + 1] - cuts_[panel];
      const double* a_src = a_.data() + (k0 - k_a_.begin);  // this rank's A columns, stride a_.cols()
      std::int64_t a_stride = a_.cols();
      const double* b_src = b_.data() + (k0 - k_b_.begin) * b_.cols();  // rows of B: contiguous
      {
        auto scope = phases.time(Phase::comm);
        if (grid_cols_ > 1) {
          const int root = panel_owner_col_[panel];
          if (my_col_ == root) {
            Eigen::Map<RowMatrix>(a_panel_.data(), rows_.size(), width) = a_.middleCols(k0 - k_a_.begin, width);
          }
          bcast_doubles(a_panel_.data(), rows_.size() * width, root, row_comm_);
          a_src = a_panel_.data();
          a_stride = width;
          comm_bytes_ += static_cast<double>(rows_.size() * width) * sizeof(double);
        }
        if (grid_rows_ > 1) {
          const int root = panel_owner_row_[panel];
          double* buffer = my_row_ == root ? const_cast<double*>(b_src) : b_panel_.data();
          bcast_doubles(buffer, width * cols_.size(), root, col_comm_);
          b_src = buffer;
          comm_bytes_ += static_cast<double>(width * cols_.size()) * sizeof(double);
        }
      }
      auto scope = phases.time(Phase::compute);
      const Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> a_panel(a_src, rows_.size(), width,
                                                                         Eigen::OuterStride<>(a_stride));
      const Eigen::Map<const RowMatrix> b_panel(b_src, width, cols_.size());
      multiply_add(a_panel, b_panel, c_);
    }
  }

  Verification verify(Context& ctx) override {
    if (inject_fault_ != 0.0) {
      const std::int64_t i = n_ / 2, j = n_ / 2;
      if (owns_c(i, j)) c_(i - rows_.begin, j - cols_.begin) += inject_fault_;
    }
    Verification v = freivalds(ctx);
    if (verify_ == "full") {
      full_check(ctx);
      v.method += "; and C against the serial blocked triple loop on rank 0, |C - C_ref| <= 2 n eps (|A||B|) "
                  "element by element";
      v.passed = v.passed && full_passed_;
    }
    return v;
  }

  nlohmann::json result(Context& ctx) override {
    // A few elements of C, each read from its owner: bitwise comparable across mixes.
    const std::int64_t last = n_ - 1;
    const std::vector<std::pair<std::int64_t, std::int64_t>> where = {{0, 0}, {last, last}, {n_ / 2, last / 3}};
    std::vector<double> mine(where.size(), 0.0), samples(where.size(), 0.0);
    for (std::size_t s = 0; s < where.size(); ++s)
      if (owns_c(where[s].first, where[s].second))
        mine[s] = c_(where[s].first - rows_.begin, where[s].second - cols_.begin);
    // Exactly one owner per element, so the sum is that owner's value, bit for bit.
    HK_MPI_CHECK(MPI_Allreduce(mine.data(), samples.data(), static_cast<int>(mine.size()), MPI_DOUBLE, MPI_SUM,
                               ctx.comm));
    nlohmann::json r = {{"c_samples", samples}, {"c_sample_bits", nlohmann::json::array()},
                        {"freivalds_error", freivalds_error_}, {"freivalds_tolerance", freivalds_tolerance_}};
    for (double value : samples) r["c_sample_bits"].push_back(double_bits_hex(value));
    if (verify_ == "full")
      r["reference_check"] = {{"passed", full_passed_},
                              {"max_abs_error", full_max_error_},
                              {"max_error_over_bound", full_max_ratio_}};
    return r;
  }

  nlohmann::json metrics(Context& ctx) override {
    const Totals comm = max_and_mean(comm_bytes_, ctx);
    const Totals setup_comm = max_and_mean(setup_comm_bytes_, ctx);
    const Totals pss = max_and_mean(pss_bytes(), ctx);
    // Copies of B in the run: elements of B held by all ranks (a node's window once) over n^2.
    double b_elements = 0;
    if (variant_ == "rowblock") b_elements = static_cast<double>(n_) * static_cast<double>(n_);
    else if (variant_ == "shared") b_elements = node_rank_ == 0 ? static_cast<double>(n_) * static_cast<double>(n_) : 0;
    else b_elements = static_cast<double>(b_.size());
    double b_total = 0;
    HK_MPI_CHECK(MPI_Allreduce(&b_elements, &b_total, 1, MPI_DOUBLE, MPI_SUM, ctx.comm));
    nlohmann::json m = {
        {"comm_bytes_per_rank_per_rep", {{"max", comm.max}, {"mean", comm.mean}}},
        {"setup_comm_bytes_per_rank", {{"max", setup_comm.max}, {"mean", setup_comm.mean}}},
        {"b_copies", b_total / (static_cast<double>(n_) * static_cast<double>(n_))},
        {"pss_bytes", {{"max", pss.max}, {"total", pss.mean * ctx.size}}},
        {"memory_estimate_bytes_per_node", node_estimate_bytes_},
        {"gemm", gemm_backend()},
        {"isa", gemm_isa()},
    };
    if (variant_ == "summa") {
      m["grid"] = {grid_rows_, grid_cols_};
      m["panels"] = cuts_.size() - 1;
    }
    return m;
  }

  void teardown(Context&) override {
    if (win_ != MPI_WIN_NULL) {
      HK_MPI_CHECK(MPI_Win_unlock_all(win_));
      HK_MPI_CHECK(MPI_Win_free(&win_));
    }
    for (MPI_Comm* comm : {&row_comm_, &col_comm_, &cart_, &node_comm_})
      if (*comm != MPI_COMM_NULL) HK_MPI_CHECK(MPI_Comm_free(comm));
  }

 private:
  // Who owns what (no MPI calls): rows_ x k_a_ of A, k_b_ x cols_ of B (for the check; rowblock
  // and shared hold all of B), rows_ x cols_ of C.
  void plan_layout(const Context& ctx) {
    if (variant_ == "summa") {
      int dims[2] = {0, 0};
      if (!grid_.empty()) {
        const auto [p, q] = parse_grid(grid_);
        if (static_cast<std::int64_t>(p) * q != ctx.size)
          throw UsageError(fmt::format("--grid {}: a {}x{} grid needs {} ranks, but the run has {}", grid_, p, q,
                                       static_cast<std::int64_t>(p) * q, ctx.size));
        dims[0] = p;
        dims[1] = q;
      } else {
        HK_MPI_CHECK(MPI_Dims_create(ctx.size, 2, dims));  // local: no communication
      }
      grid_rows_ = dims[0];
      grid_cols_ = dims[1];
      if (n_ < std::max(grid_rows_, grid_cols_))
        throw UsageError(fmt::format("--n {}: the {}x{} process grid cannot be formed: each grid row and column "
                                     "needs at least one matrix row and column (n >= {})",
                                     n_, grid_rows_, grid_cols_, std::max(grid_rows_, grid_cols_)));
      my_row_ = ctx.rank / grid_cols_;  // MPI_Cart_create without reordering numbers ranks row-major
      my_col_ = ctx.rank % grid_cols_;
      rows_ = block_range(n_, grid_rows_, my_row_);
      cols_ = block_range(n_, grid_cols_, my_col_);
      k_a_ = block_range(n_, grid_cols_, my_col_);
      k_b_ = block_range(n_, grid_rows_, my_row_);
      return;
    }
    if (n_ < ctx.size)
      throw UsageError(fmt::format("--n {}: smaller than the {} ranks; every rank needs at least one row of A and C",
                                   n_, ctx.size));
    rows_ = block_range(n_, ctx.size, ctx.rank);
    cols_ = {0, n_};
    k_a_ = {0, n_};
    k_b_ = rows_;  // B is held whole; for the check each rank accounts for its row block of it
  }

  // Bytes this rank allocates (and, for shared, the node's window), summed per node and
  // compared with the node's available memory before anything is allocated.
  void check_memory(const Context& ctx) {
    const double d = sizeof(double), n = static_cast<double>(n_);
    const double rows = static_cast<double>(rows_.size()), cols = static_cast<double>(cols_.size());
    // Packing buffers of the local product (B block shared by the threads, an A block each).
    const double pack = d * static_cast<double>(packing_doubles(n_, ctx.threads));
    double rank_bytes = d * (rows * static_cast<double>(k_a_.size()) + rows * cols) + pack + 4 * d * n;
    double node_once = 0;
    std::string what;
    if (variant_ == "rowblock") {
      rank_bytes += d * n * n;
      what = "rowblock: row blocks of A and C plus a full copy of B on every rank";
    } else if (variant_ == "shared") {
      node_once = d * n * n;
      what = "shared: row blocks of A and C per rank plus one B per node";
    } else {
      const double width = static_cast<double>(std::min(block_, n_));
      rank_bytes += d * (static_cast<double>(k_b_.size()) * cols + rows * width + width * cols);
      what = "summa: 2-D blocks of A, B and C plus one panel of each per rank";
    }
    if (verify_ == "full" && ctx.is_root()) rank_bytes += 5 * d * n * n;  // gathered C, A, B, reference, bound
    double node_bytes = 0;
    HK_MPI_CHECK(MPI_Allreduce(&rank_bytes, &node_bytes, 1, MPI_DOUBLE, MPI_SUM, node_comm_));
    node_bytes += node_once;
    const double available = static_cast<double>(available_memory_bytes());
    struct {
      double ratio;
      int rank;
    } mine{available > 0 ? node_bytes / available : 0.0, ctx.rank}, worst{};
    HK_MPI_CHECK(MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE_INT, MPI_MAXLOC, ctx.comm));
    double figures[2] = {node_bytes, available};
    HK_MPI_CHECK(MPI_Bcast(figures, 2, MPI_DOUBLE, worst.rank, ctx.comm));
    node_estimate_bytes_ = figures[0];
    if (worst.ratio > 1.0)
      throw UsageError(fmt::format(
          "--n {}: the matrices would need about {:.2f} GiB on a node ({}, {} rank(s) there), but only {:.2f} GiB "
          "is available; use a smaller --n, another --variant or more nodes",
          n_, figures[0] / kGiB, what, node_size_, figures[1] / kGiB));
  }

  void zero_c() {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < c_.rows(); ++i) c_.row(i).setZero();
  }

  // Each rank generates its row block of B, then all-gathers the rest (rows as one datatype,
  // so n^2 may exceed an int count).
  void setup_rowblock(const Context& ctx, std::uint64_t seed) {
    b_.resize(n_, n_);
    generate(b_.data() + rows_.begin * n_, n_, rows_, {0, n_}, Stream::b, seed);
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
    setup_comm_bytes_ = static_cast<double>(n_ - rows_.size()) * static_cast<double>(n_) * sizeof(double);
  }

  // One window per node, allocated by the node's first rank; every rank of the node writes its
  // share of B's rows straight into it and then reads all of it. No communication at all.
  void setup_shared(std::uint64_t seed) {
    const MPI_Aint bytes = node_rank_ == 0 ? static_cast<MPI_Aint>(n_) * n_ * static_cast<MPI_Aint>(sizeof(double)) : 0;
    double* base = nullptr;
    HK_MPI_CHECK(MPI_Win_allocate_shared(bytes, sizeof(double), MPI_INFO_NULL, node_comm_, &base, &win_));
    MPI_Aint size = 0;
    int unit = 0;
    HK_MPI_CHECK(MPI_Win_shared_query(win_, 0, &size, &unit, &b_shared_));
    HK_MPI_CHECK(MPI_Win_lock_all(MPI_MODE_NOCHECK, win_));
    const Range my_b_rows = block_range(n_, node_size_, node_rank_);
    generate(b_shared_ + my_b_rows.begin * n_, n_, my_b_rows, {0, n_}, Stream::b, seed);
    // Make the node's writes visible to every rank of the node before anyone reads B.
    HK_MPI_CHECK(MPI_Win_sync(win_));
    HK_MPI_CHECK(MPI_Barrier(node_comm_));
    HK_MPI_CHECK(MPI_Win_sync(win_));
  }

  void setup_summa(const Context& ctx, std::uint64_t seed) {
    b_.resize(k_b_.size(), cols_.size());
    generate(b_.data(), b_.cols(), k_b_, cols_, Stream::b, seed);
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
    cuts_ = summa_panel_cuts(n_, block_, grid_rows_, grid_cols_);
    std::int64_t widest = 0;
    panel_owner_row_.clear();
    panel_owner_col_.clear();
    for (std::size_t p = 0; p + 1 < cuts_.size(); ++p) {
      widest = std::max(widest, cuts_[p + 1] - cuts_[p]);
      panel_owner_row_.push_back(owner_of(cuts_[p], grid_rows_));
      panel_owner_col_.push_back(owner_of(cuts_[p], grid_cols_));
    }
    if (grid_cols_ > 1) a_panel_.resize(rows_.size() * widest);
    if (grid_rows_ > 1) b_panel_.resize(widest * cols_.size());
  }

  int owner_of(std::int64_t index, int parts) const {
    for (int p = 0; p < parts; ++p)
      if (index < block_range(n_, parts, p).end) return p;
    return parts - 1;
  }

  bool owns_c(std::int64_t i, std::int64_t j) const {
    return i >= rows_.begin && i < rows_.end && j >= cols_.begin && j < cols_.end;
  }

  ConstView b_view() const {
    if (variant_ == "shared") return Eigen::Map<const RowMatrix>(b_shared_, n_, n_);
    return b_;
  }

  // Freivalds: d = C x - A (B x) with x from the seed, each rank adding the terms of the blocks
  // it owns into length-n vectors that are summed over all ranks. Plain loops, independent of
  // the product code. |d| <= 5 n eps |A|_F |B|_F |x|_2 bounds the rounding of C and of the check.
  Verification freivalds(const Context& ctx) {
    const std::uint64_t seed = ctx.common->seed;
    const auto n = static_cast<std::size_t>(n_);
    std::vector<double> x(n), y(n, 0.0), partial(n, 0.0), d(n, 0.0);
    for (std::size_t j = 0; j < n; ++j) x[j] = element(seed, Stream::x, 0, j);
    const ConstView b_full = b_view();
    const std::int64_t b_row0 = variant_ == "summa" ? k_b_.begin : 0;  // summa's b_ is its block only
    double norms[2] = {0.0, 0.0};  // |A|_F^2, |B|_F^2 over owned blocks
    for (std::int64_t i = k_b_.begin; i < k_b_.end; ++i) {
      double sum = 0;
      for (std::int64_t j = cols_.begin; j < cols_.end; ++j) {
        const double b = b_full(i - b_row0, j - cols_.begin);
        sum += b * x[static_cast<std::size_t>(j)];
        norms[1] += b * b;
      }
      partial[static_cast<std::size_t>(i)] = sum;
    }
    HK_MPI_CHECK(MPI_Allreduce(partial.data(), y.data(), static_cast<int>(n), MPI_DOUBLE, MPI_SUM, ctx.comm));
    std::fill(partial.begin(), partial.end(), 0.0);
    for (std::int64_t i = rows_.begin; i < rows_.end; ++i) {
      double cx = 0, ay = 0;
      for (std::int64_t j = cols_.begin; j < cols_.end; ++j)
        cx += c_(i - rows_.begin, j - cols_.begin) * x[static_cast<std::size_t>(j)];
      for (std::int64_t k = k_a_.begin; k < k_a_.end; ++k) {
        const double a = a_(i - rows_.begin, k - k_a_.begin);
        ay += a * y[static_cast<std::size_t>(k)];
        norms[0] += a * a;
      }
      partial[static_cast<std::size_t>(i)] = cx - ay;
    }
    HK_MPI_CHECK(MPI_Allreduce(partial.data(), d.data(), static_cast<int>(n), MPI_DOUBLE, MPI_SUM, ctx.comm));
    double total_norms[2] = {0.0, 0.0};
    HK_MPI_CHECK(MPI_Allreduce(norms, total_norms, 2, MPI_DOUBLE, MPI_SUM, ctx.comm));
    double error = 0, x_norm = 0;
    for (std::size_t i = 0; i < n; ++i) {
      error += d[i] * d[i];
      x_norm += x[i] * x[i];
    }
    Verification v;
    v.method = "Freivalds: |C x - A (B x)|_2 <= 5 n eps |A|_F |B|_F |x|_2, x from the seed";
    v.error = std::sqrt(error);
    v.tolerance = 5.0 * static_cast<double>(n_) * std::numeric_limits<double>::epsilon() *
                  std::sqrt(total_norms[0]) * std::sqrt(total_norms[1]) * std::sqrt(x_norm);
    v.passed = std::isfinite(v.error) && v.error <= v.tolerance;
    freivalds_error_ = v.error;
    freivalds_tolerance_ = v.tolerance;
    return v;
  }

  // --verify full: gather C on rank 0 and compare it with the serial oracle on matrices
  // rank 0 generates whole from the seed.
  void full_check(const Context& ctx) {
    std::vector<int> counts, offsets;
    std::vector<Range> row_blocks, col_blocks;
    RowMatrix gathered;
    if (ctx.is_root()) {
      int offset = 0;
      for (int r = 0; r < ctx.size; ++r) {
        Range rows{0, n_}, cols{0, n_};
        if (variant_ == "summa") {
          rows = block_range(n_, grid_rows_, r / grid_cols_);
          cols = block_range(n_, grid_cols_, r % grid_cols_);
        } else {
          rows = block_range(n_, ctx.size, r);
        }
        row_blocks.push_back(rows);
        col_blocks.push_back(cols);
        counts.push_back(static_cast<int>(rows.size() * cols.size()));
        offsets.push_back(offset);
        offset += counts.back();
      }
      gathered.resize(1, n_ * n_);
    }
    HK_MPI_CHECK(MPI_Gatherv(c_.data(), static_cast<int>(c_.size()), MPI_DOUBLE, gathered.data(), counts.data(),
                             offsets.data(), MPI_DOUBLE, 0, ctx.comm));
    int passed = 0;
    if (ctx.is_root()) {
      const std::uint64_t seed = ctx.common->seed;
      RowMatrix a(n_, n_), b(n_, n_), c(n_, n_), reference = RowMatrix::Zero(n_, n_), bound = RowMatrix::Zero(n_, n_);
      generate(a.data(), n_, {0, n_}, {0, n_}, Stream::a, seed);
      generate(b.data(), n_, {0, n_}, {0, n_}, Stream::b, seed);
      for (int r = 0; r < ctx.size; ++r) {
        const Range rows = row_blocks[static_cast<std::size_t>(r)], cols = col_blocks[static_cast<std::size_t>(r)];
        c.block(rows.begin, cols.begin, rows.size(), cols.size()) =
            Eigen::Map<const RowMatrix>(gathered.data() + offsets[static_cast<std::size_t>(r)], rows.size(), cols.size());
      }
      reference_multiply_add(a, b, reference);
      const RowMatrix abs_a = a.cwiseAbs(), abs_b = b.cwiseAbs();
      reference_multiply_add(abs_a, abs_b, bound);
      const double scale = 2.0 * static_cast<double>(n_) * std::numeric_limits<double>::epsilon();
      full_max_error_ = 0;
      full_max_ratio_ = 0;
      bool ok = true;
      for (std::int64_t i = 0; i < n_; ++i)
        for (std::int64_t j = 0; j < n_; ++j) {
          const double error = std::fabs(c(i, j) - reference(i, j));
          const double limit = scale * bound(i, j);
          full_max_error_ = std::max(full_max_error_, error);
          if (limit > 0) full_max_ratio_ = std::max(full_max_ratio_, error / limit);
          if (!(error <= limit)) ok = false;
        }
      passed = ok ? 1 : 0;
    }
    HK_MPI_CHECK(MPI_Bcast(&passed, 1, MPI_INT, 0, ctx.comm));
    full_passed_ = passed != 0;
  }

  // Options.
  std::int64_t n_ = 2048;
  std::string variant_ = "rowblock";
  std::int64_t block_ = 256;
  CLI::Option* block_option_ = nullptr;
  std::string grid_;
  std::string verify_ = "freivalds";
  double inject_fault_ = 0.0;
  // Layout.
  Range rows_, cols_, k_a_, k_b_;
  int grid_rows_ = 1, grid_cols_ = 1, my_row_ = 0, my_col_ = 0;
  int node_rank_ = 0, node_size_ = 1;
  MPI_Comm node_comm_ = MPI_COMM_NULL, cart_ = MPI_COMM_NULL, row_comm_ = MPI_COMM_NULL, col_comm_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  double* b_shared_ = nullptr;
  std::vector<std::int64_t> cuts_;
  std::vector<int> panel_owner_row_, panel_owner_col_;
  // Data.
  RowMatrix a_, b_, c_;
  std::vector<double> a_panel_, b_panel_;
  // Measurements.
  double comm_bytes_ = 0, setup_comm_bytes_ = 0, node_estimate_bytes_ = 0;
  double freivalds_error_ = 0, freivalds_tolerance_ = 0;
  bool full_passed_ = false;
  double full_max_error_ = 0, full_max_ratio_ = 0;
};

HK_REGISTER_KERNEL(MatMul, "matmul",
                   "dense C = A*B: rowblock (B replicated), summa (2-D grid, panel broadcasts) or shared (B once "
                   "per node); Freivalds check");

}  // namespace
}  // namespace hk::matmul
