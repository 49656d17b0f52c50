#pragma once
// Configurations: one planned run of one kernel, with everything hk knows before it starts —
// the kernel's variant and params as hk-kernel will record them, the repetitions and seed, the
// mix and nodes, the validated launch, and the resume key. Built the same way for hk run (one),
// hk sweep (many) and hk slurm submit (one per array task).
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hk/kernel.hpp"
#include "launch.hpp"
#include "plan.hpp"

namespace hk {
struct LaunchOptions;
}

namespace hk::pipeline {

struct ExecProgram;  // exec_run.hpp: a user's own program (hk run/sweep --exec)

// What the kernel's own command line makes of its options, parsed in-process exactly as hk-kernel
// will parse them (so the variant, params and resume key are the ones it records).
struct KernelDescription {
  std::string variant;
  nlohmann::json params;
  CommonOptions common;                // --reps, --warmup, --seed as given (or their defaults)
  Work work;
  std::vector<std::string> weak_args;  // options that scale the problem (weak_factor != 1)
};
// UsageError "KERNEL: ..." for options the kernel refuses.
KernelDescription describe_kernel(const std::string& kernel, const std::vector<std::string>& args,
                                  double weak_factor = 1.0);

// Kernel options with `overrides` ("--name value" pairs or "--name=value") replacing the same names.
std::vector<std::string> merge_args(const std::vector<std::string>& base, const std::vector<std::string>& overrides);

// What every configuration of one command shares.
struct LaunchSettings {
  // How every launch of the command is made: the launcher, the cores per node the plan's budget is
  // made of (--cores, else this machine's; 0: not known here), --oversubscribe, the hosts, and
  // program = {hk-kernel}. Each configuration sets its own ranks, threads and nodes.
  LaunchSpec launch;
  int machine_cores = 0;  // this machine's physical cores (hwloc), its hardware threads with --smt
  std::vector<std::string> warnings;  // about the options (--smt on a node without SMT)
};
// From the command's options; `machine_cores` is this machine's physical core count (hwloc). The
// node (launch.node) is --topology's, else this machine unless --cores asks for more than it has;
// the budget (launch.cores_per_node) is --cores, else that node's cores (hardware threads with
// --smt). UsageError for a --topology file hwloc cannot read, or --cores beyond that node.
LaunchSettings launch_settings(const LaunchOptions& options, int machine_cores);

// hk-kernel next to this executable (the build tree or an install), else on PATH.
std::string default_kernel_exe();

struct Configuration {
  std::string kernel;             // "exec" for a user's own program
  std::string variant;            // exec: the application's --name
  nlohmann::json params;
  CommonOptions common;           // reps, warmup, seed of this run (exec: reps = --repeat)
  Work work;
  std::vector<std::string> args;  // the kernel's options for hk-kernel (not --threads/--out/--csv)
  PlannedRun run;                 // mix, nodes, families, weak factor
  LaunchSpec spec;                // validated; spec.program is set by compose()
  bool oversubscribed = false;    // unbound: more ranks x threads than the cores
  // Where the ranks sit on a node whose topology is known (docs/big-nodes.md), and the warning
  // when they straddle its domains ("" when aligned or not known).
  std::optional<topology::Layout> layout;
  std::string straddle_warning;
  std::string key;                // resume key (resume.hpp)
  // A user's own program (--exec): null for a kernel.
  std::shared_ptr<const ExecProgram> exec;
  // Set by compose(): where hk-kernel appends its own record (exec: where the wrappers write their
  // rank files, observe_dir), and the exact command.
  std::string record_path, csv_path, observe_dir;
  LaunchCommand command;
  // Where the executor sends the launch's stdout and stderr (empty: ours).
  std::string stdout_path, stderr_path;

  std::string label() const;  // "montecarlo [pi] 2x1", "... 4x1 on 2 nodes", "... (weak, x0.5)"
};

// A configuration from what is known of its program: the launch for `run` validated (UsageError as
// it is), the resume key computed. make_configuration(s) and the exec configurations use it.
Configuration configuration_from(const std::string& kernel, const std::vector<std::string>& args,
                                 const PlannedRun& run, const KernelDescription& d, const LaunchSettings& settings);

// One configuration of `kernel` for `run`; its launch is validated (UsageError as it is).
Configuration make_configuration(const std::string& kernel, const std::vector<std::string>& args,
                                 const PlannedRun& run, const LaunchSettings& settings);

// Every kernel x run. Weak runs of a kernel that declares no weak scaling are left out with a
// warning, as are the settings' warnings and each mix's straddle warning (once); a launch rule
// broken by a mix is a UsageError "mix RxT: ...".
struct ConfigurationSet {
  std::vector<Configuration> list;
  std::vector<std::string> warnings;
};
ConfigurationSet make_configurations(const std::vector<std::string>& kernels, const std::vector<std::string>& args,
                                     const std::vector<PlannedRun>& runs, const LaunchSettings& settings);

// Writes the launch command, hk-kernel appending its own record to `record_path` and `csv_path`.
void compose(Configuration& config, const std::string& record_path, const std::string& csv_path);

// The record of this configuration as far as it is known before it runs: every field, status
// "error", no measurements (the runtime's make_record). The finisher appends it for a launch that
// left no record of its own; the resume key is computed from it.
nlohmann::json expected_record(const Configuration& config, const std::string& started_at);

}  // namespace hk::pipeline
