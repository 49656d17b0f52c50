// hk: the front end. `hk list`, `hk run KERNEL --ranks R --threads T [kernel options]`.
// It validates everything before launching, composes the mpirun (or srun) command with explicit
// hybrid binding, prints it, runs it and returns its exit status.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <set>

#include "hk/build_info.hpp"
#include "hk/cli.hpp"
#include "hk/errors.hpp"
#include "launch.hpp"
#include "topology.hpp"

namespace {

struct RunOptions {
  int ranks = 1;
  int threads = 0;
  int nodes = 1;
  int cores = 0;
  bool oversubscribe = false;
  bool dry_run = false;
  std::string launcher = "mpirun";
  std::string launcher_path;
  std::string kernel_exe;
};

// Options that belong to hk itself; everything else is forwarded to hk-kernel.
const std::set<std::string> kHkOnly = {"--ranks", "--threads", "--nodes", "--cores", "--oversubscribe",
                                       "--dry-run", "--launcher", "--launcher-path", "--kernel-exe", "--help"};

void add_run_options(CLI::App& app, RunOptions& o) {
  hk::add_int_option(app, "--ranks", o.ranks, 1, 1 << 20, "MPI ranks (processes)")->group("Mix");
  hk::add_int_option(app, "--threads", o.threads, 1, 4096, "OpenMP threads per rank")
      ->default_str("OMP_NUM_THREADS or 1")
      ->group("Mix");
  hk::add_int_option(app, "--nodes", o.nodes, 1, 1 << 16, "nodes to spread the ranks over")->group("Mix");
  hk::add_int_option(app, "--cores", o.cores, 1, 1 << 20, "physical cores per node")
      ->default_str("hwloc's count")
      ->group("Mix");
  app.add_flag("--oversubscribe", o.oversubscribe, "allow ranks x threads beyond the cores (no binding)")->group("Mix");
  app.add_flag("--dry-run", o.dry_run, "print the command, do not run it")->group("Launch");
  app.add_option("--launcher", o.launcher, "mpirun or srun")
      ->check(CLI::IsMember({"mpirun", "srun"}))
      ->capture_default_str()
      ->group("Launch");
  app.add_option("--launcher-path", o.launcher_path, "path of mpirun/srun (default: found on PATH)")->group("Launch");
  app.add_option("--kernel-exe", o.kernel_exe, "path of hk-kernel (default: next to hk)")->group("Launch");
}

// The kernel options as given, in --name=value form (safe for negative numbers).
std::vector<std::string> forwarded_args(const CLI::App& sub) {
  std::vector<std::string> args;
  for (const CLI::Option* option : sub.get_options()) {
    if (option->count() == 0 || option->get_lnames().empty()) continue;
    const std::string name = "--" + option->get_lnames().front();
    if (kHkOnly.count(name)) continue;
    if (option->get_type_size() == 0) {
      args.push_back(name);
      continue;
    }
    for (const auto& value : option->results()) args.push_back(name + "=" + value);
  }
  return args;
}

int usage_error(const std::string& message) {
  std::cerr << "hk: error: " << message << "\n";
  return hk::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  auto kernels = hk::make_kernel_cli("hk-kernel");  // the same kernel options hk-kernel parses
  CLI::App app{fmt::format("hybridkit {}: MPI/OpenMP hybrid workloads: how to split cores between ranks and threads",
                           hk::build::version),
               "hk"};
  app.require_subcommand(1);
  CLI::App* list = app.add_subcommand("list", "list the kernels and their options");
  CLI::App* run = app.add_subcommand("run", "run one kernel with R ranks x T threads (composes and runs mpirun)");
  run->require_subcommand(1);
  RunOptions options;
  for (const auto& [name, kernel] : kernels->kernels) {
    CLI::App* sub = run->add_subcommand(name, kernels->app->get_subcommand(name)->get_description());
    add_run_options(*sub, options);
    kernel->add_options(*sub);
    // Common options are validated here and forwarded verbatim; --threads is hk's (it sets the binding).
    static std::vector<std::unique_ptr<hk::CommonOptions>> validated;
    validated.push_back(std::make_unique<hk::CommonOptions>());
    hk::add_common_options(*sub, *validated.back(), /*with_threads=*/false);
  }

  // A clear message for an unknown kernel, before CLI11's generic one.
  if (argc >= 3 && std::string(argv[1]) == "run" && argv[2][0] != '-' && !hk::Registry::instance().find(argv[2])) {
    std::string names;
    for (const auto& name : hk::Registry::instance().names()) names += (names.empty() ? "" : ", ") + name;
    return usage_error(fmt::format("unknown kernel '{}'; available: {}", argv[2], names));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(e.what());
  }

  if (list->parsed()) {
    std::cout << hk::kernel_list_text(*kernels);
    return hk::kExitOk;
  }

  std::string kernel_name;
  CLI::App* sub = nullptr;
  for (CLI::App* candidate : run->get_subcommands()) {
    sub = candidate;
    kernel_name = candidate->get_name();
  }
  try {
    for (const auto& [name, kernel] : kernels->kernels)
      if (name == kernel_name) kernel->check_options();
    if (options.threads == 0) {
      const char* env = std::getenv("OMP_NUM_THREADS");
      options.threads = env && std::atoi(env) > 0 ? std::atoi(env) : 1;
    }
    hk::LaunchSpec spec;
    spec.ranks = options.ranks;
    spec.threads = options.threads;
    spec.nodes = options.nodes;
    spec.cores_per_node = options.cores > 0 ? options.cores : hk::read_topology().cores;
    spec.oversubscribe = options.oversubscribe;
    spec.launcher = options.launcher;
    spec.launcher_path = options.launcher_path;
    spec.kernel_exe = options.kernel_exe;
    spec.kernel = kernel_name;
    spec.kernel_args = forwarded_args(*sub);
    const hk::LaunchCommand command = hk::compose_launch(spec);
    if (hk::oversubscribed(spec)) {
      std::cerr << fmt::format("hk: WARNING: {} ranks x {} threads oversubscribe {} core(s) per node: ranks and "
                               "threads are left unbound and timings are not representative\n",
                               spec.ranks, spec.threads, spec.cores_per_node);
    }
    std::cout << "hk: " << command.display() << "\n" << std::flush;
    if (options.dry_run) return hk::kExitOk;
    return hk::run_and_wait(command, /*own_group=*/false);
  } catch (const hk::UsageError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    std::cerr << "hk: error: " << e.what() << "\n";
    return hk::kExitRuntime;
  }
}
