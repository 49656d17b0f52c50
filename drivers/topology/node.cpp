#include "node.hpp"

#include <hwloc.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <memory>

#include "hk/errors.hpp"

namespace hk::topology {

std::string_view level_name(Level level) {
  switch (level) {
    case Level::l3: return "l3";
    case Level::numa: return "numa";
    default: return "package";
  }
}

std::string_view level_phrase(Level level) {
  switch (level) {
    case Level::l3: return "L3 groups";
    case Level::numa: return "NUMA domains";
    default: return "packages";
  }
}

int Node::pu_count() const {
  int n = 0;
  for (const Core& core : cores) n += static_cast<int>(core.pus.size());
  return n;
}

bool Node::has_smt() const {
  return std::any_of(cores.begin(), cores.end(), [](const Core& c) { return c.pus.size() > 1; });
}

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

// The cores inside each cpuset, in logical order; each core is claimed by at most one set.
// Returns no domains unless the sets partition the cores (every core in exactly one), so a
// level that does not describe where every core sits is treated as absent.
std::vector<Domain> partition(hwloc_topology_t topo, const std::vector<std::pair<int, hwloc_const_cpuset_t>>& sets) {
  const int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  std::vector<Domain> domains;
  std::vector<int> owner(static_cast<std::size_t>(cores), -1);
  for (const auto& [id, cpuset] : sets) {
    Domain domain{id, {}};
    for (int c = 0; c < cores; ++c) {
      hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, static_cast<unsigned>(c));
      if (!hwloc_bitmap_isincluded(core->cpuset, cpuset)) continue;
      if (owner[static_cast<std::size_t>(c)] >= 0) return {};
      owner[static_cast<std::size_t>(c)] = static_cast<int>(domains.size());
      domain.cores.push_back(c);
    }
    if (!domain.cores.empty()) domains.push_back(std::move(domain));
  }
  if (std::find(owner.begin(), owner.end(), -1) != owner.end()) return {};
  return domains;
}

std::vector<Domain> object_domains(hwloc_topology_t topo, hwloc_obj_type_t type, bool os_ids) {
  std::vector<std::pair<int, hwloc_const_cpuset_t>> sets;
  const int n = hwloc_get_nbobjs_by_type(topo, type);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, static_cast<unsigned>(i));
    sets.push_back({os_ids ? static_cast<int>(obj->os_index) : static_cast<int>(obj->logical_index), obj->cpuset});
  }
  return partition(topo, sets);
}

// NUMA domains as CPU groups: nodes with the same CPUs (DDR and HBM of one tile, a CXL
// expander) are one domain, named by the first node's number; CPU-less nodes are left out.
std::vector<Domain> numa_domains(hwloc_topology_t topo) {
  std::vector<std::pair<int, hwloc_const_cpuset_t>> sets;
  const int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    if (obj->cpuset == nullptr || hwloc_bitmap_iszero(obj->cpuset)) continue;
    const bool seen = std::any_of(sets.begin(), sets.end(),
                                  [&](const auto& s) { return hwloc_bitmap_isequal(s.second, obj->cpuset); });
    if (!seen) sets.push_back({static_cast<int>(obj->os_index), obj->cpuset});
  }
  return partition(topo, sets);
}

Node node_from(hwloc_topology_t topo, const std::string& source, const std::string& what) {
  Node node;
  node.source = source;
  const int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (cores <= 0) {
    throw UsageError(fmt::format("{}: the topology has no cores ({} hardware threads but no Core objects); "
                                 "hk needs a node description with cores, as `lstopo --of xml` writes it",
                                 what, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU)));
  }
  for (int c = 0; c < cores; ++c) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, static_cast<unsigned>(c));
    Core core;
    core.id = c;
    for (hwloc_obj_t pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, obj->cpuset, HWLOC_OBJ_PU, nullptr);
         pu != nullptr; pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, obj->cpuset, HWLOC_OBJ_PU, pu))
      core.pus.push_back(static_cast<int>(pu->os_index));
    node.cores.push_back(std::move(core));
  }
  node.levels[static_cast<int>(Level::l3)] = object_domains(topo, HWLOC_OBJ_L3CACHE, /*os_ids=*/false);
  node.levels[static_cast<int>(Level::numa)] = numa_domains(topo);
  node.levels[static_cast<int>(Level::package)] = object_domains(topo, HWLOC_OBJ_PACKAGE, /*os_ids=*/true);
  for (Level level : kLevels)
    for (const Domain& domain : node.domains(level))
      for (int c : domain.cores) node.cores[static_cast<std::size_t>(c)].domain[static_cast<int>(level)] = domain.id;
  if (hwloc_obj_t package = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0)) {
    if (const char* model = hwloc_obj_get_info_by_name(package, "CPUModel")) node.cpu_model = model;
  }
  return node;
}

TopologyPtr new_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw RuntimeError("hwloc: cannot initialise a topology");
  return TopologyPtr(raw);
}

}  // namespace

Node read_node() {
  TopologyPtr topo = new_topology();
  if (hwloc_topology_load(topo.get()) != 0) throw RuntimeError("hwloc: cannot read this machine's topology");
  return node_from(topo.get(), "this machine", "this machine");
}

Node read_node_xml(const std::string& path) {
  TopologyPtr topo = new_topology();
  const std::string what = fmt::format("--topology {}", path);
  // hwloc says only "cannot load" for a missing file too; name that case (the usual typo).
  std::error_code error;
  if (!std::filesystem::exists(path, error))
    throw UsageError(fmt::format("{}: no such file; give an XML file written by `lstopo --of xml` on the node", what));
  if (hwloc_topology_set_xml(topo.get(), path.c_str()) != 0 || hwloc_topology_load(topo.get()) != 0) {
    throw UsageError(fmt::format("{}: hwloc cannot read it as a topology; give an XML file written by "
                                 "`lstopo --of xml` (or hwloc-gather-topology) on the node",
                                 what));
  }
  return node_from(topo.get(), path, what);
}

nlohmann::json node_summary_json(const Node& node) {
  return {{"source", node.source},
          {"cpu_model", node.cpu_model},
          {"cores", node.core_count()},
          {"hardware_threads", node.pu_count()},
          {"smt", node.has_smt()},
          {"l3_groups", node.domains(Level::l3).size()},
          {"numa_domains", node.domains(Level::numa).size()},
          {"packages", node.domains(Level::package).size()}};
}

std::string node_summary(const Node& node) {
  std::string text;
  for (Level level : {Level::package, Level::numa, Level::l3}) {
    if (node.domains(level).empty()) continue;
    const std::size_t n = node.domains(level).size();
    const std::string_view phrase = level_phrase(level);
    text += fmt::format("{} {}, ", n, n == 1 ? phrase.substr(0, phrase.size() - 1) : phrase);
  }
  return text + fmt::format("{} cores, {} hardware threads", node.core_count(), node.pu_count());
}

}  // namespace hk::topology
