#include "outcome.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <map>
#include <regex>
#include <set>

#include "hk/errors.hpp"
#include "hk/record.hpp"

namespace hk::sweep {

using nlohmann::json;

std::string resume_key(const std::string& kernel, const std::string& variant, const json& params, int ranks,
                       int threads, int nodes) {
  return fmt::format("{}\t{}\t{}\t{}x{}x{}", kernel, variant, params.dump(), ranks, threads, nodes);
}

std::string resume_key(const json& record) {
  return resume_key(record.value("kernel", ""), record.value("variant", ""), record.value("params", json::object()),
                    record.value("ranks", 0), record.value("threads", 0), record.value("nodes", 1));
}

std::unordered_set<std::string> ok_keys(const std::string& path, std::vector<std::string>* errors) {
  std::unordered_set<std::string> keys;
  if (access(path.c_str(), F_OK) != 0) return keys;
  RecordFile file = read_records(path);
  if (errors) *errors = file.errors;
  for (const auto& record : file.records)
    if (record.value("status", "") == "ok") keys.insert(resume_key(record));
  return keys;
}

int signal_in_text(const std::string& text) {
  static const std::regex open_mpi(R"(exited on signal (\d+))");
  std::smatch match;
  if (std::regex_search(text, match, open_mpi)) return std::stoi(match[1]);
  // Slurm names the signal in words: "task 0: Segmentation fault (core dumped)".
  static const std::vector<std::pair<std::string, int>> words = {
      {"Segmentation fault", SIGSEGV}, {"Bus error", SIGBUS},       {"Aborted", SIGABRT},
      {"Floating point exception", SIGFPE}, {"Illegal instruction", SIGILL}, {"Killed", SIGKILL}};
  for (const auto& [word, number] : words)
    if (text.find("task") != std::string::npos && text.find(word) != std::string::npos) return number;
  return 0;
}

Classification classify(const ChildOutcome& outcome, const json& record, const std::string& stderr_tail,
                        double timeout_s) {
  Classification c;
  auto with_tail = [&](std::string reason) {
    if (!stderr_tail.empty()) reason += "; last lines of stderr:\n" + stderr_tail;
    return reason;
  };
  if (outcome.timed_out) {
    c.status = "timeout";
    c.error = fmt::format("killed after the time limit of {} s (whole process group)", timeout_s);
    return c;
  }
  if (outcome.signal != 0) {
    c.status = "crashed";
    c.signal = outcome.signal;
    c.error = with_tail(fmt::format("the launcher died by signal {} ({})", outcome.signal, strsignal(outcome.signal)));
    return c;
  }
  const bool has_record = record.is_object() && record.contains("status");
  const std::string recorded = has_record ? record["status"].get<std::string>() : "";
  if (outcome.exit_status == 0 && recorded == "ok") {
    c.status = "ok";
    return c;
  }
  if (recorded == "verify_failed") {
    c.status = "verify_failed";
    c.error = string_field(record, "error");
    if (c.error.empty()) c.error = "verification failed: " + string_field(record, "verification.method");
    return c;
  }
  // A rank that died by a signal: the launcher exits non-zero and names the signal.
  // hk-kernel itself exits 0-3; launchers report a rank killed by signal S as 128 + S when
  // their message does not name it.
  int sig = outcome.exit_status != 0 ? signal_in_text(stderr_tail) : 0;
  if (sig == 0 && outcome.exit_status > 128 && outcome.exit_status < 128 + 65) sig = outcome.exit_status - 128;
  if (sig != 0) {
    c.status = "crashed";
    c.signal = sig;
    c.error = with_tail(fmt::format("a rank died by signal {} ({})", sig, strsignal(sig)));
    return c;
  }
  c.status = "error";
  if (has_record && !string_field(record, "error").empty()) {
    c.error = with_tail(fmt::format("exit status {}: {}", outcome.exit_status, string_field(record, "error")));
  } else if (outcome.exit_status == 0) {
    c.error = with_tail("exit status 0 but hk-kernel wrote no record");
  } else {
    c.error = with_tail(fmt::format("exit status {}", outcome.exit_status));
  }
  return c;
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
        for (int c = std::stoi(item.substr(0, dash)); c <= std::stoi(item.substr(dash + 1)); ++c) cpus.push_back(c);
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
    const std::string host = p.value("host", "");
    const std::string who = fmt::format("rank {} thread {}", p.value("rank", -1), p.value("thread", -1));
    const std::vector<int> allowed = parse_cpu_list(p.value("allowed_cpus", ""));
    const int ran_on = p.value("cpu", -1);
    if (std::find(allowed.begin(), allowed.end(), ran_on) == allowed.end()) {
      problems.push_back(fmt::format("{} ran on CPU {} outside its allowed CPUs {}", who, ran_on,
                                     p.value("allowed_cpus", "")));
    }
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

}  // namespace hk::sweep
