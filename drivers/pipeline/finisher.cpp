#include "finisher.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <regex>

#include "hk/errors.hpp"
#include "hk/record.hpp"

namespace hk::pipeline {

using nlohmann::json;

int signal_in_text(const std::string& text) {
  static const std::regex open_mpi(R"(exited on signal (\d+))");
  std::smatch match;
  if (std::regex_search(text, match, open_mpi)) {
    try {
      return std::stoi(match[1]);
    } catch (const std::exception&) {
      return 0;
    }
  }
  // Slurm names the signal in words: "task 0: Segmentation fault (core dumped)".
  static const std::vector<std::pair<std::string, int>> words = {
      {"Segmentation fault", SIGSEGV}, {"Bus error", SIGBUS},       {"Aborted", SIGABRT},
      {"Floating point exception", SIGFPE}, {"Illegal instruction", SIGILL}, {"Killed", SIGKILL}};
  for (const auto& [word, number] : words)
    if (text.find("task") != std::string::npos && text.find(word) != std::string::npos) return number;
  return 0;
}

bool launch_failure_in_text(const std::string& text) {
  static const std::vector<std::string> phrases = {
      "was unable to launch the specified application",  // Open MPI: exits 132 (not signal 4)
      "could not access or execute an executable",
      "not enough slots available",
      "was unable to find the specified executable",
      "execve(): ",            // slurmstepd
      "execvp error on file",  // MPICH's Hydra
      "cannot start '",        // our own fork/exec
  };
  return std::any_of(phrases.begin(), phrases.end(),
                     [&](const std::string& phrase) { return text.find(phrase) != std::string::npos; });
}

namespace {

std::string with_tail(std::string reason, const std::string& tail) {
  if (!tail.empty()) reason += "; last lines of stderr:\n" + tail;
  return reason;
}

// A rank that died by a signal: the launcher exits non-zero and names the signal, or exits with
// 128 + S when it does not name it (and did not just fail to start the program).
int rank_signal(const ChildOutcome& outcome) {
  if (outcome.exit_status == 0) return 0;
  if (const int named = signal_in_text(outcome.stderr_tail)) return named;
  if (outcome.exit_status > 128 && outcome.exit_status < 128 + 65 && !launch_failure_in_text(outcome.stderr_tail))
    return outcome.exit_status - 128;
  return 0;
}

std::string error_reason(const ChildOutcome& outcome, const json& record) {
  const std::string recorded = hk::string_field(record, "error");
  if (!recorded.empty()) return fmt::format("exit status {}: {}", outcome.exit_status, recorded);
  if (outcome.exit_status == 0) return "exit status 0 but hk-kernel wrote no record";
  if (launch_failure_in_text(outcome.stderr_tail))
    return fmt::format("the launcher could not start the program (exit status {})", outcome.exit_status);
  return fmt::format("exit status {}", outcome.exit_status);
}

}  // namespace

Classification classify(const ChildOutcome& outcome, const json& record, double timeout_s) {
  Classification c;
  auto verdict = [&](const char* status, int signal, std::string reason, bool tail) {
    c.status = status;
    c.signal = signal;
    c.reason = std::move(reason);
    c.error = tail ? with_tail(c.reason, outcome.stderr_tail) : c.reason;
    return c;
  };
  if (outcome.timed_out)
    return verdict("timeout", 0, fmt::format("killed after the time limit of {} s (whole process group)", timeout_s),
                   false);
  if (outcome.signal != 0)
    return verdict("crashed", outcome.signal,
                   fmt::format("the launcher died by signal {} ({})", outcome.signal, strsignal(outcome.signal)), true);
  const std::string recorded = hk::string_field(record, "status");
  if (outcome.exit_status == 0 && recorded == "ok") return verdict("ok", 0, "", false);
  if (recorded == "verify_failed") {
    const std::string error = hk::string_field(record, "error");
    return verdict("verify_failed", 0,
                   !error.empty() ? error : "verification failed: " + hk::string_field(record, "verification.method"),
                   false);
  }
  if (const int sig = rank_signal(outcome))
    return verdict("crashed", sig, fmt::format("a rank died by signal {} ({})", sig, strsignal(sig)), true);
  return verdict("error", 0, error_reason(outcome, record), true);
}

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    const std::size_t dash = item.find('-');
    try {
      if (dash == std::string::npos) {
        cpus.push_back(std::stoi(item));
      } else {
        const int last = std::min(std::stoi(item.substr(dash + 1)), std::stoi(item.substr(0, dash)) + 65536);
        for (int c = std::stoi(item.substr(0, dash)); c <= last; ++c) cpus.push_back(c);
      }
    } catch (const std::exception&) {
      // not a CPU list: ignore the item
    }
    start = comma + 1;
  }
  return cpus;
}

