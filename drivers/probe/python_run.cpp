// hk probe's Python rows, the running part: find the interpreters and the script, run the
// script under each interpreter (with a time limit), read its trials back; and the same loop on
// C++ threads for contrast.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include "child_launch.hpp"
#include "hk/errors.hpp"
#include "hk/system.hpp"
#include "probe.hpp"
#include "python_probe.hpp"
#include "topology.hpp"

#ifndef HK_PROBE_PYTHON
#define HK_PROBE_PYTHON "/usr/bin/python3"
#endif

namespace hk::probe {

namespace fs = std::filesystem;

namespace {

constexpr const char* kScript = "hk_probe_python.py";
constexpr std::int64_t kCppIterationsPerPython = 100;  // C++ runs the loop ~100-400x faster per iteration

bool is_executable_file(const std::string& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

// A program as posix_spawnp finds it: a name with a '/' as given, else the first on PATH. Empty: none.
std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return is_executable_file(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  return "";
}

PythonRun unavailable_run(std::string label, std::string key, std::string requested, std::string reason) {
  PythonRun run;
  run.label = std::move(label);
  run.key = std::move(key);
  run.requested = std::move(requested);
  run.reason = std::move(reason);
  return run;
}

// The last non-empty line of a log: where Python puts the error of a traceback.
std::string last_line(const std::string& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line.substr(line.find_first_not_of(" \t"));
  return last.size() > 200 ? last.substr(0, 200) + "..." : last;
}

bool log_has(const std::string& log, const std::string& text) {
  std::ifstream in(log);
  std::stringstream all;
  all << in.rdbuf();
  return all.str().find(text) != std::string::npos;
}

std::vector<std::string> script_arguments(const PythonSettings& s, const std::string& out) {
  return {"--out", out,
          "--workers", std::to_string(s.workers),
          "--many", std::to_string(s.many),
          "--cpu-iterations", std::to_string(s.cpu_iterations),
          "--wait-s", fmt::format("{}", s.wait_s),
          "--trials", std::to_string(s.trials),
          "--create-trials", std::to_string(s.create_trials),
          "--data-bytes", std::to_string(s.data_bytes)};
}

// Runs the script under `run.requested`; fills the run or says why it is unavailable.
void run_interpreter(const PythonSettings& s, const std::string& script, PythonRun& run) {
  try {
    const ScratchDir scratch;
    const std::string out = scratch.path + "/python.json", log = scratch.path + "/python.log";
    std::vector<std::string> words = {run.requested, "-I", script};
    for (auto& word : script_arguments(s, out)) words.push_back(std::move(word));
    const LaunchResult launched = launch_and_wait(words, log, s.timeout_s, "--python-timeout");
    if (!launched.error.empty()) {
      run.reason = launched.exit_status != 0 && log_has(log, "Traceback (most recent call last)")
                       ? fmt::format("'{}' exited with status {}: {}", run.requested, launched.exit_status, last_line(log))
                       : launched.error;
      return;
    }
    if (!fs::exists(out)) {
      run.reason = fmt::format("'{}' exited 0 without writing the probe's result: not a Python 3 interpreter? ({})",
                               run.requested, first_message_line(log));
      return;
    }
    parse_python_result(read_json(out, kScript), run);
    run.available = true;
  } catch (const std::exception& e) {
    run.reason = e.what();
  }
}

// --- the C++ contrast ------------------------------------------------------------------
std::int64_t spin(std::int64_t start, std::int64_t stop) {
  std::int64_t x = 0;
  for (std::int64_t i = start; i < stop; ++i) {
    x += i & 7;
    asm volatile("" : "+r"(x));  // one add per iteration, as in Python: no vectorising, no closed form
  }
  return x;
}

std::int64_t spin_expected(std::int64_t n) { return n / 8 * 28 + (n % 8) * (n % 8 - 1) / 2; }

// Seconds for `threads` threads, released together, to run the loop over [0, iterations).
double cpp_trial(int threads, std::int64_t iterations, bool& verified) {
  std::vector<std::int64_t> sums(static_cast<std::size_t>(threads), 0);
  std::latch go(1);
  std::vector<std::thread> workers;
  for (int k = 0; k < threads; ++k) {
    workers.emplace_back([&, k] {
      go.wait();
      sums[static_cast<std::size_t>(k)] = spin(iterations * k / threads, iterations * (k + 1) / threads);
    });
  }
  const double t0 = monotonic_seconds();
  go.count_down();
  for (auto& w : workers) w.join();
  const double seconds = monotonic_seconds() - t0;
  std::int64_t total = 0;
  for (auto v : sums) total += v;
  if (total != spin_expected(iterations)) verified = false;
  return seconds;
}

// The CPUs this process may use, counting a core's hardware threads once: two hyperthreads of one
// core do not run two Python loops at twice the speed. (A VM may hide that its vCPUs share a core.)
int usable_cores() {
  const int cpus = static_cast<int>(allowed_cpus().size());
  const int cores = read_topology().cores;
  return cores > 0 ? std::min(cpus, cores) : cpus;
}

}  // namespace

std::string find_kit_file(const std::string& name, std::vector<std::string>* looked_at) {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return "";
  const fs::path bin = self.parent_path();
  for (const fs::path& candidate : {bin / name, bin.parent_path() / "share" / "hybridkit" / name}) {
    if (looked_at) looked_at->push_back(candidate.string());
    if (fs::is_regular_file(candidate, error)) return candidate.string();
  }
  return "";
}

PythonResults measure_python(const PythonSettings& s) {
  PythonResults p;
  p.measured = true;
  p.cores = usable_cores();
  p.assert_timing = s.assert_timing;
  // The chosen interpreter: --python, else Debian's, else python3 on PATH.
  std::string python = s.python.empty() ? which(HK_PROBE_PYTHON) : which(s.python);
  if (s.python.empty() && python.empty()) python = which("python3");
  PythonRun main_run = unavailable_run("python", "python", python.empty() ? s.python : python, "");
  if (python.empty())
    main_run.reason = s.python.empty() ? fmt::format("no Python found: {} is missing and there is no python3 on PATH "
                                                     "(--python PATH chooses one)", HK_PROBE_PYTHON)
                                       : fmt::format("--python: '{}' does not exist or is not executable", s.python);
  // A free-threaded interpreter side by side, when there is one.
  std::string free_threaded = s.free_threaded.empty() ? which("python3.14t") : which(s.free_threaded);
  if (s.free_threaded.empty() && free_threaded.empty()) free_threaded = which("python3.13t");
  PythonRun ft_run = unavailable_run("free-threaded python", "python_free_threaded",
                                     free_threaded.empty() ? s.free_threaded : free_threaded, "");
  if (free_threaded.empty())
    ft_run.reason = s.free_threaded.empty()
                        ? "no free-threaded interpreter (python3.14t, python3.13t) on PATH; Debian 12 packages none "
                          "(--free-threaded-python PATH names one)"
                        : fmt::format("--free-threaded-python: '{}' does not exist or is not executable", s.free_threaded);

  std::vector<std::string> looked_at;
  const std::string script = s.script.empty() ? find_kit_file(kScript, &looked_at) : s.script;
  std::string missing_script;
  if (script.empty() || !fs::exists(script)) {
    if (looked_at.empty()) looked_at.push_back(s.script);
    std::string places;
    for (const auto& place : looked_at) places += (places.empty() ? "" : ", ") + place;
    missing_script = fmt::format("the probe script {} was not found (looked at {})", kScript, places);
  }
  for (PythonRun* run : {&main_run, &ft_run}) {
    if (!run->reason.empty()) continue;
    if (!missing_script.empty()) run->reason = missing_script;
    else run_interpreter(s, script, *run);
  }
  const bool any_ran = main_run.available || ft_run.available;
  p.runs.push_back(std::move(main_run));
  p.runs.push_back(std::move(ft_run));
  if (!any_ran) return p;  // the contrast is with Python: nothing to contrast

  // The same loop in C++, as many workers.
  p.cpp.measured = true;
  p.cpp.threads = s.workers;
  p.cpp.iterations = s.cpu_iterations * kCppIterationsPerPython;
  for (int t = 0; t < s.trials; ++t) {
    p.cpp.one_thread_s.push_back(cpp_trial(1, p.cpp.iterations, p.cpp.verified));
    p.cpp.threads_s.push_back(cpp_trial(s.workers, p.cpp.iterations, p.cpp.verified));
  }
  return p;
}

void parse_python_result(const nlohmann::json& j, PythonRun& run) {
  try {
    if (j.at("schema") != "hybridkit.probe.python/1")
      throw RuntimeError(fmt::format("unknown schema {}", j.at("schema").dump()));
    const auto& in = j.at("interpreter");
    run.executable = in.at("executable").get<std::string>();
    run.version = in.at("version").get<std::string>();
    run.implementation = in.at("implementation").get<std::string>();
    run.compiler = in.at("compiler").get<std::string>();
    run.free_threaded_build = in.at("free_threaded_build").get<bool>();
    // On only if it was on throughout: a free-threaded build turns it on when an extension needs it.
    run.gil_enabled = in.at("gil_enabled").get<bool>() && in.value("gil_enabled_at_end", true);
    run.gil_reported_by = in.at("gil_reported_by").get<std::string>();
    run.contention_source = j.at("contention_source").is_null() ? "" : j["contention_source"].get<std::string>();
    auto trials = [](const nlohmann::json& variants) {
      std::map<std::string, std::vector<PyTrial>> out;
      for (const auto& [name, list] : variants.items())
        for (const auto& t : list)
          out[name].push_back({t.at("wall_s").get<double>(), t.at("stall").is_null() ? -1.0 : t["stall"].get<double>()});
      return out;
    };
    const auto& cpu = j.at("cpu");
    run.workers = cpu.at("workers").get<int>();
    run.many = cpu.at("many").get<int>();
    run.cpu_iterations = cpu.at("iterations").get<std::int64_t>();
    run.cpu = trials(cpu.at("trials"));
    const auto& io = j.at("io");
    run.wait_s = io.at("wait_s").get<double>();
    run.io_start_method = io.at("process_start_method").get<std::string>();
    run.io = trials(io.at("trials"));
    for (const auto& [name, seconds] : j.at("creation").items()) run.creation[name] = seconds.get<std::vector<double>>();
    const auto& data = j.at("data");
    run.data_bytes = data.at("bytes").get<std::int64_t>();
    run.data_thread_s = data.at("thread").at("handoff_s").get<std::vector<double>>();
    run.thread_got_same_object = data.at("thread").at("same_object").get<bool>();
    run.thread_bytes_copied = data.at("thread").at("bytes_copied").get<std::int64_t>();
    run.data_process_s = data.at("process").at("transfer_s").get<std::vector<double>>();
    run.data_start_method = data.at("process").at("start_method").get<std::string>();
    run.child_had_a_copy = data.at("process").at("child_had_a_copy").get<bool>();
    run.pickled_bytes = data.at("process").at("pickled_bytes").get<std::int64_t>();
    run.verification_failures = j.at("verification_failures").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("{}'s result is malformed: {}", kScript, e.what()));
  }
}

}  // namespace hk::probe
