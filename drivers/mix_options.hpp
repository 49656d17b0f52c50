#pragma once
// Options shared by the commands that launch kernels (hk run, hk sweep): the mix, the launcher,
// and how kernel options are passed on to hk-kernel.
#include <CLI/CLI.hpp>

#include <set>
#include <string>
#include <vector>

#include "hk/cli.hpp"
#include "launch.hpp"

namespace hk {

struct LaunchOptions {
  int nodes = 1;
  int cores = 0;  // physical cores per node; 0: hwloc's count
  bool oversubscribe = false;
  bool dry_run = false;
  std::string launcher = "mpirun";
  std::string launcher_path;
  std::string kernel_exe;
};

// --nodes --cores --oversubscribe --dry-run --launcher --launcher-path --kernel-exe
void add_launch_options(CLI::App& app, LaunchOptions& options);
// Names (with "--") of every option hk itself consumes; all others are hk-kernel's.
const std::set<std::string>& hk_only_options();
// The kernel options given on `app`, as --name=value words for hk-kernel (safe for negatives).
std::vector<std::string> forwarded_args(const CLI::App& app);
// The same without --out and --csv: the kernel's own options, the record files being the pipeline's.
std::vector<std::string> kernel_args(const CLI::App& app);
// Mirrors each kernel's options as a subcommand of `parent` (for validation before launch);
// the returned CLI keeps the kernels the options are bound to.
std::unique_ptr<KernelCli> add_kernel_subcommands(CLI::App& parent, bool with_threads);

}  // namespace hk
