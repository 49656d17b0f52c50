// Monte Carlo kernel: pi by darts and a European call under geometric Brownian motion, with
// the counter-based Philox4x32-10 generator. Sample i of the run always draws counter i.
#include "montecarlo.hpp"

#include <omp.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <memory>
#include <numbers>
#include <vector>

#include "hk/cli.hpp"
#include "hk/decomposition.hpp"
#include "hk/errors.hpp"
#include "hk/kernel.hpp"
#include "hk/mpi_env.hpp"
#include "hk/record.hpp"
#include "philox.hpp"

namespace hk::mc {

namespace {
constexpr std::uint64_t kHitLimit = 1ull << 62;

inline bool dart_hits(const rng::Counter& w) {
  const std::uint64_t x = w[0] >> 1, y = w[1] >> 1;
  return x * x + y * y < kHitLimit;
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }
}  // namespace

std::uint64_t pi_hits_reference(std::uint64_t seed, std::uint64_t first, std::uint64_t count) {
  const rng::Key key = rng::key_from_seed(seed);
  std::uint64_t hits = 0;
  for (std::uint64_t i = first; i < first + count; ++i) hits += dart_hits(rng::philox4x32(rng::counter_for(i), key));
  return hits;
}

Moments option_block_reference(const OptionParams& option, std::uint64_t seed, std::uint64_t first,
                               std::uint64_t count) {
  const rng::Key key = rng::key_from_seed(seed);
  const CallPayoff payoff(option);
  Moments moments;
  for (std::uint64_t i = first; i < first + count; ++i) {
    const rng::Counter w = rng::philox4x32(rng::counter_for(i), key);
    add_payoff(moments, payoff(w[0], w[1], w[2], w[3]));
  }
  return moments;
}

double black_scholes_call(const OptionParams& o) {
  const double root_t = std::sqrt(o.maturity);
  const double d1 = (std::log(o.spot / o.strike) + (o.rate + 0.5 * o.volatility * o.volatility) * o.maturity) /
                    (o.volatility * root_t);
  const double d2 = d1 - o.volatility * root_t;
  return o.spot * normal_cdf(d1) - o.strike * std::exp(-o.rate * o.maturity) * normal_cdf(d2);
}

double discounted_payoff_variance(const OptionParams& o) {
  // E[(S-K)+] and E[((S-K)+)^2] under the risk-neutral lognormal law, then discount.
  const double root_t = std::sqrt(o.maturity);
  const double v_root_t = o.volatility * root_t;
  const double d1 = (std::log(o.spot / o.strike) + (o.rate + 0.5 * o.volatility * o.volatility) * o.maturity) / v_root_t;
  const double d2 = d1 - v_root_t;
  const double growth = std::exp(o.rate * o.maturity);
  const double first = o.spot * growth * normal_cdf(d1) - o.strike * normal_cdf(d2);
  const double second = o.spot * o.spot * std::exp((2 * o.rate + o.volatility * o.volatility) * o.maturity) *
                            normal_cdf(d1 + v_root_t) -
                        2 * o.strike * o.spot * growth * normal_cdf(d1) + o.strike * o.strike * normal_cdf(d2);
  return std::exp(-2 * o.rate * o.maturity) * std::max(0.0, second - first * first);
}

namespace {

class MonteCarlo final : public Kernel {
 public:
  void add_options(CLI::App& app) override {
    app.add_option("--problem", problem_, "pi: darts in the unit square; option: European call (Black-Scholes)")
        ->check(CLI::IsMember({"pi", "option"}))
        ->capture_default_str();
    add_uint64_option(app, "--samples", samples_, 1, 1ull << 62, "samples per repetition (whole run)");
    option_flags_ = {add_real_option(app, "--spot", option_.spot, 0, 1e12, true, "option: spot price S0"),
                     add_real_option(app, "--strike", option_.strike, 0, 1e12, true, "option: strike K"),
                     add_real_option(app, "--rate", option_.rate, -1, 1, false, "option: risk-free rate r (per year)"),
                     add_real_option(app, "--volatility", option_.volatility, 0, 5, true,
                                     "option: volatility sigma (per sqrt(year))"),
                     add_real_option(app, "--maturity", option_.maturity, 0, 100, true, "option: maturity T (years)")};
  }

