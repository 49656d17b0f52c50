#include "topology.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <map>

namespace hk {

Topology read_topology() {
  Topology t;
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    t.cores = t.pus = n > 0 ? static_cast<int>(n) : 1;
    t.packages = t.numa_nodes = 1;
    return t;
  }
  t.packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  t.numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  t.cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  t.pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  if (t.cores <= 0) t.cores = t.pus > 0 ? t.pus : 1;
  std::map<int, std::pair<std::uint64_t, int>> caches;  // level -> (size of one, count)
  for (hwloc_obj_type_t type : {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE}) {
    const int n = hwloc_get_nbobjs_by_type(topo, type);
    for (int i = 0; i < n; ++i) {
      hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, static_cast<unsigned>(i));
      if (obj->attr == nullptr) continue;
      auto& [size, count] = caches[static_cast<int>(obj->attr->cache.depth)];
      size = obj->attr->cache.size;
      ++count;
    }
  }
  for (const auto& [level, entry] : caches)
    t.caches.push_back({{"level", level}, {"size_bytes", entry.first}, {"count", entry.second}});
  if (hwloc_obj_t package = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0)) {
    if (const char* model = hwloc_obj_get_info_by_name(package, "CPUModel")) t.cpu_model = model;
  }
  hwloc_topology_destroy(topo);
  return t;
}

nlohmann::json topology_json(const Topology& t) {
  return {{"packages", t.packages}, {"numa_nodes", t.numa_nodes}, {"cores", t.cores},
          {"hardware_threads", t.pus}, {"caches", t.caches}, {"cpu_model", t.cpu_model}};
}

}  // namespace hk
