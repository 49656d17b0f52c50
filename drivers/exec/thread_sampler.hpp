#pragma once
// What hk-exec-wrap sees of a program it runs: every thread of the program (and of the processes
// it starts), read from /proc/PID/task/TID/{stat,status} while the program runs. Threads that
// appear later are added when first seen; a thread that ends keeps its last observation.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hk::exec {

// The fields of /proc/PID/task/TID/stat the sampler uses.
struct StatFields {
  std::string name;          // field 2 (comm), without its parentheses
  char state = '?';          // field 3
  std::uint64_t utime = 0;   // field 14, clock ticks
  std::uint64_t stime = 0;   // field 15, clock ticks
  int processor = -1;        // field 39: the CPU the thread last ran on
};
// Parses one stat line; nullopt when it is not one (the name may hold spaces and parentheses:
// the fields after it are found from the last ')').
std::optional<StatFields> parse_stat_line(std::string_view line);
// Time on a CPU from /proc/.../schedstat's first field (nanoseconds): finer than stat's clock ticks
// (10 ms), so a thread that worked 5 ms does not read as idle. nullopt without schedstat.
std::optional<double> run_time_seconds(std::string_view schedstat_text);
// "0-3,6" -> {0,1,2,3,6}; empty for text that is not a CPU list.
std::vector<int> parse_cpu_list(std::string_view text);
// The Cpus_allowed_list value of a /proc status text, "" when absent.
std::string cpus_allowed_list(std::string_view status_text);

struct ThreadObservation {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string name;
  int last_cpu = -1;
  std::map<int, int> cpu_samples;  // CPU -> samples that found the thread last on it
  std::string allowed_cpus;        // last Cpus_allowed_list seen
  double cpu_time_s = 0;           // time on a CPU at the last sample (schedstat, else stat ticks)
  double first_seen_s = 0;         // since the program started
  double last_seen_s = 0;
  int samples = 0;
};

class ThreadSampler {
 public:
  // proc_root: "/proc" (tests may point elsewhere).
  explicit ThreadSampler(pid_t program, std::string proc_root = "/proc");
  // Reads every thread of the program and of its descendants once; `at_s`: seconds since start.
  void sample(double at_s);
  int samples() const { return samples_; }
  // In order of first appearance (the program's main thread first).
  const std::vector<ThreadObservation>& threads() const { return threads_; }
  nlohmann::json to_json() const;

 private:
  void sample_process(pid_t pid, double at_s, int depth);
  void sample_thread(pid_t pid, pid_t tid, double at_s);
  pid_t program_;
  std::string proc_root_;
  double seconds_per_tick_;
  int samples_ = 0;
  std::vector<ThreadObservation> threads_;
  std::map<pid_t, std::size_t> index_of_tid_;
};

}  // namespace hk::exec
