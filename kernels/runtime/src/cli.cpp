#include "hk/cli.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "hk/errors.hpp"

namespace hk {

namespace {

template <typename Int>
Int parse_integer(const std::string& name, const std::string& text, Int min, Int max) {
  Int value{};
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const auto [end, error] = std::from_chars(first, last, value);
  if (text.empty() || error != std::errc() || end != last || value < min || value > max) {
    throw CLI::ValidationError(name, fmt::format("must be an integer from {} to {} (got '{}')", min, max, text));
  }
  return value;
}

template <typename Int>
CLI::Option* add_integer(CLI::App& app, const std::string& name, Int& target, Int min, Int max,
                         const std::string& description) {
  auto* option = app.add_option_function<std::string>(
      name, [&target, name, min, max](const std::string& text) { target = parse_integer<Int>(name, text, min, max); },
      fmt::format("{} [{}..{}]", description, min, max));
  option->type_name("INT");
  return option;
}

}  // namespace

CLI::Option* add_int_option(CLI::App& app, const std::string& name, std::int64_t& target, std::int64_t min,
                            std::int64_t max, const std::string& description) {
  return add_integer<std::int64_t>(app, name, target, min, max, description)->default_str(std::to_string(target));
}

CLI::Option* add_int_option(CLI::App& app, const std::string& name, int& target, int min, int max,
                            const std::string& description) {
  return add_integer<int>(app, name, target, min, max, description)->default_str(std::to_string(target));
}

CLI::Option* add_uint64_option(CLI::App& app, const std::string& name, std::uint64_t& target, std::uint64_t min,
                               std::uint64_t max, const std::string& description) {
  return add_integer<std::uint64_t>(app, name, target, min, max, description)->default_str(std::to_string(target));
}

CLI::Option* add_real_option(CLI::App& app, const std::string& name, double& target, double min, double max,
                             bool min_exclusive, const std::string& description) {
  auto* option = app.add_option_function<std::string>(
      name,
      [&target, name, min, max, min_exclusive](const std::string& text) {
        double value = 0;
        const char* last = text.data() + text.size();
        const auto [end, error] = std::from_chars(text.data(), last, value);
        const bool below = min_exclusive ? !(value > min) : !(value >= min);
        if (text.empty() || error != std::errc() || end != last || !std::isfinite(value) || below || value > max) {
          throw CLI::ValidationError(
              name, fmt::format("must be a number in {}{}, {}] (got '{}')", min_exclusive ? "(" : "[", min, max, text));
        }
        target = value;
      },
      description);
  option->type_name("REAL")->default_str(fmt::format("{}", target));
  return option;
}

void add_common_options(CLI::App& app, CommonOptions& common, bool with_threads) {
  if (with_threads) {
    add_int_option(app, "--threads", common.threads, 1, 4096,
                   "OpenMP threads per rank (default: OMP_NUM_THREADS, else 1)")
        ->default_str("OMP_NUM_THREADS or 1")
        ->group("Run");
  }
  add_int_option(app, "--reps", common.reps, 1, 1000000, "timed repetitions")->group("Run");
  add_int_option(app, "--warmup", common.warmup, 0, 1000000, "untimed warm-up repetitions")->group("Run");
  add_uint64_option(app, "--seed", common.seed, 0, std::numeric_limits<std::uint64_t>::max(),
                    "seed of the input data / random streams")
      ->group("Run");
  app.add_option("--out", common.out, "append the run record to this JSONL file")->type_name("FILE")->group("Record");
  app.add_option("--csv", common.csv, "append the flattened record to this CSV file (default: --out with .csv)")
      ->type_name("FILE")
      ->group("Record");
  app.add_flag("--strict-placement", common.strict_placement,
               "fail the run when placement warnings occur (oversubscription, shared single CPU)")
      ->group("Run");
}

std::unique_ptr<KernelCli> make_kernel_cli(const std::string& program_name) {
  auto cli = std::make_unique<KernelCli>();
  cli->app = std::make_unique<CLI::App>("hybridkit kernel runner: one kernel configuration, launched by mpirun/srun",
                                        program_name);
  cli->app->require_subcommand(1);
  cli->list = cli->app->add_subcommand("list", "list the kernels and their options");
  for (const auto& info : Registry::instance().kernels()) {
    auto kernel = info.make();
    CLI::App* sub = cli->app->add_subcommand(info.name, info.description);
    kernel->add_options(*sub);
    add_common_options(*sub, cli->common);
    cli->kernels.emplace_back(info.name, std::move(kernel));
  }
  return cli;
}

Kernel* KernelCli::selected(std::string* name) const {
  for (const auto& [kernel_name, kernel] : kernels) {
    if (app->got_subcommand(kernel_name)) {
      if (name) *name = kernel_name;
      return kernel.get();
    }
  }
  return nullptr;
}

std::string kernel_list_text(const KernelCli& cli) {
  std::ostringstream text;
  text << "Kernels (" << cli.kernels.size() << "):\n";
  for (const auto& [name, kernel] : cli.kernels) {
    const CLI::App* sub = cli.app->get_subcommand(name);
    text << "\n" << name << ": " << sub->get_description() << "\n";
    for (const CLI::Option* option : sub->get_options()) {
      if (option->get_group() == "Run" || option->get_group() == "Record" || option->get_name() == "--help") continue;
      if (option->get_lnames().empty()) continue;
      text << fmt::format("  --{:<16} {}", option->get_lnames().front(), option->get_description());
      if (!option->get_default_str().empty()) text << " (default " << option->get_default_str() << ")";
      text << "\n";
    }
  }
  text << "\nEvery kernel also takes: --threads --reps --warmup --seed --out --csv --strict-placement\n";
  return text.str();
}

}  // namespace hk