  void check_options() const override {
    if (problem_ != "option")
      for (const CLI::Option* flag : option_flags_)
        if (flag->count() > 0)
          throw UsageError(fmt::format("{}: applies to --problem option only (got --problem {})", flag->get_name(),
                                       problem_));
    if (problem_ == "option") check_option_is_verifiable();
    check_samples_can_verify();
    // Block sums travel in one MPI_Gatherv, whose counts are ints.
    const std::uint64_t max_option_samples = static_cast<std::uint64_t>(std::numeric_limits<int>::max()) * kBlockSamples;
    if (problem_ == "option" && samples_ > max_option_samples)
      throw UsageError(fmt::format("--samples: at most {} with --problem option (got {})", max_option_samples, samples_));
  }

  std::string variant() const override { return problem_; }

  // With too few samples 5 standard errors exceed the answer itself, and an estimate of 0 (no
  // hits, no payoff) would pass: refuse them, naming the least number that can be verified.
  void check_samples_can_verify() const {
    const double exact = problem_ == "pi" ? std::numbers::pi : black_scholes_call(option_);
    const double variance = problem_ == "pi" ? 16 * (std::numbers::pi / 4) * (1 - std::numbers::pi / 4)
                                             : discounted_payoff_variance(option_);
    const double tolerance = 5 * std::sqrt(variance / static_cast<double>(samples_));
    if (tolerance < exact) return;
    if (!(exact > 0))
      throw UsageError(fmt::format("{}: the exact price is {} in double precision, so no estimate can be verified (an "
                                   "estimate of 0 would pass); use a strike nearer the spot or a shorter maturity",
                                   option_text(), exact));
    const double least = std::floor(25 * variance / (exact * exact)) + 1;
    throw UsageError(fmt::format("--samples {}: too few to verify --problem {}: 5 standard errors ({:.4g}) would not "
                                 "exclude an estimate of 0 (exact {:.6g}); use at least {:.0f} samples",
                                 samples_, problem_, tolerance, exact, least));
  }

  // The check compares the estimate with the closed form within 5 exact standard errors; where
  // either is not a finite double (e^((2r + sigma^2) T) overflows), no estimate could be judged.
  void check_option_is_verifiable() const {
    const double exact = black_scholes_call(option_);
    const double variance = discounted_payoff_variance(option_);
    if (std::isfinite(exact) && std::isfinite(variance)) return;
    const double exponent = (2 * option_.rate + option_.volatility * option_.volatility) * option_.maturity;
    throw UsageError(fmt::format(
        "{}: the exact price ({}) or its payoff variance ({}) is not a finite number, so no estimate can be verified; "
        "(2 rate + volatility^2) * maturity = {:.4g} must stay below about {:.0f} (709 - 2 ln spot)",
        option_text(), exact, variance, exponent, 709.0 - 2 * std::log(option_.spot)));
  }

  std::string option_text() const {
    return fmt::format("--spot {} --strike {} --rate {} --volatility {} --maturity {}", option_.spot, option_.strike,
                       option_.rate, option_.volatility, option_.maturity);
  }

  nlohmann::json params() const override {
    nlohmann::json p = {{"problem", problem_}, {"samples", samples_}, {"block_samples", kBlockSamples}};
    if (problem_ == "option") {
      p["spot"] = option_.spot;
      p["strike"] = option_.strike;
      p["rate"] = option_.rate;
      p["volatility"] = option_.volatility;
      p["maturity"] = option_.maturity;
    }
    return p;
  }

