// Dense C = A·B of n x n doubles over R ranks x T threads, in three layouts that show what
// process isolation costs in memory, one file each behind matmul_layout.hpp:
//   rowblock.cpp: A and C in row blocks, B replicated on every rank (all-gathered once in setup);
//   summa.cpp:    2-D grid (MPI_Dims_create / MPI_Cart_create), A and C and B in 2-D blocks, k
//                 panels broadcast along grid rows (A) and columns (B) every repetition;
//   shared.cpp:   A and C in row blocks, B once per node in an MPI-3 shared-memory window.
// This file is what they share: options, the blocks of A and C, the memory estimate (the
// framework's hook), the checks and the record. The local product is gemm.hpp's.
#include <mpi.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <limits>
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
#include "matmul_layout.hpp"
#include "matmul.hpp"

namespace hk::matmul {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr std::int64_t kFullCheckMaxN = 2048;  // --verify full: rank 0 recomputes serially, O(n^3)

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

// An estimate in bytes as the framework sums it (uint64 over a node's ranks): capped at 1 PiB,
// more than any node has, so that neither the conversion (--n 2^31: 2^67 bytes) nor the sum wraps.
std::uint64_t capped_bytes(double bytes) {
  constexpr double kCap = 1125899906842624.0;  // 2^50
  return static_cast<std::uint64_t>(std::min(bytes, kCap));
}

// "rowblock: B replicated on every rank; summa: ...", from the table of layouts.
std::string variant_help() {
  std::string help;
  for (const LayoutInfo& info : layouts()) help += fmt::format("{}{}: {}", help.empty() ? "" : "; ", info.name, info.help);
  return help;
}

std::vector<std::string> variant_names() {
  std::vector<std::string> names;
  for (const LayoutInfo& info : layouts()) names.emplace_back(info.name);
  return names;
}

class MatMul final : public Kernel {
 public:
  void add_options(CLI::App& app) override {
    add_int_option(app, "--n", layout_options_.n, 1, std::int64_t{1} << 31, "matrix order: C = A*B, all n x n doubles");
    app.add_option("--variant", layout_options_.variant, variant_help())
        ->check(CLI::IsMember(variant_names()))
        ->capture_default_str();
    block_option_ = add_int_option(app, "--block", layout_options_.block, 1, std::int64_t{1} << 30,
                                   "summa: k-panel width (columns of A, rows of B)");
    app.add_option("--grid", layout_options_.grid, "summa: process grid PxQ (default: MPI_Dims_create)");
    app.add_option("--verify", verify_,
                   "freivalds: C*x against A*(B*x) on every run; full: also gather C on rank 0 and compare "
                   "with the serial reference (n <= 2048)")
        ->check(CLI::IsMember({"freivalds", "full"}))
        ->capture_default_str();
    add_real_option(app, "--inject-fault", inject_fault_, -1e300, 1e300, false,
                    "test hook: add this to C(n/2, n/2) before verifying (the check must then fail)");
  }

  void check_options() const override {
    if (!layout_options_.grid.empty()) {
      parse_grid(layout_options_.grid);
      if (!layout_info(layout_options_.variant).panels)
        throw UsageError(fmt::format("--grid: only for --variant summa (got --variant {})", layout_options_.variant));
    }
    if (block_option_->count() > 0 && !layout_info(layout_options_.variant).panels)
      throw UsageError(fmt::format("--block: only for --variant summa (got --variant {})", layout_options_.variant));
    if (verify_ == "full" && n() > kFullCheckMaxN)
      throw UsageError(
          fmt::format("--verify full: needs --n <= {} (rank 0 recomputes C serially); got --n {}", kFullCheckMaxN, n()));
  }

  std::string variant() const override { return layout_options_.variant; }

  nlohmann::json params() const override {
    nlohmann::json p = {{"n", n()}, {"verify", verify_}, {"gemm", gemm_backend()}};
    if (layout_info(layout_options_.variant).panels) {
      p["block"] = layout_options_.block;
      p["grid"] = layout_options_.grid.empty() ? "auto" : layout_options_.grid;
    }
    return p;
  }

