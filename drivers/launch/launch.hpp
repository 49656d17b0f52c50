#pragma once
// Launch composition: a LaunchSpec (what to start, R ranks x T threads on N nodes) is validated
// once (validate_launch: the one place the launch rules live), placed (Placement), and turned into
// a command line by the launcher's dialect (dialect.hpp: one class per launcher family). Every
// command that launches (hk run, hk sweep, hk slurm submit) goes through compose_launch.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hk/simd.hpp"
#include "hk/system.hpp"  // shell_quote
#include "hosts.hpp"
#include "layout.hpp"     // topology::Node, Layout, CpuUnit

namespace hk {

// With --oversubscribe, ranks x threads of a node may exceed its cores up to this factor; beyond
// it a run tells nothing about the mix and only floods the machine (mpirun -np 1048576).
inline constexpr int kMaxOversubscription = 16;

// One launch: R ranks x T threads of `program` on N nodes.
struct LaunchSpec {
  int ranks = 1;
  int threads = 1;
  int nodes = 1;
  int cores_per_node = 0;           // physical cores of a node; 0: not known here (not checked)
  bool oversubscribe = false;       // allowed to exceed the cores (then a slot map, no binding)
  std::string launcher = "mpirun";  // the launcher's name as the user gives it (--launcher)
  std::string launcher_path;        // empty: the launcher's name, found on PATH
  std::string dialect;              // empty: detected from launcher_version, else the launcher's name
  std::string srun_mpi = "pmix";    // srun's --mpi plugin (--srun-mpi, HK_SRUN_MPI)
  std::string launcher_version;     // the first line of its --version ("" when not known)
  std::vector<HostSlots> hosts;     // empty: this machine, or the batch system's allocation
  std::string hosts_source;         // where `hosts` came from: "hostfile", "hosts" ("" when empty)
  std::string cores_source = "this machine (hwloc)";  // where cores_per_node came from
  std::vector<std::string> launcher_args;  // --launcher-args: passed to the launcher as they are
  // The node's topology (docs/big-nodes.md): from --topology FILE, or this machine. Used for the
  // binding when `node_from_file` or the launch runs here (launches_here); else ranks are packed
  // per node as consecutive cores, whatever the node's domains.
  std::shared_ptr<const topology::Node> node;
  bool node_from_file = false;
  topology::CpuUnit cpus = topology::CpuUnit::cores;  // what one thread gets (--smt: hardware threads)
  bool aligned_only = false;  // --aligned: a mix that cannot be aligned to the node is refused
  std::vector<std::string> program;  // what every rank runs: the executable, then its arguments
  std::string program_option = "--kernel-exe";  // the option that names program[0], for messages
  std::string isa = simd::isa_environment();  // HK_ISA for every rank ("" unset: each rank's best path)
};

// How ranks and threads are laid out, decided once from the spec, whatever the launcher.
struct Placement {
  int ranks_per_node = 1;
  int threads_per_rank = 1;  // cores each rank gets (its threads are pinned one per core)
  bool bound = true;         // false: oversubscribed, slot map, nothing pinned
  // The domain ranks are mapped per and how many per domain, without a known topology: the node.
  std::string map_domain = "node";
  int ranks_per_domain = 1;
  // With a known topology and a bound launch: where each rank of a node sits (the per-domain map,
  // the predicted cores, whether it is aligned); the dialects write their binding from it.
  std::optional<topology::Layout> layout;
};

struct LaunchCommand {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // set for the child on top of ours
  // A shell line that reproduces the launch exactly (environment assignments first).
  std::string display() const;
};

// Open MPI's --map-by of the placement: ppr:K:DOMAIN:PE=T when bound; unbound, "slot" on this
// machine and ppr:K:node across hosts (so that the ranks still spread evenly).
std::string map_by(const LaunchSpec& spec, const Placement& placement);

// True when R x T exceeds the cores of the nodes (false when the cores are not known).
bool oversubscribed(const LaunchSpec& spec);

// The launch rules, checked for every command alike: counts at least 1, ranks a multiple of the
// nodes, R x T within the cores (or --oversubscribe, up to kMaxOversubscription times), a known
// launcher and dialect, an HK_ISA the ranks would refuse (an unknown value; a path this CPU lacks
// when the ranks run here). Returns the placement (with the node's layout when its topology is
// used); throws UsageError with one clear line.
Placement validate_launch(const LaunchSpec& spec);

// The hybrid binding: each rank gets T consecutive cores, threads are pinned one per core inside
// it (OMP_PLACES=cores, OMP_PROC_BIND=close); oversubscribed: slot map, no binding, threads
// unbound. Validates first (UsageError), then the dialect writes the command. Every rank also gets
// HK_LAUNCH_INFO (launch_info), which hk-kernel copies into its record's `launch`, and HK_ISA when set.
LaunchCommand compose_launch(const LaunchSpec& spec);
// How hk launches: {launcher, launcher_path, launcher_version, dialect, binding ("core"/"none"),
// map_by (the placement as ppr:K:DOMAIN:PE=T, or "slot"), cpus ("cores"), expected_ranks,
// expected_threads, hosts_source ("local", "allocation", "hosts", "hostfile"), hosts (names),
// cores_per_node, cores_source, extra_args (--launcher-args)}.
std::string launch_info(const LaunchSpec& spec, const Placement& placement);
// The first line the launcher prints for --version ("" when it prints none or is not there).
std::string read_launcher_version(const LaunchSpec& spec);

// The launcher to execute: --launcher-path, else the launcher's name.
std::string launcher_executable(const LaunchSpec& spec);

// True when the launch runs on this machine only (no host list, one node, not srun), so this
// machine's cores are the ones it binds to.
bool launches_here(const LaunchSpec& spec);

// True when the binding follows spec.node's topology: it comes from --topology, or it is this
// machine and the launch runs here. Elsewhere (srun, other hosts) the node is not known to hk.
bool topology_used(const LaunchSpec& spec);

// Checks made just before a launch really starts on this machine (not for --dry-run, which may
// plan for another machine): the launcher and program[0] are executable files, and a bound
// launch here fits this machine's `machine_cores` (0: not checked). UsageError naming the option.
void check_runnable_here(const LaunchSpec& spec, int machine_cores);

// `name` as execvp would find it: a path with a '/' as it is, else the first match on PATH; ""
// when there is no executable regular file of that name.
std::string find_executable(const std::string& name);

}  // namespace hk
