#pragma once
#include <string>
#include <utility>
#include <vector>

#include "hk/system.hpp"  // shell_quote

namespace hk {

// One configuration to launch: R ranks x T threads of hk-kernel with the given kernel arguments.
struct LaunchSpec {
  int ranks = 1;
  int threads = 1;
  int nodes = 1;
  int cores_per_node = 1;      // physical cores of a node, for the oversubscription check
  bool oversubscribe = false;  // allowed to exceed the cores (then a slot-based map, no binding)
  std::string launcher = "mpirun";  // mpirun | srun
  std::string launcher_path;        // empty: the launcher's name, found on PATH
  std::string kernel_exe;           // hk-kernel
  std::string kernel;               // kernel name
  std::vector<std::string> kernel_args;
};

struct LaunchCommand {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // set for the child on top of ours
  // A shell line that reproduces the launch exactly (environment assignments first).
  std::string display() const;
};

// True when R x T exceeds the cores of the nodes.
bool oversubscribed(const LaunchSpec& spec);

// The hybrid binding: each rank gets T consecutive cores (Open MPI: --map-by ppr:R:node:PE=T
// --bind-to core; Slurm: srun -c T --cpu-bind=cores), threads are pinned one per core inside
// it (OMP_PLACES=cores, OMP_PROC_BIND=close). Oversubscribed: slot map, no binding, threads unbound.
// Throws UsageError when R x T exceeds the cores without `oversubscribe`.
LaunchCommand compose_launch(const LaunchSpec& spec);

// hk-kernel next to this executable (the build tree or an install), else on PATH.
std::string default_kernel_exe();

// What execve needs for a command: its arguments and our environment with the command's on top.
// Owns the strings the pointer arrays point into. Movable (the strings stay where they are), not
// copyable: a copy's pointers would still point into the original.
struct ExecStrings {
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;  // null-terminated
  ExecStrings() = default;
  ExecStrings(ExecStrings&&) = default;
  ExecStrings& operator=(ExecStrings&&) = default;
  ExecStrings(const ExecStrings&) = delete;
  ExecStrings& operator=(const ExecStrings&) = delete;
};
ExecStrings exec_strings(const LaunchCommand& command);

// Runs the command and waits. With `own_group` the child leads a new process group (so a whole
// mpirun with its ranks can be killed at once) and SIGINT/SIGTERM received meanwhile are
// forwarded to that group. Returns the exit status, or 128 + signal number if it was killed.
int run_and_wait(const LaunchCommand& command, bool own_group);

}  // namespace hk