  Work work() const override {
    Work w;
    const double n = static_cast<double>(this->n());
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
    return {"--n", fmt::format("{}", std::max<std::int64_t>(1, std::llround(static_cast<double>(n()) * std::cbrt(factor))))};
  }

  // The framework's memory check (before setup, before any allocation): the layout is planned
  // for this rank (a grid that cannot be formed is refused here, the same on every rank) and its
  // blocks priced.
  std::uint64_t memory_estimate_bytes(const Context& ctx) const override {
    return capped_bytes(rank_bytes(*make_layout(layout_options_, ctx), ctx));
  }
  std::uint64_t memory_estimate_node_bytes(const Context& ctx) const override {
    return capped_bytes(make_layout(layout_options_, ctx)->node_once_bytes());
  }
  std::string memory_refusal(const MemoryEstimate& e) const override {
    const LayoutInfo& info = layout_info(layout_options_.variant);
    return fmt::format(
        "--n {}: the matrices would need about {:.2f} GiB on node {} ({}: {}, {} rank(s) there), but only {:.2f} "
        "GiB is available; use a smaller --n, another --variant or more nodes",
        n(), static_cast<double>(e.node_bytes) / kGiB, e.host, info.name, info.holds, e.node_ranks,
        static_cast<double>(e.available_bytes) / kGiB);
  }

  void setup(Context& ctx) override {
    Eigen::setNbThreads(ctx.threads);  // the pure-Eigen back end follows the runtime's thread count
    layout_ = make_layout(layout_options_, ctx);
    HK_MPI_CHECK(MPI_Comm_split_type(ctx.comm, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &node_comm_));
    HK_MPI_CHECK(MPI_Comm_set_errhandler(node_comm_, MPI_ERRORS_RETURN));
    const std::uint64_t seed = ctx.common->seed;
    const Blocks& own = layout_->blocks();
    a_.resize(own.rows.size(), own.k_a.size());
    generate(a_.data(), a_.cols(), own.rows, own.k_a, Stream::a, seed);
    c_.resize(own.rows.size(), own.cols.size());
    zero_c();
    layout_->setup(ctx, node_comm_, seed);
  }

  void run(Context&, PhaseTimer& phases) override {
    {
      auto scope = phases.time(Phase::compute);
      zero_c();
    }
    layout_->multiply(a_, c_, phases);
  }

