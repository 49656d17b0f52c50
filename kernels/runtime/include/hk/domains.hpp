#pragma once
// Which domains of its node each rank's threads run in: the packages, NUMA domains and L3 groups
// holding the CPUs its threads were on (sched_getcpu inside the parallel region, as in the
// placement), read with hwloc on the rank's own host. The record keeps one entry per rank
// (`rank_domains`), so a run shows whether a rank straddled domains, whatever launched it.
#include <mpi.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hk/placement.hpp"

namespace hk {

struct RankDomains {
  std::string host;
  int rank = 0;
  std::vector<int> cpus;      // OS CPU numbers its threads ran on, sorted, distinct
  std::vector<int> packages;  // OS package numbers (P#)
  std::vector<int> numa;      // NUMA node numbers (P#, as numactl names them)
  std::vector<int> l3;        // L3 groups: hwloc logical indexes (caches have no OS number)
  int cores = 0;              // distinct cores
};

// This rank's entry from its threads' CPUs. `topology_xml` empty: this machine (the normal case);
// else an hwloc XML file (tests). RuntimeError when hwloc cannot load the topology.
RankDomains rank_domains(const std::string& host, int rank, const std::vector<int>& thread_cpus,
                         const std::string& topology_xml = "");
// From the local placement of local_placement(). Does not throw: if hwloc cannot read this
// machine, the entry has the CPUs and no domains.
RankDomains local_rank_domains(const std::vector<ThreadPlacement>& local);

// {host, rank, cpus: "0-7", packages: [..], numa: [..], l3: [..], cores}.
nlohmann::json rank_domains_json(const RankDomains& domains);
// Every rank's entry, in rank order, on rank 0 (an empty array elsewhere). Collective.
nlohmann::json gather_rank_domains(MPI_Comm comm, const RankDomains& mine);

}  // namespace hk
