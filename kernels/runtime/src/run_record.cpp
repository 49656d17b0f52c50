#include "hk/run_record.hpp"

#include <cmath>

#include "hk/record.hpp"
#include "hk/stats.hpp"

namespace hk {

using nlohmann::json;

void record_timings(json& record, const std::vector<RepetitionTimes>& reps, double imbalance, const Work& work) {
  std::vector<double> walls;
  for (const auto& rep : reps) walls.push_back(rep.wall);
  record["time_s"] = time_json(walls);
  // Declared again now: a kernel may know its work only after setup (an image read from a file).
  record["work"] = {{"flops", work.flops}, {"bytes", work.bytes}, {"items", work.items}};
  if (reps.empty()) return;
  const RepetitionTimes& median_rep = reps[summarize(walls).median_index];
  record["phases_s"] = {{"compute", median_rep.compute},
                        {"comm", median_rep.comm},
                        {"other", median_rep.other},
                        {"source", "measured"}};
  record["imbalance"] = imbalance;
  record["rate"] = rate_json(work, record["time_s"]["median"].get<double>());
}

void record_outcome(json& record, const Verification& verification, json result, json metrics) {
  // A check whose tolerance is not finite, or whose error is NaN, cannot tell right from wrong
  // (issue 13: an estimate of 0 against an exact 100 was "verified, tolerance inf").
  const bool passed =
      verification.passed && std::isfinite(verification.tolerance) && !std::isnan(verification.error);
  record["verification"] = {{"passed", passed},
                            {"method", verification.method},
                            {"error", verification.error},
                            {"tolerance", verification.tolerance}};
  record["result"] = result.is_object() ? std::move(result) : json::object();
  record["metrics"] = metrics.is_object() ? std::move(metrics) : json::object();
  record["status"] = passed ? "ok" : "verify_failed";
}

void record_memory(json& record, const MemoryTotals& memory) {
  record["memory"] = {{"rss_max_bytes", memory.rss_max},
                      {"rss_total_bytes", memory.rss_total},
                      {"pss_total_bytes", memory.pss_total}};
}

std::vector<std::string> record_placement(json& record, const std::vector<ThreadPlacement>& placement) {
  record["placement"] = placement_json(placement);
  record["nodes"] = count_nodes(placement);
  record["ranks_per_node"] = ranks_per_node(placement);
  const auto warnings = placement_warnings(placement);
  for (const auto& warning : warnings) record["warnings"].push_back(warning);
  return warnings;
}

void record_error(json& record, const std::string& message) {
  if (record["status"] == "ok") record["status"] = "error";
  record["error"] = message;
}

}  // namespace hk