  Verification verify(Context& ctx) override {
    if (inject_fault_ != 0.0) {
      const std::int64_t i = n() / 2, j = n() / 2;
      if (owns_c(i, j)) c_(i - layout_->blocks().rows.begin, j - layout_->blocks().cols.begin) += inject_fault_;
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
    const std::int64_t last = n() - 1;
    const std::vector<std::pair<std::int64_t, std::int64_t>> where = {{0, 0}, {last, last}, {n() / 2, last / 3}};
    std::vector<double> mine(where.size(), 0.0), samples(where.size(), 0.0);
    const Blocks& own = layout_->blocks();
    for (std::size_t s = 0; s < where.size(); ++s)
      if (owns_c(where[s].first, where[s].second))
        mine[s] = c_(where[s].first - own.rows.begin, where[s].second - own.cols.begin);
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
    const Totals comm = max_and_mean(layout_->comm_bytes(), ctx);
    const Totals setup_comm = max_and_mean(layout_->setup_comm_bytes(), ctx);
    const Totals pss = max_and_mean(pss_bytes(), ctx);
    // Copies of B in the run: elements of B held by all ranks (a node's window once) over n^2.
    const double b_elements = layout_->b_elements_held();
    double b_total = 0;
    HK_MPI_CHECK(MPI_Allreduce(&b_elements, &b_total, 1, MPI_DOUBLE, MPI_SUM, ctx.comm));
    // The estimate the framework checked, for this rank's node (the node of rank 0 is recorded).
    const double estimate = rank_bytes(*layout_, ctx);
    double node_estimate = 0;
    HK_MPI_CHECK(MPI_Allreduce(&estimate, &node_estimate, 1, MPI_DOUBLE, MPI_SUM, node_comm_));
    node_estimate += layout_->node_once_bytes();
    const double n2 = static_cast<double>(n()) * static_cast<double>(n());
    nlohmann::json m = {
        {"comm_bytes_per_rank_per_rep", {{"max", comm.max}, {"mean", comm.mean}}},
        {"setup_comm_bytes_per_rank", {{"max", setup_comm.max}, {"mean", setup_comm.mean}}},
        {"b_copies", b_total / n2},
        {"pss_bytes", {{"max", pss.max}, {"total", pss.mean * ctx.size}}},
        {"memory_estimate_bytes_per_node", node_estimate},
        {"gemm", gemm_backend()},
        {"isa", gemm_isa()},
    };
    layout_->add_metrics(m);
    return m;
  }

  void teardown(Context&) override {
    if (layout_) layout_->teardown();
    if (node_comm_ != MPI_COMM_NULL) HK_MPI_CHECK(MPI_Comm_free(&node_comm_));
  }

 private:
  std::int64_t n() const { return layout_options_.n; }

  // Bytes this rank allocates: its blocks of A and C, the layout's B and buffers, the packing
  // buffers of the local product (a B block shared by the threads, an A block each), the check's
  // vectors, and on rank 0 with --verify full the gathered C, A, B, reference and bound.
  double rank_bytes(const Layout& layout, const Context& ctx) const {
    const double d = sizeof(double), n = static_cast<double>(this->n());
    const Blocks& own = layout.blocks();
    const double rows = static_cast<double>(own.rows.size()), cols = static_cast<double>(own.cols.size());
    const double pack = d * static_cast<double>(packing_doubles(this->n(), ctx.threads));
    double bytes = d * (rows * static_cast<double>(own.k_a.size()) + rows * cols) + pack + 4 * d * n + layout.b_bytes();
    if (verify_ == "full" && ctx.is_root()) bytes += 5 * d * n * n;
    return bytes;
  }

  void zero_c() {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < c_.rows(); ++i) c_.row(i).setZero();
  }

