#pragma once
// Which rank of which world a process is, from what the launcher put in its environment (the
// wrapper runs before MPI_Init, so MPI cannot tell it).
#include <functional>
#include <string>

namespace hk::exec {

struct LauncherRank {
  int rank = -1;           // -1: no launcher variable found
  std::string rank_source; // the variable it came from, "" when none
  int world_size = -1;     // -1: unknown
  int local_rank = -1;     // rank among those on this node, -1: unknown
};

// Reads OMPI_COMM_WORLD_* (Open MPI), PMI_* and MPI_LOCALRANKID (MPICH/Hydra), PMIX_RANK and
// SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (srun), first found wins. `lookup` is getenv in use.
LauncherRank launcher_rank(const std::function<const char*(const char*)>& lookup);
LauncherRank launcher_rank_from_environment();

}  // namespace hk::exec