std::vector<std::string> placement_mismatches(const json& placement, bool expect_distinct_cores) {
  std::vector<std::string> problems;
  if (!expect_distinct_cores || !placement.is_array()) return problems;
  std::map<std::pair<std::string, int>, std::string> owner;  // (host, cpu) -> "rank r thread t"
  for (const auto& p : placement) {
    if (!p.is_object()) continue;
    const std::string host = hk::string_field(p, "host");
    auto number = [&](const char* name) {
      const json value = hk::field_value(p, name);
      return value.is_number_integer() ? value.get<int>() : -1;
    };
    const std::string who = fmt::format("rank {} thread {}", number("rank"), number("thread"));
    const std::string allowed_text = hk::string_field(p, "allowed_cpus");
    const std::vector<int> allowed = parse_cpu_list(allowed_text);
    const int ran_on = number("cpu");
    if (std::find(allowed.begin(), allowed.end(), ran_on) == allowed.end())
      problems.push_back(fmt::format("{} ran on CPU {} outside its allowed CPUs {}", who, ran_on, allowed_text));
    for (int cpu : allowed) {
      auto [it, fresh] = owner.emplace(std::make_pair(host, cpu), who);
      if (!fresh) {
        problems.push_back(fmt::format("{} and {} may both run on CPU {} of {}: threads are not on distinct cores",
                                       it->second, who, cpu, host));
        break;
      }
    }
  }
  return problems;
}

namespace {

// The record hk-kernel wrote for this configuration, or null.
json own_record(const std::string& path) {
  if (path.empty() || access(path.c_str(), F_OK) != 0) return nullptr;
  const RecordFile file = read_records(path);
  return file.records.empty() ? json(nullptr) : file.records.back();
}

}  // namespace

void add_warning(json& record, const std::string& warning) {
  if (!record.contains("warnings") || !record["warnings"].is_array()) record["warnings"] = json::array();
  record["warnings"].push_back(warning);
}

void add_launch_warnings(Finished& f, const Configuration& config, const std::string& who) {
  if (config.oversubscribed) {
    add_warning(f.record, fmt::format("{}: mix {} oversubscribes the {} physical core(s)", who, config.run.mix.label(),
                                      static_cast<long long>(config.spec.cores_per_node) * config.spec.nodes));
  }
  for (const auto& problem : f.placement_problems)
    add_warning(f.record, who + ": placement does not match the binding asked for: " + problem);
}

Finished finish(const Configuration& config, const ChildOutcome& outcome, double timeout_s,
                const std::string& started_at, const std::string& who) {
  Finished f;
  f.record = own_record(config.record_path);
  f.verdict = classify(outcome, f.record, timeout_s);
  if (!f.record.is_object()) f.record = expected_record(config, started_at);
  f.record["status"] = f.verdict.status;
  if (!f.verdict.error.empty()) f.record["error"] = f.verdict.error;
  if (f.verdict.status == "ok" && f.record.contains("placement"))
    f.placement_problems = placement_mismatches(f.record["placement"], !config.oversubscribed);
  add_launch_warnings(f, config, who);
  return f;
}

json sweep_block(const Configuration& config, const ChildOutcome& outcome, const Finished& finished,
                 const SweepContext& sweep, const std::string& stdout_path, const std::string& stderr_path) {
  json block = make_field_block("sweep");
  const auto set = [&](const char* name, json value) {
    if (!block.contains(name)) throw RuntimeError(fmt::format("sweep.{} is not in the record's field table", name));
    block[name] = std::move(value);
  };
  set("scaling", scaling_name(sweep.scaling));
  set("budget_cores", static_cast<long long>(sweep.cores_per_node) * config.run.nodes);
  set("cores", config.run.mix.cores());
  set("nodes", config.run.nodes);
  set("families", config.run.families);
  set("weak_factor", config.run.weak_factor);
  set("launcher", sweep.launcher);
  set("launch", config.command.display());
  set("exit_status", outcome.exited ? json(outcome.exit_status) : json(nullptr));
  set("signal", finished.verdict.signal ? json(finished.verdict.signal) : json(nullptr));
  set("timeout_s", sweep.timeout_s);
  set("wall_s", outcome.seconds);
  set("oversubscribed", config.oversubscribed);
  set("aligned", config.layout ? json(config.layout->aligned) : json(nullptr));
  set("placement_ok", finished.placement_problems.empty());
  set("stdout", stdout_path);
  set("stderr", stderr_path);
  set("key", config.key);
  return block;
}

std::vector<std::string> append_record(const json& record, const std::string& jsonl, const std::string& csv) {
  std::vector<std::string> notes;
  const auto note = [&](const std::string& path, std::size_t torn) {
    if (torn > 0) notes.push_back(fmt::format("{}: removed a torn last line ({} bytes) before appending", path, torn));
  };
  if (!jsonl.empty()) note(jsonl, append_record_jsonl(jsonl, record));
  if (!csv.empty()) note(csv, append_record_csv(csv, record));
  return notes;
}

std::string outcome_line(const Finished& finished) {
  const json& r = finished.record;
  std::string line = finished.verdict.status;
  if (finished.verdict.status == "ok") {
    const json median = hk::field_value(r, "time_s.median"), rate = hk::field_value(r, "rate.value");
    if (median.is_number()) line += fmt::format(", median {:.4g} s", median.get<double>());
    if (rate.is_number()) line += fmt::format(", {:.4g} {}", rate.get<double>(), hk::string_field(r, "rate.unit"));
    return line;
  }
  std::string why = finished.verdict.error;
  std::replace(why.begin(), why.end(), '\n', ' ');
  return line + " — " + (why.size() > 240 ? why.substr(0, 240) + "..." : why);
}

}  // namespace hk::pipeline
