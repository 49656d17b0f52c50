#pragma once
#include <mpi.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hk {

struct ThreadPlacement {
  std::string host;
  int rank = 0;
  int thread = 0;
  int cpu = -1;
  std::vector<int> allowed_cpus;
  int host_cpus = 0;  // online CPUs of that host
};

// Where each OpenMP thread of this rank runs: sched_getcpu and sched_getaffinity read inside a
// parallel region with `threads` threads.
std::vector<ThreadPlacement> local_placement(int rank, int threads);
// Gathered to rank 0 (empty elsewhere). Collective.
std::vector<ThreadPlacement> gather_placement(MPI_Comm comm, const std::vector<ThreadPlacement>& local);
nlohmann::json placement_json(const std::vector<ThreadPlacement>& all);
// Oversubscription (threads on a host > its CPUs) and threads pinned to the same single CPU.
std::vector<std::string> placement_warnings(const std::vector<ThreadPlacement>& all);
int count_nodes(const std::vector<ThreadPlacement>& all);
// Ranks on each node when every node has the same number, else null.
nlohmann::json ranks_per_node(const std::vector<ThreadPlacement>& all);

}  // namespace hk