  bool owns_c(std::int64_t i, std::int64_t j) const {
    const Blocks& own = layout_->blocks();
    return i >= own.rows.begin && i < own.rows.end && j >= own.cols.begin && j < own.cols.end;
  }
  // Freivalds: d = C x - A (B x) with x from the seed, each rank adding the terms of the blocks
  // it owns into length-n vectors that are summed over all ranks. Plain loops, independent of
  // the product code. |d| <= 5 n eps |A|_F |B|_F |x|_2 bounds the rounding of C and of the check.
  Verification freivalds(const Context& ctx) {
    const std::uint64_t seed = ctx.common->seed;
    const auto n = static_cast<std::size_t>(this->n());
    std::vector<double> x(n), y(n, 0.0), partial(n, 0.0), d(n, 0.0);
    for (std::size_t j = 0; j < n; ++j) x[j] = element(seed, Stream::x, 0, j);
    const ConstView b_held = layout_->b_view();
    const std::int64_t b_row0 = layout_->b_first_row();
    const Range rows = layout_->blocks().rows, cols = layout_->blocks().cols;
    const Range k_a = layout_->blocks().k_a, k_b = layout_->blocks().k_b;
    double norms[2] = {0.0, 0.0};  // |A|_F^2, |B|_F^2 over owned blocks
    for (std::int64_t i = k_b.begin; i < k_b.end; ++i) {
      double sum = 0;
      for (std::int64_t j = cols.begin; j < cols.end; ++j) {
        const double b = b_held(i - b_row0, j - cols.begin);
        sum += b * x[static_cast<std::size_t>(j)];
        norms[1] += b * b;
      }
      partial[static_cast<std::size_t>(i)] = sum;
    }
    HK_MPI_CHECK(MPI_Allreduce(partial.data(), y.data(), static_cast<int>(n), MPI_DOUBLE, MPI_SUM, ctx.comm));
    std::fill(partial.begin(), partial.end(), 0.0);
    for (std::int64_t i = rows.begin; i < rows.end; ++i) {
      double cx = 0, ay = 0;
      for (std::int64_t j = cols.begin; j < cols.end; ++j)
        cx += c_(i - rows.begin, j - cols.begin) * x[static_cast<std::size_t>(j)];
      for (std::int64_t k = k_a.begin; k < k_a.end; ++k) {
        const double a = a_(i - rows.begin, k - k_a.begin);
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
    v.tolerance = 5.0 * static_cast<double>(this->n()) * std::numeric_limits<double>::epsilon() *
                  std::sqrt(total_norms[0]) * std::sqrt(total_norms[1]) * std::sqrt(x_norm);
    v.passed = std::isfinite(v.error) && v.error <= v.tolerance;
    freivalds_error_ = v.error;
    freivalds_tolerance_ = v.tolerance;
    return v;
  }

  // --verify full: gather C on rank 0 and compare it with the serial oracle on matrices
  // rank 0 generates whole from the seed.
  void full_check(const Context& ctx) {
    const std::int64_t n = this->n();
    std::vector<int> counts, offsets;
    std::vector<Range> row_blocks, col_blocks;
    RowMatrix gathered;
    if (ctx.is_root()) {
      int offset = 0;
      for (int r = 0; r < ctx.size; ++r) {
        const Blocks owned = layout_->blocks_of(r, ctx.size);
        const Range rows = owned.rows, cols = owned.cols;
        row_blocks.push_back(rows);
        col_blocks.push_back(cols);
        counts.push_back(static_cast<int>(rows.size() * cols.size()));
        offsets.push_back(offset);
        offset += counts.back();
      }
      gathered.resize(1, n * n);
    }
    HK_MPI_CHECK(MPI_Gatherv(c_.data(), static_cast<int>(c_.size()), MPI_DOUBLE, gathered.data(), counts.data(),
                             offsets.data(), MPI_DOUBLE, 0, ctx.comm));
    int passed = 0;
    if (ctx.is_root()) {
      const std::uint64_t seed = ctx.common->seed;
      RowMatrix a(n, n), b(n, n), c(n, n), reference = RowMatrix::Zero(n, n), bound = RowMatrix::Zero(n, n);
      generate(a.data(), n, {0, n}, {0, n}, Stream::a, seed);
      generate(b.data(), n, {0, n}, {0, n}, Stream::b, seed);
      for (int r = 0; r < ctx.size; ++r) {
        const Range rows = row_blocks[static_cast<std::size_t>(r)], cols = col_blocks[static_cast<std::size_t>(r)];
        c.block(rows.begin, cols.begin, rows.size(), cols.size()) =
            Eigen::Map<const RowMatrix>(gathered.data() + offsets[static_cast<std::size_t>(r)], rows.size(), cols.size());
      }
      reference_multiply_add(a, b, reference);
      const RowMatrix abs_a = a.cwiseAbs(), abs_b = b.cwiseAbs();
      reference_multiply_add(abs_a, abs_b, bound);
      const double scale = 2.0 * static_cast<double>(n) * std::numeric_limits<double>::epsilon();
      full_max_error_ = 0;
      full_max_ratio_ = 0;
      bool ok = true;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
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

  LayoutOptions layout_options_;
  CLI::Option* block_option_ = nullptr;  // --block given: refused without summa
  std::string verify_ = "freivalds";
  double inject_fault_ = 0.0;
  std::unique_ptr<Layout> layout_;
  MPI_Comm node_comm_ = MPI_COMM_NULL;
  RowMatrix a_, c_;  // this rank's blocks of A and C (B is the layout's)
  double freivalds_error_ = 0, freivalds_tolerance_ = 0;
  bool full_passed_ = false;
  double full_max_error_ = 0, full_max_ratio_ = 0;
};

HK_REGISTER_KERNEL(MatMul, "matmul",
                   "dense C = A*B: rowblock (B replicated), summa (2-D grid, panel broadcasts) or shared (B once "
                   "per node); Freivalds check");

}  // namespace
}  // namespace hk::matmul
