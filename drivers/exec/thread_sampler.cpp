#include "thread_sampler.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace hk::exec {

using nlohmann::json;

namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Numeric entries of a directory (the tasks of /proc/PID/task).
std::vector<pid_t> numeric_entries(const std::string& path) {
  std::vector<pid_t> ids;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return ids;
  while (const dirent* entry = readdir(dir)) {
    pid_t id = 0;
    const std::string_view name(entry->d_name);
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (error == std::errc() && end == name.data() + name.size()) ids.push_back(id);
  }
  closedir(dir);
  return ids;
}

template <typename Number>
bool parse_number(std::string_view word, Number& value) {
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  return error == std::errc() && end == word.data() + word.size();
}

}  // namespace

std::optional<double> run_time_seconds(std::string_view schedstat_text) {
  unsigned long long nanoseconds = 0;
  const auto space = schedstat_text.find(' ');
  if (space == std::string_view::npos || !parse_number(schedstat_text.substr(0, space), nanoseconds)) return std::nullopt;
  return static_cast<double>(nanoseconds) * 1e-9;
}

std::optional<StatFields> parse_stat_line(std::string_view line) {
  const auto open = line.find('(');
  const auto close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  StatFields fields;
  fields.name = std::string(line.substr(open + 1, close - open - 1));
  // Field 3 onwards, space separated.
  std::vector<std::string_view> rest;
  std::size_t at = close + 1;
  while (at < line.size()) {
    while (at < line.size() && (line[at] == ' ' || line[at] == '\n')) ++at;
    const std::size_t end = line.find_first_of(" \n", at);
    if (at < line.size()) rest.push_back(line.substr(at, end == std::string_view::npos ? end : end - at));
    at = end == std::string_view::npos ? line.size() : end;
  }
  // rest[0] is field 3; field N is rest[N - 3].
  if (rest.size() < 37 || rest[0].size() != 1) return std::nullopt;
  fields.state = rest[0][0];
  if (!parse_number(rest[11], fields.utime) || !parse_number(rest[12], fields.stime) ||
      !parse_number(rest[36], fields.processor))
    return std::nullopt;
  return fields;
}

std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    const auto dash = part.find('-');
    int first = 0, last = 0;
    if (!parse_number(part.substr(0, dash), first)) return {};
    last = first;
    if (dash != std::string_view::npos && !parse_number(part.substr(dash + 1), last)) return {};
    if (last < first || last - first > 1 << 16) return {};
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return cpus;
}

std::string cpus_allowed_list(std::string_view status_text) {
  constexpr std::string_view key = "Cpus_allowed_list:";
  const auto at = status_text.find(key);
  if (at == std::string_view::npos) return "";
  std::size_t begin = at + key.size();
  while (begin < status_text.size() && (status_text[begin] == ' ' || status_text[begin] == '\t')) ++begin;
  const auto end = status_text.find('\n', begin);
  return std::string(status_text.substr(begin, end == std::string_view::npos ? end : end - begin));
}

ThreadSampler::ThreadSampler(pid_t program, std::string proc_root)
    : program_(program), proc_root_(std::move(proc_root)) {
  const long ticks = sysconf(_SC_CLK_TCK);
  seconds_per_tick_ = ticks > 0 ? 1.0 / static_cast<double>(ticks) : 0.01;
}

void ThreadSampler::sample(double at_s) {
  ++samples_;
  sample_process(program_, at_s, 0);
}

void ThreadSampler::sample_process(pid_t pid, double at_s, int depth) {
  const std::string tasks = proc_root_ + "/" + std::to_string(pid) + "/task";
  for (const pid_t tid : numeric_entries(tasks)) {
    sample_thread(pid, tid, at_s);
    // Processes the program started (a script's real program, helpers); bounded depth.
    if (depth >= 8) continue;
    std::istringstream children(read_small_file(tasks + "/" + std::to_string(tid) + "/children"));
    pid_t child = 0;
    while (children >> child) sample_process(child, at_s, depth + 1);
  }
}

void ThreadSampler::sample_thread(pid_t pid, pid_t tid, double at_s) {
  const std::string base = proc_root_ + "/" + std::to_string(pid) + "/task/" + std::to_string(tid);
  const auto stat = parse_stat_line(read_small_file(base + "/stat"));
  if (!stat) return;  // ended between the listing and the read
  const std::string allowed = cpus_allowed_list(read_small_file(base + "/status"));
  auto [where, added] = index_of_tid_.try_emplace(tid, threads_.size());
  if (added) {
    ThreadObservation fresh;
    fresh.pid = pid;
    fresh.tid = tid;
    fresh.first_seen_s = at_s;
    threads_.push_back(fresh);
  }
  ThreadObservation& thread = threads_[where->second];
  thread.name = stat->name;
  thread.last_cpu = stat->processor;
  ++thread.cpu_samples[stat->processor];
  if (!allowed.empty()) thread.allowed_cpus = allowed;
  thread.cpu_time_s = run_time_seconds(read_small_file(base + "/schedstat"))
                          .value_or(static_cast<double>(stat->utime + stat->stime) * seconds_per_tick_);
  thread.last_seen_s = at_s;
  ++thread.samples;
}

json ThreadSampler::to_json() const {
  json list = json::array();
  for (const auto& t : threads_) {
    json cpus = json::object();
    for (const auto& [cpu, count] : t.cpu_samples) cpus[std::to_string(cpu)] = count;
    list.push_back({{"pid", t.pid}, {"tid", t.tid}, {"name", t.name}, {"cpu", t.last_cpu},
                    {"cpu_samples", cpus}, {"allowed_cpus", t.allowed_cpus}, {"cpu_time_s", t.cpu_time_s},
                    {"first_seen_s", t.first_seen_s}, {"last_seen_s", t.last_seen_s}, {"samples", t.samples}});
  }
  return list;
}

}  // namespace hk::exec
