#pragma once
// One node's shape as hwloc describes it: cores, their hardware threads, and the domains a rank
// can be kept inside (L3 groups, NUMA domains, packages). Read from this machine or from an
// hwloc XML file (`lstopo --of xml` on the target), so a sweep can be planned for a node one is
// not on. Plain data: the planner (layout.hpp) works on it without hwloc.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace hk::topology {

// The levels a rank can sit inside, smallest usual size first.
enum class Level { l3, numa, package };
inline constexpr Level kLevels[] = {Level::l3, Level::numa, Level::package};
std::string_view level_name(Level level);    // "l3", "numa", "package"
std::string_view level_phrase(Level level);  // "L3 groups", "NUMA domains", "packages"

struct Core {
  int id = 0;             // hwloc logical index (L#), the order every launcher packs ranks in
  std::vector<int> pus;   // its hardware threads: OS CPU numbers (P#), in hwloc's logical order
  int domain[3] = {-1, -1, -1};  // id of its L3 group, NUMA domain, package (index by Level); -1: level absent
  int in(Level level) const { return domain[static_cast<int>(level)]; }
};

struct Domain {
  int id = 0;              // L3 groups: hwloc logical index; NUMA domains and packages: OS number (P#)
  std::vector<int> cores;  // logical indexes of its cores, ascending
};

struct Node {
  std::string source;     // "this machine" or the XML file's path
  std::string cpu_model;  // from hwloc's CPUModel info, empty when unknown (synthetic XML)
  std::vector<Core> cores;            // in logical order
  std::vector<Domain> levels[3];      // by Level; empty when hwloc reports no such partition

  const std::vector<Domain>& domains(Level level) const { return levels[static_cast<int>(level)]; }
  int core_count() const { return static_cast<int>(cores.size()); }
  int pu_count() const;
  bool has_smt() const;  // some core has more than one hardware thread
};

// This machine, as the processes hk starts will see it (hwloc leaves out CPUs outside our cgroup).
// RuntimeError if hwloc cannot load it; UsageError if it has no cores.
Node read_node();
// The node an hwloc XML file describes. UsageError naming --topology when hwloc cannot read the
// file or the topology has no cores.
Node read_node_xml(const std::string& path);

// {source, cpu_model, cores, hardware_threads, smt, l3_groups, numa_domains, packages}.
nlohmann::json node_summary_json(const Node& node);
// "2 packages, 8 NUMA domains, 16 L3 groups, 128 cores, 256 hardware threads".
std::string node_summary(const Node& node);

}  // namespace hk::topology
