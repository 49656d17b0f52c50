#pragma once
// hk probe: the textbook claims about processes versus threads, measured on this machine.
// Every timing is the median of repeated trials after a warm-up; every figure carries its unit.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descriptors.hpp"
#include "python_probe.hpp"

namespace hk::probe {

// How much work each measurement does. hk probe fills it from its options (--quick shrinks it).
struct Settings {
  int trials = 15;                     // repeated trials of each local measurement
  int mpi_trials = 5;                  // separate `mpirun -np 1` launches for rank start-up
  int threads = 2;                     // OpenMP region width and racing threads
  int processes = 2;                   // processes incrementing their copy of a global
  std::int64_t increments = 1000000;   // increments per thread / per process
  int working_set_mib = 64;            // memory a forked child (or a thread) writes
  int idle_threads = 32;               // idle threads created to measure RSS per thread
  int round_trips = 1000;              // 8 B round trips per trial (big messages use fewer)
  int switch_rounds = 2000;            // token round trips per trial through pipes
  bool mpi = true;                     // false: MPI rows are reported as skipped
  std::string mpirun = "mpirun";       // launcher, found on PATH unless a path is given
  int mpi_timeout_s = 60;              // one mpirun launch is killed (whole group) after this
  std::string helper_dir;              // where hk-probe-mpi and hk-probe-true live
  PythonSettings python;               // the Python rows (--python-only: nothing else runs)
  std::vector<std::string> hosts;      // two hosts for "MPI between two nodes"; empty: unavailable
};

// One measured quantity. `value` is in `unit`; `trials` is how many repetitions the median is over.
struct Figure {
  double value = 0;
  std::string unit;
  std::string what;
  int trials = 0;
};

// A null dereference in one worker: what happens to the others.
struct FaultOutcome {
  // Process side: a forked child faults while a sibling child works.
  bool child_signaled = false;
  int child_signal = 0;
  bool sibling_process_finished = false;
  // Thread side: inside a sacrificial child, one thread faults while another works.
  bool sacrificial_signaled = false;
  int sacrificial_signal = 0;
  int sacrificial_exit_status = -1;   // when it was not killed by a signal
  bool sibling_thread_started = false;
  bool sibling_thread_finished = false;
};

// Increments of one counter by several workers.
struct SharedStateOutcome {
  int threads = 0;                    // threads the OpenMP regions actually had
  std::int64_t increments = 0;        // per worker
  std::int64_t expected = 0;          // threads x increments
  std::int64_t plain = 0;             // load and store as separate steps: updates get lost
  std::int64_t atomic = 0;            // omp atomic
  std::int64_t reduction = 0;         // reduction(+)
  double plain_ms = 0, atomic_ms = 0, reduction_ms = 0;
  int processes = 0;
  std::vector<std::int64_t> child_counts;  // what each forked child saw in its copy of the global
  std::int64_t parent_after = -1;     // the parent's global after all children finished
};

struct MpiStatus {
  bool available = false;
  std::string reason;                 // why not, when unavailable
  std::string library;
  std::string thread_level;
};

struct Results {
  std::map<std::string, Figure> figures;  // "creation.fork_waitpid" -> figure
  FaultOutcome fault;
  SharedStateOutcome shared;
  DescriptorOutcome descriptors;
  PythonResults python;
  bool python_only = false;  // --python-only: the other outcomes were not measured
  MpiStatus mpi;
  bool thread_writes_seen_by_parent = false;  // a thread's writes to the working set are the parent's
  bool child_writes_seen_by_parent = true;    // a forked child's writes are not
  std::string mpi_check_failure;  // the ping-pong payload came back different
  std::map<std::string, std::string> unavailable;  // figure key -> reason (e.g. helper missing)
};

// One line of the human table.
struct Row {
  std::string claim;
  std::string process;
  std::string thread;
  std::string ratio;  // process cost / thread cost, "-" for outcomes
  std::string verdict;
};

// --- statistics and /proc ---------------------------------------------------------------
double median(std::vector<double> values);
double monotonic_seconds();
// Private_Clean + Private_Dirty (+ Private_Hugetlb) of /proc/<pid>/smaps_rollup, in bytes
// (falls back to summing /proc/<pid>/smaps on kernels without smaps_rollup).
std::uint64_t private_bytes(pid_t pid);
// Parses the text of a smaps or smaps_rollup file.
std::uint64_t private_bytes_from_smaps(const std::string& text);
// A "Key: N kB" field of /proc/self/status, in bytes.
std::uint64_t self_status_bytes(const std::string& key);

// Runs `body` in a forked child and returns the numbers it reports; pinning, allocations and
// threads made there never touch this process. Throws RuntimeError if the child fails.
std::vector<double> run_in_child(const std::string& what, const std::function<std::vector<double>()>& body);

// --- the measurements -------------------------------------------------------------------
void measure_creation(const Settings& s, Results& r);
void measure_memory(const Settings& s, Results& r);
void measure_thread_communication(const Settings& s, Results& r);
void measure_switching(const Settings& s, Results& r);
FaultOutcome probe_fault_isolation();
SharedStateOutcome probe_shared_state(int threads, int processes, std::int64_t increments);
void measure_mpi(const Settings& s, Results& r);
// One rank on each of s.hosts (measure_nodes.cpp); unavailable without two hosts.
void measure_mpi_between_nodes(const Settings& s, Results& r);

// Runs everything in order; `progress` receives one line per stage.
Results run_probe(const Settings& s, const std::function<void(const std::string&)>& progress);

// --- checks and report ------------------------------------------------------------------
// The qualitative claims that must hold, and every figure positive with a unit. Empty: all hold.
std::vector<std::string> check(const Results& r);
std::vector<Row> make_rows(const Results& r, const Settings& s);
std::string table_text(const std::vector<Row>& rows);
nlohmann::json to_json(const Results& r, const Settings& s, const std::vector<Row>& rows,
                       const std::vector<std::string>& failures);

// "1.23 ms", "456 ns", "12.0 MiB" ... from a value in seconds / bytes.
std::string format_seconds(double seconds);
std::string format_bytes(double bytes);

// hk-probe-mpi / hk-probe-true next to this executable, else the bare name (PATH).
std::string helper_path(const Settings& s, const std::string& name);

}  // namespace hk::probe
