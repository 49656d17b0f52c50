// vsum: the sum of x_i = i for i < n, split over ranks (hk::block_range) and threads (an OpenMP
// reduction). Checked against the closed form n (n - 1) / 2, exact in doubles below 2^26.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "hk/cli.hpp"
#include "hk/decomposition.hpp"
#include "hk/kernel.hpp"
#include "hk/mpi_env.hpp"

namespace {

class VectorSum final : public hk::Kernel {
 public:
  void add_options(CLI::App& app) override {
    hk::add_int_option(app, "--n", n_, 1, std::int64_t{1} << 26, "elements");
  }
  std::string variant() const override { return "reduce"; }
  nlohmann::json params() const override { return {{"n", n_}}; }
  hk::Work work() const override { return {static_cast<double>(n_), 8.0 * n_, static_cast<double>(n_), "Melements/s"}; }
  std::vector<std::vector<std::string>> smoke_configs() const override { return {{"--n", "100003"}}; }
  std::uint64_t memory_estimate_bytes(const hk::Context& ctx) const override {
    return static_cast<std::uint64_t>(hk::block_range(n_, ctx.size, ctx.rank).size()) * sizeof(double);
  }

  void setup(hk::Context& ctx) override {
    const hk::Range mine = hk::block_range(n_, ctx.size, ctx.rank);
    x_.resize(static_cast<std::size_t>(mine.size()));
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < mine.size(); ++i) x_[static_cast<std::size_t>(i)] = static_cast<double>(mine.begin + i);
  }

  void run(hk::Context& ctx, hk::PhaseTimer& phases) override {
    double local = 0;
    {
      auto scope = phases.time(hk::Phase::compute);
      const auto count = static_cast<std::int64_t>(x_.size());
#pragma omp parallel for reduction(+ : local) schedule(static)
      for (std::int64_t i = 0; i < count; ++i) local += x_[static_cast<std::size_t>(i)];
    }
    auto scope = phases.time(hk::Phase::comm);
    HK_MPI_CHECK(MPI_Allreduce(&local, &sum_, 1, MPI_DOUBLE, MPI_SUM, ctx.comm));
  }

  hk::Verification verify(hk::Context&) override {
    const double exact = static_cast<double>(n_) * static_cast<double>(n_ - 1) / 2.0;
    return {sum_ == exact, "sum against the closed form n (n - 1) / 2", std::fabs(sum_ - exact), 0.0};
  }
  nlohmann::json result(hk::Context&) override { return {{"sum", sum_}}; }

 private:
  std::int64_t n_ = 1000000;
  std::vector<double> x_;
  double sum_ = 0;
};

HK_REGISTER_KERNEL(VectorSum, "vsum", "vector sum of 0..n-1 against its closed form (structure test)");

}  // namespace
