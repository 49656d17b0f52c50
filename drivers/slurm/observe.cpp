#include "observe.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sstream>

#include "array.hpp"
#include "files.hpp"
#include "hk/record.hpp"

namespace hk::slurm {

namespace fs = std::filesystem;
using nlohmann::json;

std::string expand_log_pattern(const std::string& pattern, const std::string& array_job, const std::string& task,
                               const std::string& job) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char c = pattern[++i];
    if (c == 'A') out += array_job.empty() ? job : array_job;
    else if (c == 'a') out += task;
    else if (c == 'j') out += job;
    else if (c == '%') out += '%';
    else out += std::string("%") + c;
  }
  return out;
}

namespace {

// The tasks known so far, in the order they were first seen, with what each runs and its log.
struct KnownTasks {
  std::vector<std::string> order;
  std::map<std::string, std::string> mixes, logs;
  void remember(const std::string& key) {
    if (std::find(order.begin(), order.end(), key) == order.end()) order.push_back(key);
  }
};

// Array submissions: every task is known from the moment it was submitted.
void read_submissions(const fs::path& slurm, KnownTasks& known, std::vector<std::string>& warnings) {
  const std::string path = (slurm / "submissions.jsonl").string();
  if (!fs::exists(path)) return;
  const RecordFile file = read_records(path);
  warnings.insert(warnings.end(), file.errors.begin(), file.errors.end());
  for (std::size_t n = 0; n < file.records.size(); ++n) {
    Submission submission;
    try {
      submission = file.records[n].get<Submission>();
    } catch (const json::exception& e) {
      warnings.push_back(fmt::format("{}: submission {}: not a submission of hk slurm submit ({}), skipped", path,
                                     n + 1, e.what()));
      continue;
    }
    for (std::size_t i = 0; i < submission.mixes.size(); ++i) {
      const std::string key = task_key(submission.job, std::to_string(i));
      known.remember(key);
      known.mixes[key] = submission.mixes[i];
      known.logs[key] = expand_log_pattern(submission.log, submission.job, std::to_string(i), submission.job);
    }
  }
}

// One marker file into `markers`; false (and why) when it is not one.
bool read_marker(const fs::path& path, bool start, std::map<std::string, Marker>& markers, std::string& why) {
  const json data = json::parse(read_file_tail(path.string(), 1 << 16), nullptr, false);
  if (data.is_discarded() || !data.is_object()) return why = "not a JSON object", false;
  const std::string key = string_field(data, "key");
  if (key.empty()) return why = "no task key", false;
  const json exit_code = field_value(data, "exit_code");
  if (!start && !exit_code.is_number_integer()) return why = "no exit code", false;
  Marker& marker = markers[key];
  marker.key = key;
  if (start) {
    marker.started_marked = true;
    marker.mix = string_field(data, "mix");
    marker.host = string_field(data, "host");
    marker.started = string_field(data, "time");
    marker.log = string_field(data, "log");
    return true;
  }
  marker.ended_marked = true;
  marker.exit_code = exit_code.get<int>();
  marker.ended = string_field(data, "time");
  return true;
}

std::map<std::string, Marker> read_markers(const fs::path& slurm, std::vector<std::string>& warnings) {
  std::map<std::string, Marker> markers;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(slurm / "tasks", error)) {
    const std::string name = entry.path().filename().string();
    const bool start = name.size() > 6 && name.ends_with(".start");
    const bool end = name.size() > 5 && name.ends_with(".exit");
    if (!start && !end) continue;  // a marker being written is KEY.start.tmpPID
    std::string why;
    if (!read_marker(entry.path(), start, markers, why))
      warnings.push_back(fmt::format("{}: not a task marker ({}), skipped", entry.path().string(), why));
  }
  return markers;
}

void add_markers_and_jobs(const std::map<std::string, Marker>& markers, const std::string& jobs, KnownTasks& known) {
  std::vector<std::string> marker_keys;
  for (const auto& [key, marker] : markers) marker_keys.push_back(key);
  std::sort(marker_keys.begin(), marker_keys.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(a.size(), a) < std::make_pair(b.size(), b);
  });
  for (const auto& key : marker_keys) known.remember(key);
  // Jobs named on the command line (submitted by hand, maybe not started yet).
  std::istringstream requested(jobs);
  std::string job;
  while (std::getline(requested, job, ',')) {
    if (job.empty()) continue;
    const bool covered = std::any_of(known.order.begin(), known.order.end(), [&](const std::string& key) {
      return key == job || key.rfind(job + "_", 0) == 0;
    });
    if (!covered) known.remember(job);
  }
}

