#include "resume.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "hk/json_text.hpp"
#include "hk/record.hpp"

namespace hk::pipeline {

using nlohmann::json;

namespace {

bool is_count(const json& record, const char* name) {
  return record.contains(name) && record[name].is_number_integer();
}

}  // namespace

std::string resume_key(const json& record) {
  if (!record.is_object()) return "";
  for (const char* name : {"kernel", "variant"})
    if (!record.contains(name) || !record[name].is_string()) return "";
  if (!record.contains("params") || !record["params"].is_object()) return "";
  for (const char* name : {"ranks", "threads", "nodes", "reps", "warmup", "seed"})
    if (!is_count(record, name)) return "";
  return fmt::format("{}\t{}\t{}\t{}x{}x{}\treps={} warmup={} seed={}", record["kernel"].get<std::string>(),
                     record["variant"].get<std::string>(), json_text(record["params"]), record["ranks"].dump(),
                     record["threads"].dump(), record["nodes"].dump(), record["reps"].dump(),
                     record["warmup"].dump(), record["seed"].dump());
}

DoneRuns ok_runs(const std::string& path) {
  DoneRuns done;
  if (access(path.c_str(), F_OK) != 0) return done;
  const RecordFile file = read_records(path);
  done.warnings = file.errors;
  for (std::size_t i = 0; i < file.records.size(); ++i) {
    const json& record = file.records[i];
    if (!record.contains("status") || !record["status"].is_string()) {
      done.warnings.push_back(fmt::format("{}: record {}: no status string, skipped", path, i + 1));
      continue;
    }
    if (record["status"] != "ok") continue;
    const std::string key = resume_key(record);
    if (key.empty())
      done.warnings.push_back(fmt::format("{}: record {}: lacks the fields of a hybridkit record, skipped", path, i + 1));
    else
      done.keys.insert(key);
  }
  return done;
}

}  // namespace hk::pipeline
