#pragma once
// Where the ranks of a mix sit on one node, and whether that is "aligned" to the node's domains.
//
// A rank is aligned when, at every level the node has (L3 group, NUMA domain, package), its cores
// either sit inside one domain or are exactly whole domains; with hardware threads as the unit
// (--smt), also inside one core or on whole cores. A mix is aligned when every rank is. Checking
// every level, not just one, is what makes the word mean something on a one-socket node: there every
// rank is "inside the package", but 12 threads per rank on 8-core L3 groups still straddle two L3s.
//
// The placement is the one a launcher produces for a per-domain map (Open MPI
// `--map-by ppr:K:<domain>:PE=T`): K ranks in each domain, in order, each on the next T units of
// its domain. The planner picks the smallest level whose domains hold the ranks with no rank
// crossing a domain boundary, else the whole node (`ppr:R:node`), and says which levels are then
// straddled. Pure functions on plain data: unit-tested on the shipped node descriptions.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node.hpp"

namespace hk::topology {

// What one thread gets: a core (default; with SMT the core's other hardware threads stay idle),
// or a hardware thread (--smt / --cpus hwthreads).
enum class CpuUnit { cores, hwthreads };
std::string_view cpu_unit_name(CpuUnit unit);        // "cores" | "hwthreads" (the record's launch.cpus)
CpuUnit parse_cpu_unit(const std::string& text);     // UsageError naming --cpus
int unit_count(const Node& node, CpuUnit unit);      // cores, or hardware threads

struct Layout {
  int ranks = 1;  // ranks on this node
  int threads = 1;
  CpuUnit unit = CpuUnit::cores;
  std::optional<Level> map_level;  // the domains ranks are mapped per; none: the whole node
  int ranks_per_domain = 1;        // K: ranks in each domain of map_level (in the node, when none)
  std::vector<std::vector<int>> rank_cores;  // per rank: logical ids of its cores
  std::vector<std::vector<int>> rank_cpus;   // per rank: OS CPU numbers it is bound to (all hardware
                                             // threads of its cores when the unit is cores), sorted
  bool packed = false;   // rank r holds units r*T .. r*T+T-1 of the node in order: no gap between ranks
  bool aligned = false;
  std::vector<Level> straddled;  // levels at which some rank is neither inside one domain nor whole domains
  bool splits_cores = false;     // hwthreads: some rank holds part of a core and more than that core
  std::string label() const;     // "16x8"
};

// R ranks x T threads on the node. UsageError when R x T exceeds its cores (hardware threads with
// CpuUnit::hwthreads); no oversubscribed layout is planned here.
Layout plan_layout(const Node& node, int ranks, int threads, CpuUnit unit);

// Alignment of one set of OS CPUs (a rank's binding, planned or observed): adds the levels it
// straddles to `straddled`, sets `splits_cores` when it holds part of a core and more than that
// core, and returns true when it does neither. A CPU the node does not have makes it unaligned at
// every level.
bool cpus_aligned(const Node& node, const std::vector<int>& cpus, std::vector<Level>& straddled, bool& splits_cores);

// The mixes at a budget of `budget` units per node: every R x T = budget, most ranks first, each
// laid out. These include every aligned mix at that budget (an aligned mix that leaves units idle
// is a different budget; name it with --mixes).
std::vector<Layout> budget_layouts(const Node& node, int budget, CpuUnit unit);
// Only the aligned ones; UsageError when there are none.
std::vector<Layout> aligned_layouts(const Node& node, int budget, CpuUnit unit);
// UsageError naming the mix, the straddled levels and the aligned mixes at its budget, unless aligned.
void require_aligned(const Node& node, const Layout& layout);

// One line for a mix whose ranks straddle domains ("" when aligned), e.g. "mix 28x4 on 2 packages, ...:
// ranks straddle NUMA domains (14 cores each); rank 3 has cores 12-15 in NUMA domains 0,1".
std::string straddle_warning(const Node& node, const Layout& layout);

// One line for a dry run: "16x8 cores: aligned, 1 rank(s) per l3; cores of each rank: 0-7 | 8-15 | ..."
// (with hardware threads: "CPUs of each rank", OS numbers).
std::string layout_line(const Layout& layout);

// {ranks, threads, cpus, aligned, map_level, ranks_per_domain, straddled, ranks: [{rank, cores, cpus,
// l3, numa, packages}]}: what a dry run prints and a record can keep.
nlohmann::json layout_json(const Node& node, const Layout& layout);

}  // namespace hk::topology