// squeue for the jobs we know; an array whose tasks are not split off yet ("A_[0-3]") is expanded.
std::map<std::string, QueueEntry> ask_queue(const KnownTasks& known, Snapshot& snap) {
  std::map<std::string, QueueEntry> queue;
  std::set<std::string> job_ids;
  for (const auto& key : known.order) job_ids.insert(key.substr(0, key.find('_')));
  if (job_ids.empty()) return queue;
  std::string list;
  for (const auto& id : job_ids) list += (list.empty() ? "" : ",") + id;
  std::string output;
  const int status = capture({"squeue", "-h", "-r", "-a", "-j", list, "-o", "%i|%T|%r|%N"}, output);
  if (status == 0) {
    queue = parse_squeue(output);
  } else if (output.find("Invalid job id") == std::string::npos) {
    snap.queue_ok = false;
    snap.note = "squeue failed: " + first_line(output);
  }
  for (const auto& [key, entry] : std::map<std::string, QueueEntry>(queue)) {
    const auto open = key.find("_[");
    if (open == std::string::npos) continue;
    for (const auto& task : known.order)
      if (task.rfind(key.substr(0, open) + "_", 0) == 0 && !queue.count(task)) queue[task] = entry;
  }
  return queue;
}

std::string env_or(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : "";
}

std::string jobcomp_path(const ObserveRequest& r, std::string& note) {
  if (!r.jobcomp.empty()) return r.jobcomp;
  if (const std::string from_env = env_or("HK_SLURM_JOBCOMP"); !from_env.empty()) return from_env;
  std::string config;
  if (capture({"scontrol", "show", "config"}, config, false) != 0) {
    note = "no JobComp file: 'scontrol show config' failed";
    return "";
  }
  std::string type, location, line;
  std::istringstream lines(config);
  while (std::getline(lines, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    name.erase(name.find_last_not_of(' ') + 1);
    if (name == "JobCompType") type = line.substr(eq + 3);
    if (name == "JobCompLoc") location = line.substr(eq + 3);
  }
  if (type.find("filetxt") == std::string::npos) {
    note = fmt::format("no JobComp file (JobCompType={}): finished jobs judged by their markers and logs",
                       type.empty() ? "?" : type);
    return "";
  }
  return location;
}

}  // namespace

Snapshot gather(const ObserveRequest& r) {
  Snapshot snap;
  const fs::path slurm = fs::path(r.dir) / "slurm";
  KnownTasks known;
  read_submissions(slurm, known, snap.warnings);
  const auto markers = read_markers(slurm, snap.warnings);
  add_markers_and_jobs(markers, r.jobs, known);
  const auto queue = ask_queue(known, snap);
  std::string jobcomp_note;
  const std::string jobcomp_file = jobcomp_path(r, jobcomp_note);
  const auto jobcomp = jobcomp_file.empty() ? std::map<std::string, JobCompEntry>{}
                                            : parse_jobcomp(read_file_tail(jobcomp_file, 64 << 20));
  if (!jobcomp_note.empty()) snap.note += (snap.note.empty() ? "" : "; ") + jobcomp_note;
  for (const auto& key : known.order) {
    const auto q = queue.find(key);
    const auto c = jobcomp.find(key);
    const auto m = markers.find(key);
    const Marker* marker = m == markers.end() ? nullptr : &m->second;
    const std::string log = marker && !marker->log.empty() ? marker->log : known.logs[key];
    const bool need_log = q == queue.end() && c == jobcomp.end();
    TaskStatus status = classify(key, q == queue.end() ? nullptr : &q->second, snap.queue_ok,
                                 c == jobcomp.end() ? nullptr : &c->second, marker,
                                 need_log && !log.empty() ? read_file_tail(log, 1 << 16) : "");
    if (status.mix.empty()) status.mix = known.mixes.count(key) ? known.mixes[key] : "?";
    if (status.log.empty()) status.log = log;
    snap.tasks.push_back(status);
  }
  return snap;
}

}  // namespace hk::slurm
