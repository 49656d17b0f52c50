#include "hk/cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "hk/errors.hpp"
#include "hk/json_text.hpp"

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
    add_int_option(app, "--threads", common.threads, 1, kMaxThreads,
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
  cli->list->add_flag("--smoke", cli->list_smoke,
                      "one line per smoke configuration, KERNEL ARGS... (what the mix tests, the TSan run and the "
                      "CLI fuzz seeds run)");
  for (const auto& info : Registry::instance().kernels()) {
    auto kernel = info.make();
    CLI::App* sub = cli->app->add_subcommand(info.name, info.description);
    kernel->add_options(*sub);
    add_common_options(*sub, cli->common);
    // Only hk-kernel takes it (for hk and the batch scripts to pass the ranks they launch): hk's own
    // subcommands register the common options alone.
    add_int_option(*sub, "--expect-ranks", cli->common.expect_ranks, 0, 1 << 24,
                   "exit 3 unless MPI_COMM_WORLD has this many ranks; 0: no check")
        ->group("Launch");
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
      const std::string& group = option->get_group();
      if (group == "Run" || group == "Record" || group == "Launch" || option->get_name() == "--help") continue;
      if (option->get_lnames().empty()) continue;
      text << fmt::format("  --{:<16} {}", option->get_lnames().front(), option->get_description());
      if (!option->get_default_str().empty()) text << " (default " << option->get_default_str() << ")";
      text << "\n";
    }
  }
  text << "\nEvery kernel also takes: --threads --reps --warmup --seed --out --csv --strict-placement\n"
       << "hk-kernel also takes --expect-ranks R (exit 3 unless MPI_COMM_WORLD has R ranks)\n";
  return text.str();
}

std::string kernel_smoke_text(const KernelCli& cli) {
  std::string text;
  for (const auto& [name, kernel] : cli.kernels)
    for (const auto& config : kernel->smoke_configs()) text += fmt::format("{} {}\n", name, fmt::join(config, " "));
  return text;
}

void refuse_empty_values(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    const bool option = word.size() > 1 && word[0] == '-';
    if (option && word.back() == '=' && word.find('=') == word.size() - 1)
      throw UsageError(fmt::format("{}: empty", word.substr(0, word.size() - 1)));
    if (word.empty()) {
      const std::string_view before = i > 1 ? std::string_view(argv[i - 1]) : std::string_view();
      if (!before.empty() && before[0] == '-') throw UsageError(fmt::format("{}: empty", before));
      throw UsageError(fmt::format("argument {}: empty", i));
    }
  }
}

std::string unknown_kernel_message(const std::string& name, bool allow_all) {
  if (Registry::instance().find(name) || (allow_all && name == "all")) return "";
  std::string names;
  for (const auto& known : Registry::instance().names()) {
    if (!names.empty()) names += ", ";
    names += known;
  }
  if (allow_all) names += ", all";
  return fmt::format("unknown kernel '{}'; available: {}", name, names);
}

void parse_kernel_command_line(KernelCli& cli, int argc, const char* const* argv) {
  refuse_empty_values(argc, argv);
  if (argc >= 2 && argv[1][0] != '-' && std::string_view(argv[1]) != "list") {
    const std::string message = unknown_kernel_message(argv[1], /*allow_all=*/false);
    if (!message.empty()) throw UsageError(message + " (or list)");
  }
  if (argc < 2) {
    throw UsageError(fmt::format("a kernel is required: hk-kernel KERNEL [options], or hk-kernel list; available: {}",
                                 fmt::join(Registry::instance().names(), ", ")));
  }
  cli.app->parse(argc, argv);
}

int resolve_threads(int option) {
  if (option > 0) return option;
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env == nullptr || *env == '\0') return 1;
  const std::string_view text = env;
  std::string_view first = text.substr(0, text.find(','));  // a nested list: the outer level
  while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
  while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
  int value = 0;
  const auto [end, error] = std::from_chars(first.data(), first.data() + first.size(), value);
  if (first.empty() || error != std::errc() || end != first.data() + first.size() || value < 1 ||
      value > kMaxThreads) {
    throw UsageError(fmt::format("OMP_NUM_THREADS: must be an integer from 1 to {} (got '{}')", kMaxThreads,
                                 utf8_escaped(text)));
  }
  return value;
}

}  // namespace hk