  Work work() const override {
    Work w;
    w.items = static_cast<double>(samples_);
    w.bytes = 0;  // counter-based: no random numbers are stored or moved
    w.rate_unit = "Msamples/s";
    return w;
  }

  std::vector<std::vector<std::string>> smoke_configs() const override {
    return {{"--problem", "pi", "--samples", "2000000"}, {"--problem", "option", "--samples", "300000"}};
  }

  std::vector<std::string> weak_scaling_args(double factor) const override {
    return {"--samples", fmt::format("{}", static_cast<std::uint64_t>(std::llround(samples_ * factor)))};
  }

  std::uint64_t memory_estimate_bytes(const Context& ctx) const override {
    if (problem_ != "option") return 0;
    // Two doubles per block of this rank, and rank 0 gathers two doubles per block of the run.
    const std::uint64_t blocks = (samples_ + kBlockSamples - 1) / kBlockSamples;
    const std::uint64_t mine = static_cast<std::uint64_t>(block_range(static_cast<std::int64_t>(blocks), ctx.size, ctx.rank).size());
    return 16 * mine + (ctx.rank == 0 ? 16 * blocks : 0);
  }

  void setup(Context& ctx) override {
    blocks_ = (samples_ + kBlockSamples - 1) / kBlockSamples;
    mine_ = block_range(static_cast<std::int64_t>(blocks_), ctx.size, ctx.rank);
    if (problem_ == "option") {
      // Left uninitialised (a vector would zero them on this thread), so the threads that fill
      // them in run() write their pages first (first touch).
      block_sum_ = std::make_unique_for_overwrite<double[]>(static_cast<std::size_t>(mine_.size()));
      block_sum_sq_ = std::make_unique_for_overwrite<double[]>(static_cast<std::size_t>(mine_.size()));
    }
  }

