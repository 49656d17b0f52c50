#pragma once
// Resume: which configurations a results file already holds as ok, so `hk sweep --resume` skips
// them. The key is computed by one function from a record — the one hk-kernel wrote and read
// back, or the expected record of a configuration about to run — so both sides always agree.
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

namespace hk::pipeline {

// Everything that changes a run's result or its statistics: kernel, variant, params (compact JSON,
// keys sorted), ranks x threads x nodes, reps, warm-up and seed. "" when one of them is missing
// or has another type (a record that is not hybridkit's).
std::string resume_key(const nlohmann::json& record);

// The keys of the records with status "ok" in a JSONL file (a missing file has none). Lines that
// are not records, or lack what the key needs, are skipped with a warning naming the file and line.
struct DoneRuns {
  std::unordered_set<std::string> keys;
  std::vector<std::string> warnings;
};
DoneRuns ok_runs(const std::string& path);

}  // namespace hk::pipeline
