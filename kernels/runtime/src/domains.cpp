#include "hk/domains.hpp"

#include <hwloc.h>

#include <memory>
#include <set>

#include "hk/errors.hpp"
#include "hk/json_text.hpp"
#include "hk/mpi_env.hpp"
#include "hk/system.hpp"

namespace hk {

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};

std::unique_ptr<hwloc_topology, TopologyDeleter> load_topology(const std::string& xml) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw RuntimeError("hwloc: cannot initialise a topology");
  std::unique_ptr<hwloc_topology, TopologyDeleter> topo(raw);
  if ((!xml.empty() && hwloc_topology_set_xml(raw, xml.c_str()) != 0) || hwloc_topology_load(raw) != 0)
    throw RuntimeError("hwloc: cannot read the topology of " + (xml.empty() ? std::string("this machine") : xml));
  return topo;
}

// Identifiers of the objects of `type` whose CPUs include `cpu`.
void add_containing(hwloc_topology_t topo, hwloc_obj_type_t type, int cpu, bool os_ids, std::set<int>& ids) {
  const int n = hwloc_get_nbobjs_by_type(topo, type);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, static_cast<unsigned>(i));
    if (obj->cpuset != nullptr && hwloc_bitmap_isset(obj->cpuset, static_cast<unsigned>(cpu)))
      ids.insert(os_ids ? static_cast<int>(obj->os_index) : static_cast<int>(obj->logical_index));
  }
}

}  // namespace

RankDomains rank_domains(const std::string& host, int rank, const std::vector<int>& thread_cpus,
                         const std::string& topology_xml) {
  const auto topo = load_topology(topology_xml);
  std::set<int> cpus(thread_cpus.begin(), thread_cpus.end()), packages, numa, l3, cores;
  cpus.erase(-1);  // sched_getcpu failed
  for (int cpu : cpus) {
    add_containing(topo.get(), HWLOC_OBJ_PACKAGE, cpu, true, packages);
    add_containing(topo.get(), HWLOC_OBJ_NUMANODE, cpu, true, numa);
    add_containing(topo.get(), HWLOC_OBJ_L3CACHE, cpu, false, l3);
    add_containing(topo.get(), HWLOC_OBJ_CORE, cpu, false, cores);
  }
  return {host,
          rank,
          {cpus.begin(), cpus.end()},
          {packages.begin(), packages.end()},
          {numa.begin(), numa.end()},
          {l3.begin(), l3.end()},
          static_cast<int>(cores.size())};
}

RankDomains local_rank_domains(const std::vector<ThreadPlacement>& local) {
  std::vector<int> cpus;
  for (const auto& p : local) cpus.push_back(p.cpu);
  const std::string host = local.empty() ? host_name() : local.front().host;
  const int rank = local.empty() ? 0 : local.front().rank;
  try {
    return rank_domains(host, rank, cpus);
  } catch (const RuntimeError&) {
    // Without hwloc's view the rank still has its CPUs; the domains stay empty rather than
    // failing a run that has already been measured.
    std::set<int> distinct(cpus.begin(), cpus.end());
    distinct.erase(-1);
    return {host, rank, {distinct.begin(), distinct.end()}, {}, {}, {}, 0};
  }
}

nlohmann::json rank_domains_json(const RankDomains& d) {
  return {{"host", d.host},         {"rank", d.rank}, {"cpus", cpu_list_string(d.cpus)}, {"packages", d.packages},
          {"numa", d.numa},         {"l3", d.l3},     {"cores", d.cores}};
}

nlohmann::json gather_rank_domains(MPI_Comm comm, const RankDomains& mine) {
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& text : gather_strings(comm, json_text(rank_domains_json(mine))))
    all.push_back(nlohmann::json::parse(text));
  return all;
}

}  // namespace hk