  void run(Context& ctx, PhaseTimer& phases) override {
    const std::uint64_t seed = ctx.common->seed;
    const std::int64_t count = mine_.size();
    if (problem_ == "pi") {
      std::uint64_t local_hits = 0;
      {
        auto scope = phases.time(Phase::compute);
#pragma omp parallel for schedule(static) reduction(+ : local_hits)
        for (std::int64_t b = 0; b < count; ++b) {
          const std::uint64_t first = static_cast<std::uint64_t>(mine_.begin + b) * kBlockSamples;
          local_hits += pi_hits(seed, first, std::min<std::uint64_t>(kBlockSamples, samples_ - first));
        }
      }
      auto scope = phases.time(Phase::comm);
      HK_MPI_CHECK(MPI_Allreduce(&local_hits, &hits_, 1, MPI_UINT64_T, MPI_SUM, ctx.comm));
      return;
    }
    {
      auto scope = phases.time(Phase::compute);
#pragma omp parallel for schedule(static)
      for (std::int64_t b = 0; b < count; ++b) {
        const std::uint64_t first = static_cast<std::uint64_t>(mine_.begin + b) * kBlockSamples;
        const Moments m = option_block(option_, seed, first, std::min<std::uint64_t>(kBlockSamples, samples_ - first));
        block_sum_[static_cast<std::size_t>(b)] = m.sum;
        block_sum_sq_[static_cast<std::size_t>(b)] = m.sum_sq;
      }
    }
    auto scope = phases.time(Phase::comm);
    // Rank 0 adds the block sums of the whole run in block order, then shares the totals.
    std::vector<int> counts, offsets;
    std::vector<double> all_sum, all_sum_sq;
    if (ctx.is_root()) {
      for (int r = 0; r < ctx.size; ++r) {
        const Range range = block_range(static_cast<std::int64_t>(blocks_), ctx.size, r);
        counts.push_back(static_cast<int>(range.size()));
        offsets.push_back(static_cast<int>(range.begin));
      }
      all_sum.resize(blocks_);
      all_sum_sq.resize(blocks_);
    }
    HK_MPI_CHECK(MPI_Gatherv(block_sum_.get(), static_cast<int>(count), MPI_DOUBLE, all_sum.data(), counts.data(),
                             offsets.data(), MPI_DOUBLE, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Gatherv(block_sum_sq_.get(), static_cast<int>(count), MPI_DOUBLE, all_sum_sq.data(),
                             counts.data(), offsets.data(), MPI_DOUBLE, 0, ctx.comm));
    double totals[2] = {0.0, 0.0};
    if (ctx.is_root()) {
      for (std::uint64_t b = 0; b < blocks_; ++b) {
        totals[0] += all_sum[b];
        totals[1] += all_sum_sq[b];
      }
    }
    HK_MPI_CHECK(MPI_Bcast(totals, 2, MPI_DOUBLE, 0, ctx.comm));
    payoff_sum_ = totals[0];
    payoff_sum_sq_ = totals[1];
  }

  Verification verify(Context&) override {
    const Answer a = answer();
    Verification v;
    v.method = problem_ == "pi"
                   ? "|estimate - pi| < 5 standard errors (exact variance of the hit indicator)"
                   : "|estimate - Black-Scholes closed form| < 5 standard errors (exact payoff variance)";
    v.error = std::fabs(a.estimate - a.exact);
    v.tolerance = 5.0 * a.exact_stderr;
    // NaN and infinite values compare false or true by accident: each must be finite to pass.
    v.passed = std::isfinite(a.estimate) && std::isfinite(a.exact) && std::isfinite(v.tolerance) &&
               v.error < v.tolerance;
    return v;
  }

  nlohmann::json result(Context&) override {
    const Answer a = answer();
    nlohmann::json r = {{"estimate", a.estimate},
                        {"estimate_bits", double_bits_hex(a.estimate)},
                        {"exact", a.exact},
                        {"stderr", a.sample_stderr},
                        {"exact_stderr", a.exact_stderr}};
    if (problem_ == "pi") r["hits"] = hits_;
    return r;
  }

  // The SIMD path of the Philox loops (the option's payoffs are scalar on every path).
  nlohmann::json metrics(Context&) override { return {{"isa", montecarlo_isa()}}; }

 private:
  struct Answer {
    double estimate, exact, sample_stderr, exact_stderr;
  };

  Answer answer() const {
    const double n = static_cast<double>(samples_);
    if (problem_ == "pi") {
      const double p_hat = static_cast<double>(hits_) / n;
      const double p = std::numbers::pi / 4;
      return {4.0 * p_hat, std::numbers::pi, 4.0 * std::sqrt(p_hat * (1 - p_hat) / n), 4.0 * std::sqrt(p * (1 - p) / n)};
    }
    const double discount = std::exp(-option_.rate * option_.maturity);
    const double mean = payoff_sum_ / n;
    const double variance = samples_ > 1 ? std::max(0.0, (payoff_sum_sq_ - n * mean * mean) / (n - 1)) : 0.0;
    return {discount * mean, black_scholes_call(option_), discount * std::sqrt(variance / n),
            std::sqrt(discounted_payoff_variance(option_) / n)};
  }

  std::string problem_ = "pi";
  std::uint64_t samples_ = 200'000'000;
  OptionParams option_;
  std::vector<CLI::Option*> option_flags_;  // --spot ... --maturity: --problem option only
  std::uint64_t blocks_ = 0;
  Range mine_;
  std::unique_ptr<double[]> block_sum_, block_sum_sq_;
  std::uint64_t hits_ = 0;
  double payoff_sum_ = 0, payoff_sum_sq_ = 0;
};

HK_REGISTER_KERNEL(MonteCarlo, "montecarlo",
                   "Monte Carlo with Philox4x32-10: pi by darts or a European call; bitwise identical on every mix");

}  // namespace
}  // namespace hk::mc
