#pragma once
#include <nlohmann/json.hpp>

namespace hk {

// The machine as hwloc sees it.
struct Topology {
  int packages = 0;
  int numa_nodes = 0;
  int cores = 0;  // physical cores
  int pus = 0;    // hardware threads
  nlohmann::json caches = nlohmann::json::array();  // [{level, size_bytes, count}]
  std::string cpu_model;
};

Topology read_topology();
nlohmann::json topology_json(const Topology& topology);

}  // namespace hk
