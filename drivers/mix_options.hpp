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
  int nodes = 1;           // hk run: --nodes N
  std::string nodes_list;  // hk sweep: --nodes N1,N2,... ("": 1)
  int cores = 0;  // physical cores per node; 0: the hosts' slots, else hwloc's count
  std::string hosts;          // --hosts h1:N,h2:N
  std::string hostfile;       // --hostfile FILE (Open MPI's syntax)
  std::string launcher_args;  // --launcher-args "...": site flags passed to the launcher as they are
  bool oversubscribe = false;
  bool dry_run = false;
  std::string launcher = "mpirun";
  std::string launcher_path;
  std::string launcher_dialect;  // empty: detected from the launcher's --version
  std::string srun_mpi;          // empty: $HK_SRUN_MPI, else pmix
  std::string kernel_exe;
  // The node's topology (docs/big-nodes.md): an hwloc XML file of the node to plan for (empty:
  // this machine), hardware threads as the cores (--smt / --cpus hwthreads), only aligned mixes.
  std::string topology;
  bool smt = false;
  std::string cpus = "cores";
  bool aligned = false;
};

// How --nodes is given: one count (hk run) or a list of counts to sweep (hk sweep).
enum class NodesOption { one, list };
// --nodes --cores --hosts --hostfile --oversubscribe --dry-run --launcher --launcher-path
// --launcher-dialect --srun-mpi --launcher-args --kernel-exe --topology --smt --cpus --aligned
void add_launch_options(CLI::App& app, LaunchOptions& options, NodesOption nodes = NodesOption::one);
// The node counts asked for: --nodes N, or the --nodes list (UsageError naming --nodes).
std::vector<int> node_counts(const LaunchOptions& options);
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
