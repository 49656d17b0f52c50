#pragma once
// Filling a run record (hk::make_record) with what a run measured. The framework does it on
// rank 0; the unit tests build an ok record the same way, to check it has the fields of a
// failure record and no other.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hk/kernel.hpp"
#include "hk/placement.hpp"

namespace hk {

// One timed repetition: wall time and phases, each the maximum over ranks, in seconds.
struct RepetitionTimes {
  double wall = 0, compute = 0, comm = 0, other = 0;
};
// time_s (every repetition kept), phases_s of the median repetition, imbalance, rate.
void record_timings(nlohmann::json& record, const std::vector<RepetitionTimes>& reps, double imbalance,
                    const Work& work);
// verification, result, metrics, and the status they give ("ok" or "verify_failed").
void record_outcome(nlohmann::json& record, const Verification& verification, nlohmann::json result,
                    nlohmann::json metrics);

struct MemoryTotals {
  std::uint64_t rss_max = 0;    // bytes, peak RSS of the largest rank
  std::uint64_t rss_total = 0;  // bytes, sum of the ranks' peak RSS
  std::uint64_t pss_total = 0;  // bytes, sum of the ranks' PSS
};
void record_memory(nlohmann::json& record, const MemoryTotals& memory);
// placement, nodes, ranks_per_node, and the placement warnings (also returned).
std::vector<std::string> record_placement(nlohmann::json& record, const std::vector<ThreadPlacement>& placement);
// A failure: status "error" unless already worse, and the reason.
void record_error(nlohmann::json& record, const std::string& message);

}  // namespace hk
