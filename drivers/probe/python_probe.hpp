#pragma once
// hk probe's Python rows: CPython's global interpreter lock (GIL) measured. The measurements run
// in a Python interpreter (hk_probe_python.py, shipped with the kit); this side finds the
// interpreter and the script, reads the raw trials back, and judges them. The judging is a pure
// function of the trials (judge_python), so the tests can hand it any outcome.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hk::probe {

struct Row;
struct Figure;

// How the Python rows run. hk probe fills it from its options (--quick shrinks the sizes).
struct PythonSettings {
  bool enabled = true;                   // --no-python: false
  bool only = false;                     // --python-only: nothing but the Python rows
  std::string python;                    // --python; empty: /usr/bin/python3, else python3 on PATH
  std::string free_threaded;             // --free-threaded-python; empty: python3.14t/3.13t on PATH
  std::string script;                    // hk_probe_python.py; empty: find_kit_file finds it
  bool assert_timing = true;             // --timing-verdicts report: speed-ups are reported, never fail
  int workers = 2;                       // N of "N threads / processes / tasks"
  int many = 64;                         // the far-above-the-cores count
  std::int64_t cpu_iterations = 6000000; // the loop's total iterations, split over the workers
  double wait_s = 0.2;                   // one I/O wait (the delay server's answer time)
  int trials = 5;                        // interleaved rounds of every variant
  int create_trials = 15;                // start + join trials
  std::int64_t data_bytes = 64 << 20;    // handed to a thread / sent to a process
  int timeout_s = 600;                   // one interpreter's whole run is killed after this
};

// One timed window: its wall time and the share of it in which some task waited for a CPU
// (/proc/pressure/cpu "some"); stall < 0: not known (no pressure stall information).
struct PyTrial {
  double wall_s = 0;
  double stall = -1;
};

// One interpreter's run: what it is and every raw trial.
struct PythonRun {
  std::string label;      // "python" or "free-threaded python"
  std::string key;        // figure key prefix: "python" or "python_free_threaded"
  std::string requested;  // the path it was started as
  bool available = false;
  std::string reason;     // why not, when unavailable
  // The interpreter, as it reports itself.
  std::string executable, version, implementation, compiler;
  bool free_threaded_build = false;
  bool gil_enabled = true;
  std::string gil_reported_by;
  std::string contention_source;  // "/proc/pressure/cpu", or empty
  int workers = 0, many = 0;
  std::int64_t cpu_iterations = 0;
  double wait_s = 0;
  std::string io_start_method;
  std::map<std::string, std::vector<PyTrial>> cpu, io;   // variant -> trials
  std::map<std::string, std::vector<double>> creation;   // "thread_s", "process_fork_s", ... -> seconds
  std::int64_t data_bytes = 0, pickled_bytes = 0, thread_bytes_copied = 0;
  bool thread_got_same_object = false, child_had_a_copy = false;
  std::string data_start_method;
  std::vector<double> data_thread_s, data_process_s;
  std::vector<std::string> verification_failures;  // the loop summed wrong: never a timing
};

// The same loop on C++ threads, for contrast.
struct CppContrast {
  bool measured = false;
  int threads = 0;
  std::int64_t iterations = 0;
  std::vector<double> one_thread_s, threads_s;
  bool verified = true;
};

struct PythonResults {
  bool measured = false;   // false: --no-python
  int cores = 0;           // usable physical cores: the verdicts need two to expect parallel speed-ups
  std::vector<PythonRun> runs;  // the chosen python first, then the free-threaded one
  CppContrast cpp;
  bool assert_timing = true;  // false: a timing verdict that does not hold is reported, not a failed check
};

// One verdict. Asserted verdicts that do not hold are CHECK FAILED; the others are reported.
struct PythonVerdict {
  std::string claim;
  bool asserted = false;
  bool holds = true;
  std::string text;
  bool timing = true;  // a speed-up judged against a threshold (noise can move it), not a fact like a copy
};

// The trials a verdict is asserted on: contention (stall) at most this share of the window.
inline constexpr double kQuietStall = 0.10;
inline constexpr double kGilThreadsAtMost = 1.3;     // CPU-bound threads with the lock on
inline constexpr double kProcessesAtLeast = 1.6;     // CPU-bound processes, >= 2 cores
inline constexpr double kIoOverlapAtLeast = 0.8;     // I/O-bound: speed-up >= 0.8 x the waits

// The median wall time of a variant's trials (0 when it has none), and "1.95x" / "58x".
double median_wall(const std::map<std::string, std::vector<PyTrial>>& variants, const std::string& variant);
std::string speedup_text(double ratio);

// Judges one run against the claims. `cores`: usable physical cores. Pure: no clock, no I/O.
// `assert_timing` false (--timing-verdicts report): a timing verdict is reported, never asserted.
std::vector<PythonVerdict> judge_python(const PythonRun& run, int cores, bool assert_timing = true);

// The file `name` that ships with the kit: next to this executable (the build tree), else in
// <prefix>/share/hybridkit/ of an installed <prefix>/bin/hk. Empty when it is in neither;
// `looked_at` gets the places tried.
std::string find_kit_file(const std::string& name, std::vector<std::string>* looked_at = nullptr);

// Runs the interpreters and the C++ contrast. Never throws for a missing or broken interpreter:
// that run is unavailable with the reason.
PythonResults measure_python(const PythonSettings& s);
// Reads the script's JSON into a run (throws RuntimeError when it is malformed).
void parse_python_result(const nlohmann::json& j, PythonRun& run);

// Figures with units ("python.cpu.threads" in s, "python.cpu.threads_speedup" in x, ...).
void add_python_figures(const PythonResults& p, std::map<std::string, Figure>& figures);
std::vector<std::string> check_python(const PythonResults& p);
std::vector<Row> python_rows(const PythonResults& p);
// The lines above the Python table: each interpreter, the sizes, the rule for quiet trials.
std::string python_header(const PythonResults& p);
nlohmann::json python_json(const PythonResults& p, const PythonSettings& s);

}  // namespace hk::probe
