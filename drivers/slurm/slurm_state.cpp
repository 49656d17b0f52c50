#include "slurm_state.hpp"

#include <fmt/format.h>

#include <regex>
#include <sstream>

#include "hk/errors.hpp"

namespace hk::slurm {

std::string task_key(const std::string& job_id, const std::string& array_task_id) {
  return array_task_id.empty() ? job_id : job_id + "_" + array_task_id;
}

std::map<std::string, QueueEntry> parse_squeue(const std::string& text) {
  std::map<std::string, QueueEntry> entries;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream parts(line);
    while (std::getline(parts, field, '|')) fields.push_back(field);
    if (fields.size() < 2 || fields[0].empty()) continue;
    fields.resize(4);
    entries[fields[0]] = {fields[0], fields[1], fields[2], fields[3]};
  }
  return entries;
}

namespace {
// "3:0" -> {3, 0}
std::pair<int, int> exit_pair(const std::string& text) {
  const auto colon = text.find(':');
  try {
    return {std::stoi(text.substr(0, colon)), colon == std::string::npos ? 0 : std::stoi(text.substr(colon + 1))};
  } catch (const std::exception&) {
    return {0, 0};
  }
}
}  // namespace

std::optional<JobCompEntry> parse_jobcomp_line(const std::string& line) {
  // Fields are " Key=value"; values have no spaces except possibly Name, which we do not use.
  static const std::regex field(R"((?:^| )([A-Za-z]+)=(\S*))");
  std::map<std::string, std::string> values;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), field); it != std::sregex_iterator(); ++it)
    values[(*it)[1]] = (*it)[2];
  if (!values.count("JobId") || !values.count("JobState")) return std::nullopt;
  JobCompEntry entry;
  const auto array_job = values.find("ArrayJobId");
  const auto array_task = values.find("ArrayTaskId");
  if (array_job != values.end() && array_task != values.end() && !array_job->second.empty() &&
      array_job->second != "0")
    entry.key = task_key(array_job->second, array_task->second);
  else
    entry.key = values["JobId"];
  entry.state = values["JobState"];
  entry.nodes = values["NodeList"];
  entry.end_time = values["EndTime"];
  std::tie(entry.exit_code, entry.exit_signal) = exit_pair(values["ExitCode"]);
  std::tie(entry.derived_code, entry.derived_signal) = exit_pair(values["DerivedExitCode"]);
  return entry;
}

std::map<std::string, JobCompEntry> parse_jobcomp(const std::string& text) {
  std::map<std::string, JobCompEntry> entries;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (auto entry = parse_jobcomp_line(line)) entries[entry->key] = *entry;
  return entries;
}

std::string state_name(State state) {
  switch (state) {
    case State::pending: return "pending";
    case State::running: return "running";
    case State::ok: return "ok";
    case State::failed: return "failed";
    case State::timed_out: return "timed out";
    case State::cancelled: return "cancelled";
    case State::unknown: return "unknown";
  }
  return "unknown";
}

bool finished(State state) { return state != State::pending && state != State::running; }

TaskStatus classify(const std::string& key, const QueueEntry* queue, bool queue_ok, const JobCompEntry* jobcomp,
                    const Marker* marker, const std::string& log_text) {
  TaskStatus status;
  status.key = key;
  if (marker) {
    status.mix = marker->mix;
    status.log = marker->log;
  }
  if (queue) {
    const std::string& s = queue->state;
    if (s == "PENDING" || s == "CONFIGURING" || s == "REQUEUED" || s == "REQUEUE_HOLD" || s == "RESV_DEL_HOLD") {
      status.state = State::pending;
      status.detail = queue->reason.empty() ? s : queue->reason;
      return status;
    }
    if (s == "RUNNING" || s == "COMPLETING" || s == "SUSPENDED" || s == "STAGE_OUT" || s == "SIGNALING" ||
        s == "RESIZING" || s == "STOPPED") {
      status.state = State::running;
      status.detail = queue->nodes.empty() ? s : "on " + queue->nodes;
      return status;
    }
    // Any other state shown by squeue is a finished job: let the JobComp line decide.
  }
  if (jobcomp) {
    const std::string& s = jobcomp->state;
    status.detail = "JobComp: " + s;
    if (s == "TIMEOUT") {
      status.state = State::timed_out;
      status.detail += " (time limit reached)";
    } else if (s == "CANCELLED") {
      status.state = State::cancelled;
    } else if (s == "COMPLETED" && jobcomp->exit_code == 0 && jobcomp->exit_signal == 0 &&
               jobcomp->derived_code == 0 && jobcomp->derived_signal == 0) {
      status.state = State::ok;
    } else {
      // FAILED, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE, PREEMPTED, or a failed srun step
      // that only DerivedExitCode shows.
      status.state = State::failed;
      if (jobcomp->exit_signal != 0) {
        status.exit_code = 128 + jobcomp->exit_signal;
        status.detail += fmt::format(", killed by signal {}", jobcomp->exit_signal);
      } else if (jobcomp->exit_code != 0) {
        status.exit_code = jobcomp->exit_code;
      } else if (jobcomp->derived_code != 0 || jobcomp->derived_signal != 0) {
        status.exit_code = jobcomp->derived_code != 0 ? jobcomp->derived_code : 128 + jobcomp->derived_signal;
        status.detail += ", a job step failed (DerivedExitCode)";
      } else if (marker && marker->ended_marked && marker->exit_code != 0) {
        status.exit_code = marker->exit_code;
      }
    }
    return status;
  }
  if (!queue_ok) {
    status.state = State::unknown;
    status.detail = "squeue could not be asked and no JobComp line";
    return status;
  }
  // Finished, and no JobComp file: the markers and slurmstepd's line in the log decide.
  const bool time_limit = log_text.find("DUE TO TIME LIMIT") != std::string::npos;
  const bool cancelled = !time_limit && log_text.find(" CANCELLED AT ") != std::string::npos;
  if (time_limit) {
    status.state = State::timed_out;
    status.detail = "log: DUE TO TIME LIMIT";
  } else if (cancelled) {
    status.state = State::cancelled;
    status.detail = "log: CANCELLED";
  } else if (marker && marker->ended_marked) {
    status.exit_code = marker->exit_code;
    status.state = marker->exit_code == 0 ? State::ok : State::failed;
    status.detail = "exit marker";
  } else if (marker && marker->started_marked) {
    status.state = State::unknown;
    status.detail = "started but never marked its end, and not in the queue (killed? node lost?); see the log";
  } else {
    status.state = State::unknown;
    status.detail = "not in the queue and never started (cancelled while pending?)";
  }
  return status;
}

bool valid_time_limit(const std::string& text) {
  static const std::regex limit(R"([0-9]+(:[0-9]+){0,2}|[0-9]+-[0-9]+(:[0-9]+){0,2})");
  return std::regex_match(text, limit);
}

}  // namespace hk::slurm
