#include "layout.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

#include "hk/errors.hpp"
#include "hk/system.hpp"  // cpu_list_string

namespace hk::topology {

std::string_view cpu_unit_name(CpuUnit unit) { return unit == CpuUnit::hwthreads ? "hwthreads" : "cores"; }

CpuUnit parse_cpu_unit(const std::string& text) {
  if (text == "cores") return CpuUnit::cores;
  if (text == "hwthreads") return CpuUnit::hwthreads;
  throw UsageError(fmt::format("--cpus: must be cores or hwthreads (got '{}')", text));
}

int unit_count(const Node& node, CpuUnit unit) {
  return unit == CpuUnit::hwthreads ? node.pu_count() : node.core_count();
}

std::string Layout::label() const { return fmt::format("{}x{}", ranks, threads); }

namespace {

// What one thread is given: a core with all its hardware threads, or one hardware thread.
struct Unit {
  int core = 0;
  std::vector<int> cpus;
};

std::vector<Unit> units_of(const Node& node, CpuUnit unit) {
  std::vector<Unit> units;
  for (const Core& core : node.cores) {
    if (unit == CpuUnit::cores) {
      units.push_back({core.id, core.pus});
    } else {
      for (int pu : core.pus) units.push_back({core.id, {pu}});
    }
  }
  return units;
}

// Indexes into `units` of each domain of `level`, in order; the whole node when there is no level.
std::vector<std::vector<int>> domain_units(const Node& node, const std::vector<Unit>& units,
                                           std::optional<Level> level) {
  if (!level) {
    std::vector<int> all(units.size());
    for (std::size_t i = 0; i < units.size(); ++i) all[i] = static_cast<int>(i);
    return {all};
  }
  const auto& domains = node.domains(*level);
  std::map<int, std::size_t> position;  // domain id -> index in `domains`
  for (std::size_t d = 0; d < domains.size(); ++d) position[domains[d].id] = d;
  std::vector<std::vector<int>> grouped(domains.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    const int id = node.cores[static_cast<std::size_t>(units[i].core)].in(*level);
    grouped[position.at(id)].push_back(static_cast<int>(i));
  }
  return grouped;
}

// True when `level` splits the cores exactly as a wider level does (an L3 per package): such a
// level is mapped and reported under the wider name.
bool same_as_wider(const Node& node, Level level) {
  const auto& domains = node.domains(level);
  return std::any_of(std::begin(kLevels), std::end(kLevels), [&](Level wider) {
    if (static_cast<int>(wider) <= static_cast<int>(level) || node.domains(wider).size() != domains.size())
      return false;
    for (std::size_t d = 0; d < domains.size(); ++d)
      if (node.domains(wider)[d].cores != domains[d].cores) return false;
    return true;
  });
}

// The levels a per-domain map can use, the smallest domains first: at least two domains, not the
// same as a wider level, and not one core each (an L3 per core, as some virtual machines report,
// groups nothing: mapping per such "group" is mapping per core).
std::vector<Level> map_levels(const Node& node) {
  auto smallest = [&](Level level) {
    std::size_t size = node.cores.size();
    for (const Domain& d : node.domains(level)) size = std::min(size, d.cores.size());
    return size;
  };
  std::vector<Level> levels;
  for (Level level : kLevels)
    if (node.domains(level).size() >= 2 && !same_as_wider(node, level) && smallest(level) > 1) levels.push_back(level);
  std::stable_sort(levels.begin(), levels.end(), [&](Level a, Level b) { return smallest(a) < smallest(b); });
  return levels;
}

// K ranks per domain (spread evenly: ceil(R / domains)) when every domain used holds its ranks'
// units; 0 when the ranks do not fit this way.
int ranks_per_domain(const std::vector<std::vector<int>>& domains, int ranks, int threads) {
  const int count = static_cast<int>(domains.size());
  const int k = (ranks + count - 1) / count;
  for (int d = 0, left = ranks; left > 0; ++d, left -= k) {
    const auto needed = static_cast<std::size_t>(std::min(k, left)) * static_cast<std::size_t>(threads);
    if (needed > domains[static_cast<std::size_t>(d)].size()) return 0;
  }
  return k;
}

void place_ranks(const Node& node, const std::vector<Unit>& units, const std::vector<std::vector<int>>& domains,
                 Layout& layout) {
  const int k = layout.ranks_per_domain, t = layout.threads;
  layout.packed = true;
  for (int r = 0; r < layout.ranks; ++r) {
    const auto& domain = domains[static_cast<std::size_t>(r / k)];
    std::set<int> cores, cpus;
    for (int i = (r % k) * t; i < (r % k + 1) * t; ++i) {
      const int index = domain[static_cast<std::size_t>(i)];
      if (index != r * t + (i - (r % k) * t)) layout.packed = false;
      const Unit& unit = units[static_cast<std::size_t>(index)];
      cores.insert(unit.core);
      cpus.insert(unit.cpus.begin(), unit.cpus.end());
    }
    layout.rank_cores.emplace_back(cores.begin(), cores.end());
    layout.rank_cpus.emplace_back(cpus.begin(), cpus.end());
  }
  layout.aligned = true;
  for (const auto& cpus : layout.rank_cpus) {
    std::vector<Level> straddled;
    bool splits = false;
    if (!cpus_aligned(node, cpus, straddled, splits)) layout.aligned = false;
    for (Level level : straddled)
      if (std::find(layout.straddled.begin(), layout.straddled.end(), level) == layout.straddled.end())
        layout.straddled.push_back(level);
    layout.splits_cores = layout.splits_cores || splits;
  }
  std::sort(layout.straddled.begin(), layout.straddled.end());
}

std::string mix_labels(const std::vector<Layout>& layouts) {
  std::string text;
  for (const Layout& layout : layouts) {
    if (!text.empty()) text += ',';
    text += layout.label();
  }
  return text;
}

}  // namespace

Layout plan_layout(const Node& node, int ranks, int threads, CpuUnit unit) {
  const int available = unit_count(node, unit);
  if (ranks < 1 || threads < 1 || static_cast<long long>(ranks) * threads > available) {
    throw UsageError(fmt::format("mix {}x{}: {} ranks x {} threads need {} {}, the node has {} ({})", ranks, threads,
                                 ranks, threads, static_cast<long long>(ranks) * threads, cpu_unit_name(unit),
                                 available, node_summary(node)));
  }
  Layout layout;
  layout.ranks = ranks;
  layout.threads = threads;
  layout.unit = unit;
  const std::vector<Unit> units = units_of(node, unit);
  for (Level level : map_levels(node)) {
    const auto domains = domain_units(node, units, level);
    if (const int k = ranks_per_domain(domains, ranks, threads); k > 0) {
      layout.map_level = level;
      layout.ranks_per_domain = k;
      place_ranks(node, units, domains, layout);
      return layout;
    }
  }
  layout.ranks_per_domain = ranks;
  place_ranks(node, units, domain_units(node, units, std::nullopt), layout);
  return layout;
}

bool cpus_aligned(const Node& node, const std::vector<int>& cpus, std::vector<Level>& straddled, bool& splits_cores) {
  std::map<int, int> core_of;  // OS CPU -> core
  for (const Core& core : node.cores)
    for (int pu : core.pus) core_of[pu] = core.id;
  std::map<int, int> held;  // core -> how many of its hardware threads the set holds
  bool unknown = false;
  for (int cpu : cpus) {
    const auto found = core_of.find(cpu);
    if (found == core_of.end()) unknown = true;
    else ++held[found->second];
  }
  for (Level level : kLevels) {
    if (node.domains(level).empty() || same_as_wider(node, level)) continue;
    std::map<int, int> touched;  // domain id -> cores of the set in it
    for (const auto& [core, count] : held) ++touched[node.cores[static_cast<std::size_t>(core)].in(level)];
    bool whole = true;
    for (const auto& [id, count] : touched) {
      for (const Domain& d : node.domains(level))
        if (d.id == id && static_cast<int>(d.cores.size()) != count) whole = false;
    }
    if (unknown || (touched.size() > 1 && !whole)) straddled.push_back(level);
  }
  splits_cores = false;
  for (const auto& [core, count] : held)
    if (held.size() > 1 && count < static_cast<int>(node.cores[static_cast<std::size_t>(core)].pus.size()))
      splits_cores = true;
  return straddled.empty() && !splits_cores;
}

std::vector<Layout> budget_layouts(const Node& node, int budget, CpuUnit unit) {
  std::vector<Layout> layouts;
  for (int ranks = budget; ranks >= 1; --ranks)
    if (budget % ranks == 0) layouts.push_back(plan_layout(node, ranks, budget / ranks, unit));
  return layouts;
}

std::vector<Layout> aligned_layouts(const Node& node, int budget, CpuUnit unit) {
  std::vector<Layout> aligned;
  for (Layout& layout : budget_layouts(node, budget, unit))
    if (layout.aligned) aligned.push_back(std::move(layout));
  if (aligned.empty()) {
    throw UsageError(fmt::format("--mixes aligned: no mix of {} {} is aligned to {} ({})", budget,
                                 cpu_unit_name(unit), node.source, node_summary(node)));
  }
  return aligned;
}

void require_aligned(const Node& node, const Layout& layout) {
  if (layout.aligned) return;
  const int budget = layout.ranks * layout.threads;
  std::vector<Layout> others = budget_layouts(node, budget, layout.unit);
  std::erase_if(others, [](const Layout& other) { return !other.aligned; });
  const std::string aligned = mix_labels(others);
  std::string where;
  for (Level level : layout.straddled) where += fmt::format("{}{}", where.empty() ? "" : ", ", level_phrase(level));
  if (layout.splits_cores) where += where.empty() ? "cores" : ", cores";
  throw UsageError(fmt::format("mix {} cannot be aligned to {} ({}): its ranks would straddle {}; aligned mixes of {} "
                               "{}: {}",
                               layout.label(), node.source, node_summary(node), where, budget,
                               cpu_unit_name(layout.unit), aligned.empty() ? "none" : aligned));
}

std::string straddle_warning(const Node& node, const Layout& layout) {
  if (layout.aligned) return "";
  std::string what;
  for (Level level : layout.straddled) what += fmt::format("{}{}", what.empty() ? "" : " and ", level_phrase(level));
  if (layout.splits_cores) what += std::string(what.empty() ? "" : " and ") + "cores (one core's hardware threads in two ranks)";
  std::string example;
  for (std::size_t r = 0; r < layout.rank_cpus.size() && example.empty(); ++r) {
    std::vector<Level> straddled;
    bool splits = false;
    if (cpus_aligned(node, layout.rank_cpus[r], straddled, splits)) continue;
    example = fmt::format("rank {} has cores {}", r, cpu_list_string(layout.rank_cores[r]));
    if (!straddled.empty()) {
      std::set<int> ids;
      for (int core : layout.rank_cores[r]) ids.insert(node.cores[static_cast<std::size_t>(core)].in(straddled.front()));
      example += fmt::format(" in {} {}", level_phrase(straddled.front()), cpu_list_string({ids.begin(), ids.end()}));
    }
  }
  return fmt::format("mix {} {}: its ranks straddle {} of {} (no per-domain map keeps every rank inside one); "
                     "e.g. {}",
                     layout.label(), cpu_unit_name(layout.unit), what, node.source, example);
}

std::string layout_line(const Layout& layout) {
  // Cores (logical ids) when a thread gets a core; the OS CPU numbers when it gets a hardware thread.
  const bool threads = layout.unit == CpuUnit::hwthreads;
  std::string each;
  for (std::size_t r = 0; r < layout.rank_cores.size(); ++r) {
    if (!each.empty()) each += " | ";
    each += cpu_list_string(threads ? layout.rank_cpus[r] : layout.rank_cores[r]);
  }
  return fmt::format("{} {}: {}, {} rank(s) per {}; {} of each rank: {}", layout.label(), cpu_unit_name(layout.unit),
                     layout.aligned ? "aligned" : "NOT aligned", layout.ranks_per_domain,
                     layout.map_level ? std::string(level_name(*layout.map_level)) : "node",
                     threads ? "CPUs" : "cores", each);
}

nlohmann::json layout_json(const Node& node, const Layout& layout) {
  nlohmann::json ranks = nlohmann::json::array();
  for (std::size_t r = 0; r < layout.rank_cores.size(); ++r) {
    nlohmann::json entry = {{"rank", r},
                            {"cores", cpu_list_string(layout.rank_cores[r])},
                            {"cpus", cpu_list_string(layout.rank_cpus[r])}};
    for (Level level : kLevels) {
      std::set<int> ids;
      for (int core : layout.rank_cores[r]) ids.insert(node.cores[static_cast<std::size_t>(core)].in(level));
      ids.erase(-1);
      entry[level == Level::package ? "packages" : std::string(level_name(level))] = ids;
    }
    ranks.push_back(std::move(entry));
  }
  nlohmann::json straddled = nlohmann::json::array();
  for (Level level : layout.straddled) straddled.push_back(level_name(level));
  if (layout.splits_cores) straddled.push_back("core");
  return {{"ranks", layout.ranks},
          {"threads", layout.threads},
          {"cpus", cpu_unit_name(layout.unit)},
          {"aligned", layout.aligned},
          {"map_level", layout.map_level ? std::string(level_name(*layout.map_level)) : "node"},
          {"ranks_per_domain", layout.ranks_per_domain},
          {"straddled", straddled},
          {"rank_layout", ranks}};
}

}  // namespace hk::topology
