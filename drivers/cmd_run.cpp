// hk run KERNEL --ranks R --threads T [kernel options]: validates everything first, composes the
// mpirun (or srun) command with explicit hybrid binding, prints it, runs it, returns its status.
// hk-kernel prints the human summary and appends the record.
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "hk/errors.hpp"
#include "mix_options.hpp"

namespace {

struct RunState {
  int ranks = 1;
  int threads = 0;
  hk::LaunchOptions launch;
  std::unique_ptr<hk::KernelCli> kernels;
};

int run_kernel(RunState& s, CLI::App& run) {
  CLI::App* sub = run.get_subcommands().front();
  const std::string kernel_name = sub->get_name();
  for (const auto& [name, kernel] : s.kernels->kernels)
    if (name == kernel_name) kernel->check_options();
  s.threads = hk::resolve_threads(s.threads);
  hk::LaunchSpec spec;
  spec.ranks = s.ranks;
  spec.threads = s.threads;
  spec.nodes = s.launch.nodes;
  spec.cores_per_node = hk::cores_per_node(s.launch);
  spec.oversubscribe = s.launch.oversubscribe;
  spec.launcher = s.launch.launcher;
  spec.launcher_path = s.launch.launcher_path;
  spec.kernel_exe = s.launch.kernel_exe;
  spec.kernel = kernel_name;
  spec.kernel_args = hk::forwarded_args(*sub);
  const hk::LaunchCommand command = hk::compose_launch(spec);
  if (hk::oversubscribed(spec)) {
    std::cerr << fmt::format(
        "hk: WARNING: {} ranks x {} threads oversubscribe {} core(s) per node: ranks and threads are left unbound "
        "and timings are not representative\n",
        spec.ranks, spec.threads, spec.cores_per_node);
  }
  std::cout << "hk: " << command.display() << "\n" << std::flush;
  if (s.launch.dry_run) return hk::kExitOk;
  return hk::run_and_wait(command, /*own_group=*/false);
}

std::function<int()> setup_run(CLI::App& run) {
  auto state = std::make_shared<RunState>();
  run.require_subcommand(1);
  state->kernels = hk::add_kernel_subcommands(run, /*with_threads=*/false);
  for (CLI::App* sub : run.get_subcommands({})) {
    hk::add_int_option(*sub, "--ranks", state->ranks, 1, 1 << 20, "MPI ranks (processes)")->group("Mix");
    hk::add_int_option(*sub, "--threads", state->threads, 1, 4096, "OpenMP threads per rank")
        ->default_str("OMP_NUM_THREADS or 1")
        ->group("Mix");
    hk::add_launch_options(*sub, state->launch);
  }
  return [state, &run] { return run_kernel(*state, run); };
}

HK_REGISTER_COMMAND("run", "run one kernel with R ranks x T threads (composes, prints and runs mpirun)", setup_run);

}  // namespace
