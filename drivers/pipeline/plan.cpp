#include "plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "hk/errors.hpp"

namespace hk::pipeline {

std::string Mix::label() const { return fmt::format("{}x{}", ranks, threads); }

Scaling parse_scaling(const std::string& text) {
  if (text == "none") return Scaling::none;
  if (text == "strong") return Scaling::strong;
  if (text == "weak") return Scaling::weak;
  throw UsageError(fmt::format("--scaling: must be none, strong or weak (got '{}')", text));
}

std::string scaling_name(Scaling scaling) {
  switch (scaling) {
    case Scaling::strong: return "strong";
    case Scaling::weak: return "weak";
    default: return "none";
  }
}

std::vector<Mix> divisor_mixes(int cores) {
  std::vector<Mix> mixes;
  for (int ranks = cores; ranks >= 1; --ranks)
    if (cores % ranks == 0) mixes.push_back({ranks, cores / ranks});
  return mixes;
}

namespace {

// "12" -> 12 when the whole text is a number in [1, max].
bool parse_count(const std::string& text, int max, int& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && value >= 1 && value <= max;
}

}  // namespace

std::vector<Mix> parse_mixes(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format("--mixes: must be a comma-separated list of RANKSxTHREADS such as 4x1,2x2,1x4 "
                                  "with ranks from 1 to {} and threads from 1 to {}; {} (got '{}')",
                                  kMaxRanks, kMaxThreadsPerRank, why, text));
  };
  std::vector<Mix> mixes;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::size_t x = item.find('x');
    Mix mix;
    if (x == std::string::npos || !parse_count(item.substr(0, x), kMaxRanks, mix.ranks) ||
        !parse_count(item.substr(x + 1), kMaxThreadsPerRank, mix.threads))
      throw bad(fmt::format("'{}' is not RxT", item));
    if (std::find(mixes.begin(), mixes.end(), mix) != mixes.end())
      throw bad(fmt::format("{} is given twice", mix.label()));
    mixes.push_back(mix);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return mixes;
}

std::vector<int> parse_node_counts(const std::string& text) {
  std::vector<int> counts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    int count = 0;
    if (!parse_count(item, kMaxNodes, count))
      throw UsageError(fmt::format("--nodes: must be a node count or a comma-separated list of them such as 1,2, each "
                                   "from 1 to {}; '{}' is not one (got '{}')",
                                   kMaxNodes, item, text));
    if (std::find(counts.begin(), counts.end(), count) != counts.end())
      throw UsageError(fmt::format("--nodes: {} is given twice (got '{}')", count, text));
    counts.push_back(count);
    start = comma + 1;
  }
  std::sort(counts.begin(), counts.end());
  return counts;
}

std::vector<int> scaling_core_counts(int budget) {
  std::vector<int> counts;
  for (int c = 1; c < budget; c *= 2) counts.push_back(c);
  counts.push_back(budget);
  return counts;
}

bool family_member(int family_threads, int cores, Mix& member) {
  if (cores < family_threads) {
    member = {1, cores};
    return true;
  }
  if (cores % family_threads != 0) return false;
  member = {cores / family_threads, family_threads};
  return true;
}

std::vector<PlannedRun> plan_runs(const std::vector<Mix>& full, Scaling scaling, int nodes) {
  std::vector<PlannedRun> runs;
  auto add = [&](const Mix& mix, int family, double factor) {
    for (auto& run : runs) {
      if (run.mix == mix && run.weak_factor == factor) {
        if (std::find(run.families.begin(), run.families.end(), family) == run.families.end())
          run.families.push_back(family);
        return;
      }
    }
    runs.push_back({mix, nodes, {family}, factor});
  };
  for (const Mix& top : full) {
    if (scaling == Scaling::none) {
      add(top, top.threads, 1.0);
      continue;
    }
    // The family is enumerated core count by core count: refuse a full size that cannot be
    // (4294967296 cores wrapped to 0 in an int and planned a "1x0" mix).
    if (top.cores() > kMaxPlannedBudget)
      throw UsageError(fmt::format("--scaling {}: mix {} has {} cores, too many to plan its family (at most {})",
                                   scaling_name(scaling), top.label(), top.cores(), kMaxPlannedBudget));
    const int top_cores = static_cast<int>(top.cores());
    for (int cores : scaling_core_counts(top_cores)) {
      Mix member;
      if (!family_member(top.threads, cores, member)) continue;
      add(member, top.threads, scaling == Scaling::weak ? static_cast<double>(cores) / top_cores : 1.0);
    }
  }
  std::stable_sort(runs.begin(), runs.end(), [](const PlannedRun& a, const PlannedRun& b) {
    if (a.mix.cores() != b.mix.cores()) return a.mix.cores() < b.mix.cores();
    return a.mix.ranks > b.mix.ranks;
  });
  for (auto& run : runs) std::sort(run.families.begin(), run.families.end());
  return runs;
}

std::vector<Mix> full_mixes(const PlanRequest& request, int nodes) {
  if (request.aligned_node) {
    std::vector<Mix> mixes;
    for (const auto& layout : topology::aligned_layouts(*request.aligned_node, request.cores_per_node, request.cpus))
      mixes.push_back({layout.ranks * nodes, layout.threads});
    return mixes;
  }
  if (request.mixes_given) return parse_mixes(request.mixes_text);
  const long long budget = static_cast<long long>(request.cores_per_node) * nodes;
  if (budget > kMaxPlannedBudget)
    throw UsageError(fmt::format("{} node(s) x {} cores = {} cores: too many to plan every mix (at most {}); give "
                                 "--mixes",
                                 nodes, request.cores_per_node, budget, kMaxPlannedBudget));
  std::vector<Mix> mixes;
  for (const Mix& m : divisor_mixes(static_cast<int>(budget)))
    if (m.ranks % nodes == 0) mixes.push_back(m);
  return mixes;
}

std::vector<PlannedRun> plan(const PlanRequest& request) {
  std::vector<PlannedRun> runs;
  for (int nodes : request.node_counts) {
    const auto planned = plan_runs(full_mixes(request, nodes), request.scaling, nodes);
    runs.insert(runs.end(), planned.begin(), planned.end());
  }
  return runs;
}

}  // namespace hk::pipeline
