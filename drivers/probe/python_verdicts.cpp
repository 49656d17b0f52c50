// hk probe's Python rows, the judging part: verdicts (a pure function of the trials), figures
// with units, the table rows and the JSON.
//
// Timing verdicts are asserted on quiet trials only: a trial in which some task waited for a CPU
// more than kQuietStall of the time (/proc/pressure/cpu) was slowed down by other programs, and a
// speed-up measured there says nothing about the lock. When no trial was quiet the verdict is
// reported, not asserted, with that reason. Within the quiet trials the best (shortest) one of
// each variant counts: load only ever makes a trial longer.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "probe.hpp"
#include "python_probe.hpp"

namespace hk::probe {

namespace {

bool quiet(const PyTrial& t) { return t.stall < 0 || t.stall <= kQuietStall; }

std::optional<double> best_quiet(const std::vector<PyTrial>* trials) {
  std::optional<double> best;
  if (trials)
    for (const PyTrial& t : *trials)
      if (quiet(t) && (!best || t.wall_s < *best)) best = t.wall_s;
  return best;
}

const std::vector<PyTrial>* find(const std::map<std::string, std::vector<PyTrial>>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() || it->second.empty() ? nullptr : &it->second;
}

double median_wall(const std::vector<PyTrial>& trials) {
  std::vector<double> walls;
  for (const PyTrial& t : trials) walls.push_back(t.wall_s);
  return median(walls);
}

std::string speed(double ratio) { return speedup_text(ratio); }

// Why a timing verdict is not asserted: the least contended trial of the series that had no quiet
// trial (the other series may have had one; quoting its 0% would contradict "busy").
std::string busy_reason(const std::vector<const std::vector<PyTrial>*>& series) {
  double least = 1;
  for (const auto* trials : series)
    if (trials && !best_quiet(trials))
      for (const PyTrial& t : *trials) least = std::min(least, t.stall);
  return fmt::format("not asserted: CPUs busy (tasks waited for a CPU {:.0f}% of the time at best; quiet: <= {:.0f}%)",
                     100 * least, 100 * kQuietStall);
}

// A speed-up of `variant` over `base` from their best quiet trials, `count` waits or 1.
struct Speedup {
  std::optional<double> value;
  std::string busy;  // why there is none
};

Speedup quiet_speedup(const std::vector<PyTrial>* base, const std::vector<PyTrial>* variant, double count) {
  const auto b = best_quiet(base), v = best_quiet(variant);
  if (b && v && *v > 0) return {count * *b / *v, ""};
  return {std::nullopt, busy_reason({base, variant})};
}

PythonVerdict cpu_threads_verdict(const PythonRun& run, int cores) {
  PythonVerdict v{"CPU-bound Python on threads", false, true, ""};
  if (cores < 2) {
    v.text = "not asserted: 1 usable core, nothing can run in parallel";
    return v;
  }
  const Speedup s = quiet_speedup(find(run.cpu, "one_thread"), find(run.cpu, "threads"), 1);
  if (!s.value) {
    v.text = s.busy;
  } else if (run.gil_enabled) {
    v.asserted = true;
    v.holds = *s.value <= kGilThreadsAtMost;
    v.text = fmt::format("GIL on: {} threads {} over 1 thread (at most {:.1f}x){}", run.workers, speed(*s.value),
                         kGilThreadsAtMost, v.holds ? ": they take turns at the lock" : "");
  } else {
    v.text = fmt::format("GIL off: {} threads ran the loop {} faster than 1 (no lock to take turns at)", run.workers,
                         speed(*s.value));
  }
  return v;
}

PythonVerdict cpu_processes_verdict(const PythonRun& run, int cores, const std::string& method) {
  PythonVerdict v{fmt::format("CPU-bound Python on processes ({})", method), false, true, ""};
  if (cores < 2) {
    v.text = "not asserted: 1 usable core, nothing can run in parallel";
  } else if (run.workers > cores) {
    v.text = fmt::format("not asserted: {} workers on {} cores wait for each other", run.workers, cores);
  } else if (const Speedup s = quiet_speedup(find(run.cpu, "one_thread"), find(run.cpu, "processes_" + method), 1);
             !s.value) {
    v.text = s.busy;
  } else {
    v.asserted = true;
    v.holds = *s.value >= kProcessesAtLeast;
    v.text = fmt::format("{} {} processes {} over 1 thread (at least {:.1f}x)", run.workers, method, speed(*s.value),
                         kProcessesAtLeast);
  }
  return v;
}

PythonVerdict io_verdict(const PythonRun& run, const std::string& variant, const std::string& what, int count,
                         bool asserted) {
  PythonVerdict v{fmt::format("I/O-bound: {} waits on {}", count, what), false, true, ""};
  const Speedup s = quiet_speedup(find(run.io, "one_wait"), find(run.io, variant), count);
  if (!s.value) {
    v.text = s.busy;
    return v;
  }
  v.asserted = asserted;
  v.holds = !asserted || *s.value >= kIoOverlapAtLeast * count;
  v.text = fmt::format("{} {} over one wait at a time{}", what, speed(*s.value),
                       asserted ? fmt::format(" (at least {:.1f}x)", kIoOverlapAtLeast * count) : ", reported");
  return v;
}

}  // namespace

double median_wall(const std::map<std::string, std::vector<PyTrial>>& variants, const std::string& variant) {
  const auto* trials = find(variants, variant);
  return trials ? median_wall(*trials) : 0;
}

std::string speedup_text(double ratio) {
  return ratio < 10 ? fmt::format("{:.2f}x", ratio) : fmt::format("{:.0f}x", ratio);
}

std::vector<PythonVerdict> judge_python(const PythonRun& run, int cores, bool assert_timing) {
  std::vector<PythonVerdict> verdicts;
  if (!run.available) return verdicts;
  verdicts.push_back(cpu_threads_verdict(run, cores));
  for (const char* method : {"fork", "spawn"})
    if (find(run.cpu, std::string("processes_") + method)) verdicts.push_back(cpu_processes_verdict(run, cores, method));
  verdicts.push_back(io_verdict(run, "threads", "threads", run.workers, true));
  verdicts.push_back(io_verdict(run, "asyncio", "asyncio tasks", run.workers, true));
  verdicts.push_back(io_verdict(run, "processes", run.io_start_method + " processes", run.workers, false));
  verdicts.push_back(io_verdict(run, "many_threads", "threads", run.many, true));
  verdicts.push_back(io_verdict(run, "many_asyncio", "asyncio tasks", run.many, true));
  verdicts.push_back(io_verdict(run, "many_processes", run.io_start_method + " processes", run.many, false));
  PythonVerdict data{"Data handed to a worker", true, run.thread_got_same_object && run.child_had_a_copy, "", false};
  data.text = fmt::format("thread {}, process {}", run.thread_got_same_object ? "got the same object" : "got NO shared object",
                          run.child_had_a_copy ? "got a copy" : "changed the sender's buffer");
  verdicts.push_back(data);
  for (const std::string& failure : run.verification_failures)
    verdicts.push_back({"The loop's result", true, false, failure, false});
  if (!assert_timing)
    for (PythonVerdict& v : verdicts)
      if (v.timing && v.asserted) {
        v.asserted = false;
        v.text += v.holds ? " (reported: --timing-verdicts report)" : " (did not hold; reported: --timing-verdicts report)";
      }
  return verdicts;
}

std::vector<std::string> check_python(const PythonResults& p) {
  std::vector<std::string> failures;
  for (const PythonRun& run : p.runs)
    for (const PythonVerdict& v : judge_python(run, p.cores, p.assert_timing))
      if (v.asserted && !v.holds) failures.push_back(fmt::format("{} ({}): {}: {}", run.label, run.requested, v.claim, v.text));
  if (p.cpp.measured && !p.cpp.verified) failures.push_back("C++ contrast: the loop summed to a wrong value");
  return failures;
}

// --- figures ------------------------------------------------------------------------------
namespace {

void add_run_figures(const PythonRun& run, std::map<std::string, Figure>& figures) {
  const std::string k = run.key + ".";
  auto wall = [&](const std::string& key, const std::vector<PyTrial>& trials, std::string what) {
    figures[key] = {median_wall(trials), "s", std::move(what), static_cast<int>(trials.size())};
  };
  auto ratio = [&](const std::string& key, double value, std::string what, int trials) {
    if (value > 0) figures[key] = {value, "x", std::move(what), trials};
  };
  const auto* one = find(run.cpu, "one_thread");
  for (const auto& [variant, trials] : run.cpu) {
    wall(k + "cpu." + variant, trials,
         fmt::format("pure-Python loop of {} iterations in all, {}: median wall time from the release of running "
                     "workers to the last one done (end_to_end: from creating them to joining them)",
                     run.cpu_iterations, variant));
    if (one && variant.find("end_to_end") == std::string::npos && variant != "one_thread")
      ratio(k + "cpu." + variant + "_speedup", median_wall(*one) / median_wall(trials),
            fmt::format("speed-up of the loop, {} over 1 thread (medians)", variant), static_cast<int>(trials.size()));
  }
  if (one) figures[k + "cpu.ns_per_iteration"] = {median_wall(*one) / static_cast<double>(run.cpu_iterations) * 1e9, "ns",
                                                  "one iteration of the pure-Python loop on 1 thread", static_cast<int>(one->size())};
  const auto* each = find(run.io, "one_wait");
  for (const auto& [variant, trials] : run.io) {
    wall(k + "io." + variant, trials, fmt::format("waits of {} s for a delay server over a UNIX socket, {}: median wall time",
                                                  run.wait_s, variant));
    const int count = variant.rfind("many_", 0) == 0 ? run.many : run.workers;
    if (each && variant != "one_wait" && variant != "in_turn")
      ratio(k + "io." + variant + "_speedup", count * median_wall(*each) / median_wall(trials),
            fmt::format("{} waits x one wait / wall time of {} (medians)", count, variant), static_cast<int>(trials.size()));
  }
  for (const auto& [name, seconds] : run.creation)
    figures[k + "creation." + name.substr(0, name.size() - 2)] = {
        median(seconds) * 1e6, "us", fmt::format("{} start + join of a worker that does nothing", name),
        static_cast<int>(seconds.size())};
  const double mib = static_cast<double>(run.data_bytes) / (1 << 20);
  figures[k + "data.thread_handoff"] = {median(run.data_thread_s) * 1e6, "us",
                                        fmt::format("a {:.0f} MiB bytearray put on a queue.Queue until a thread has it", mib),
                                        static_cast<int>(run.data_thread_s.size())};
  figures[k + "data.process_transfer"] = {
      median(run.data_process_s) * 1e6, "us",
      fmt::format("the same sent through a multiprocessing Pipe until a {} process has it", run.data_start_method),
      static_cast<int>(run.data_process_s.size())};
  figures[k + "data.process_pickled"] = {static_cast<double>(run.pickled_bytes) / (1 << 20), "MiB",
                                         "bytes pickled and written through the pipe for it", 1};
}

}  // namespace

void add_python_figures(const PythonResults& p, std::map<std::string, Figure>& figures) {
  for (const PythonRun& run : p.runs)
    if (run.available) add_run_figures(run, figures);
  if (!p.cpp.measured || p.cpp.one_thread_s.empty()) return;
  const int n = static_cast<int>(p.cpp.one_thread_s.size());
  const double one = median(p.cpp.one_thread_s), many = median(p.cpp.threads_s);
  const std::string loop = fmt::format("the same loop in C++, {} iterations", p.cpp.iterations);
  figures["cpp_contrast.one_thread"] = {one, "s", loop + ", 1 thread", n};
  figures["cpp_contrast.threads"] = {many, "s", fmt::format("{}, {} std::threads", loop, p.cpp.threads), n};
  figures["cpp_contrast.threads_speedup"] = {one / many, "x", "speed-up of the C++ loop on threads (medians)", n};
  figures["cpp_contrast.ns_per_iteration"] = {one / static_cast<double>(p.cpp.iterations) * 1e9, "ns",
                                              "one iteration of the C++ loop on 1 thread", n};
}

}  // namespace hk::probe
