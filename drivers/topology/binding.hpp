#pragma once
// A Layout as each launcher dialect says it: the pieces launch composition puts on the command
// line. Open MPI 4's form is checked against Open MPI's own mapper (its resource simulator, see
// tests/topology); Slurm's is derived from the same layout but not checked here (no Slurm on a
// big node is at hand).
#include <string>
#include <utility>
#include <vector>

#include "layout.hpp"

namespace hk::topology {

// Open MPI 4.x (mpirun/mpiexec): `--map-by ppr:K:<l3cache|numa|socket|node>:PE=T --bind-to core`;
// with hardware threads as the unit, `--use-hwthread-cpus --bind-to hwthread` (PE then counts
// hardware threads). Open MPI 5 spells the package "package" and the hardware-thread switch as a
// map-by modifier: a dialect of its own.
struct OpenMpiBinding {
  std::string map_by;   // "ppr:2:l3cache:PE=4"
  std::string bind_to;  // "core" | "hwthread"
  bool use_hwthread_cpus = false;
  std::vector<std::string> args() const;  // in that order, ready for argv
};
OpenMpiBinding openmpi_binding(const Layout& layout);
// Open MPI 4's name of the objects a map counts per: l3cache, numa, socket, or node (no level).
std::string openmpi_object(const std::optional<Level>& level);

// Slurm's srun: `-c T --distribution=block:block --cpu-bind=cores|threads`, which packs ranks on
// consecutive cores (hardware threads) exactly as the layout does whenever the layout has no gaps;
// otherwise `--cpu-bind=mask_cpu:` with one mask of OS CPU numbers per rank (CPU ids as the node
// numbers them, so the whole node must be allocated). One thread per core is
// `--threads-per-core=1` (what --hint=nomultithread implies; --hint itself cannot be combined with
// --cpu-bind, man srun of Slurm 22.05).
struct SrunBinding {
  int cpus_per_task = 1;
  int threads_per_core = 0;  // 1 with CpuUnit::cores; 0: not given (every hardware thread)
  std::string distribution;  // "block:block"
  std::string cpu_bind;      // "cores" | "threads" | "mask_cpu:0xff,0xff00"
  std::vector<std::string> args() const;
};
SrunBinding srun_binding(const Layout& layout);

// OpenMP's side, the same for every launcher: OMP_PLACES=cores|threads, OMP_PROC_BIND=close.
std::vector<std::pair<std::string, std::string>> openmp_binding_env(const Layout& layout);

}  // namespace hk::topology
