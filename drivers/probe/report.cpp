// hk probe's checks, table and JSON: what the measurements mean, side by side.
#include <fmt/format.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cmath>

#include "hk/build_info.hpp"
#include "hk/system.hpp"
#include "probe.hpp"

namespace hk::probe {

namespace {

const Figure* find(const Results& r, const std::string& key) {
  const auto it = r.figures.find(key);
  return it == r.figures.end() ? nullptr : &it->second;
}

std::string human(const Figure& f) {
  if (f.unit == "us") return format_seconds(f.value * 1e-6);
  if (f.unit == "KiB") return format_bytes(f.value * 1024);
  if (f.unit == "GB/s") return fmt::format("{:.2f} GB/s", f.value);
  return fmt::format("{:g} {}", f.value, f.unit);
}

std::string why_missing(const Results& r, const std::string& key) {
  if (const auto it = r.unavailable.find(key); it != r.unavailable.end()) return it->second;
  if (key.find("mpi") != std::string::npos && !r.mpi.available) return "MPI: " + r.mpi.reason;
  return "not measured";
}

std::string times(double ratio) { return ratio < 10 ? fmt::format("{:.1f}x", ratio) : fmt::format("{:.0f}x", ratio); }

std::string signal_name(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  return abbreviation ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal_number);
}

// A side-by-side row of two figures. `ratio` is always process cost / thread cost, so for
// bandwidths (higher is better) it is thread / process. The verdict texts get the ratio.
struct Comparison {
  std::string claim;
  std::string process_key, process_label;
  std::string thread_key, thread_label;
  bool higher_is_better = false;
  std::string thread_wins;   // "{}" is the ratio
  std::string process_wins;  // "{}" is the inverse ratio
};

Row compare(const Results& r, const Comparison& c) {
  Row row{c.claim, "", "", "-", ""};
  const Figure* p = find(r, c.process_key);
  const Figure* t = find(r, c.thread_key);
  row.process = p ? c.process_label + " " + human(*p) : "unavailable";
  row.thread = t ? c.thread_label + " " + human(*t) : "unavailable";
  if (!p || !t) {
    row.verdict = "not compared: " + why_missing(r, p ? c.thread_key : c.process_key);
    return row;
  }
  const double ratio = c.higher_is_better ? t->value / p->value : p->value / t->value;
  row.ratio = times(ratio);
  if (ratio >= 1.5) row.verdict = fmt::format(fmt::runtime(c.thread_wins), times(ratio));
  else if (ratio <= 1 / 1.5) row.verdict = fmt::format(fmt::runtime(c.process_wins), times(1 / ratio));
  else row.verdict = "about the same on this machine";
  return row;
}

}  // namespace

std::string format_seconds(double seconds) {
  const double a = std::fabs(seconds);
  if (a < 1e-6) return fmt::format("{:.0f} ns", seconds * 1e9);
  if (a < 1e-3) return fmt::format("{:.{}f} us", seconds * 1e6, a < 1e-5 ? 2 : 1);
  if (a < 1) return fmt::format("{:.{}f} ms", seconds * 1e3, a < 1e-2 ? 2 : 1);
  return fmt::format("{:.2f} s", seconds);
}

std::string format_bytes(double bytes) {
  const double a = std::fabs(bytes);
  if (a < 1024) return fmt::format("{:.0f} B", bytes);
  if (a < 1024.0 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024);
  if (a < 1024.0 * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024 * 1024));
}

namespace {
void run_python_rows(const Settings& s, Results& r, const std::function<void(const std::string&)>& progress) {
  if (!s.python.enabled) return;
  progress("Python: CPU-bound and I/O-bound work on threads, processes, asyncio; creation; data");
  r.python = measure_python(s.python);
  add_python_figures(r.python, r.figures);
}
}  // namespace

Results run_probe(const Settings& s, const std::function<void(const std::string&)>& progress) {
  Results r;
  r.python_only = s.python.only;
  if (r.python_only) {
    run_python_rows(s, r, progress);
    return r;
  }
  progress("creation: fork, posix_spawn, std::thread, OpenMP region");
  measure_creation(s, r);
  progress("memory: idle threads, a forked child writing a working set");
  measure_memory(s, r);
  progress(s.mpi ? fmt::format("MPI: {} x mpirun -np 1, then a 2-rank ping-pong", 1 + s.mpi_trials)
                 : std::string("MPI: skipped (--no-mpi)"));
  measure_mpi(s, r);
  progress(s.hosts.empty() ? std::string("MPI between nodes: skipped (no --hosts)")
                           : fmt::format("MPI between nodes: a 2-rank ping-pong, {} and {}", s.hosts[0], s.hosts[1]));
  measure_mpi_between_nodes(s, r);
  progress("communication between threads: atomic hand-off, memcpy");
  measure_thread_communication(s, r);
  progress("switching: a token through pipes on one CPU");
  measure_switching(s, r);
  progress("fault isolation: a null dereference in a child process and in a thread");
  r.fault = probe_fault_isolation();
  progress("shared state: racing, atomic and reduced counters; per-process globals");
  r.shared = probe_shared_state(s.threads, s.processes, s.increments);
  progress("descriptors: a thread closes one between another thread's reads; a forked child closes its copy");
  r.descriptors = probe_descriptors();
  run_python_rows(s, r, progress);
  return r;
}

std::vector<std::string> check(const Results& r) {
  std::vector<std::string> failures;
  for (const auto& [key, f] : r.figures) {
    if (!std::isfinite(f.value) || f.value <= 0 || f.unit.empty())
      failures.push_back(fmt::format("figure {} is not a positive value with a unit: {} '{}'", key, f.value, f.unit));
  }
  for (auto& failure : check_python(r.python)) failures.push_back(std::move(failure));
  if (r.python_only) return failures;
  const FaultOutcome& fault = r.fault;
  if (!fault.child_signaled) failures.push_back("a child process that dereferenced null was not killed by a signal");
  if (!fault.sibling_process_finished) failures.push_back("the faulting child's sibling process did not finish its work");
  if (!fault.sacrificial_signaled)
    failures.push_back(fmt::format("a thread that dereferenced null did not take its process down (exit status {})",
                                   fault.sacrificial_exit_status));
  if (!fault.sibling_thread_started) failures.push_back("the faulting thread's sibling thread never started");
  if (fault.sibling_thread_finished) failures.push_back("the faulting thread's sibling thread finished: it should have died");
  const SharedStateOutcome& sh = r.shared;
  if (sh.atomic != sh.expected)
    failures.push_back(fmt::format("atomic counter: {} instead of {}", sh.atomic, sh.expected));
  if (sh.reduction != sh.expected)
    failures.push_back(fmt::format("reduction counter: {} instead of {}", sh.reduction, sh.expected));
  // A lost update can erase many of the other thread's increments at once (a stale value stored
  // after the other ran ahead), so anything from 2 up to the exact count is a possible outcome.
  const std::int64_t racy_floor = std::min<std::int64_t>(2, sh.expected);
  if (sh.plain > sh.expected || sh.plain < racy_floor)
    failures.push_back(fmt::format("racy counter: {} is outside [{}, {}]", sh.plain, racy_floor, sh.expected));
  if (static_cast<int>(sh.child_counts.size()) != sh.processes)
    failures.push_back(fmt::format("{} of {} processes reported their counter", sh.child_counts.size(), sh.processes));
  for (std::size_t i = 0; i < sh.child_counts.size(); ++i) {
    if (sh.child_counts[i] != sh.increments)
      failures.push_back(fmt::format("process {} saw {} in its copy of the global instead of {}", i, sh.child_counts[i],
                                     sh.increments));
  }
  if (sh.parent_after != 0)
    failures.push_back(fmt::format("the parent's global is {} after its children incremented theirs (expected 0)",
                                   sh.parent_after));
  if (!r.thread_writes_seen_by_parent) failures.push_back("a thread's writes to the working set were not visible");
  if (r.child_writes_seen_by_parent) failures.push_back("a forked child's writes changed the parent's working set");
  if (!r.mpi_check_failure.empty()) failures.push_back(r.mpi_check_failure);
  for (auto& failure : check_descriptors(r.descriptors)) failures.push_back(std::move(failure));
  return failures;
}

std::vector<Row> make_rows(const Results& r, const Settings& s) {
  std::vector<Row> rows;
  if (r.python_only) return rows;
  rows.push_back(compare(r, {"Create: fork+wait vs thread create+join", "creation.fork_waitpid", "fork+waitpid",
                             "creation.thread_create_join", "std::thread", false,
                             "a thread starts {} faster than a forked process", "fork was {} faster here (unusual)"}));
  rows.push_back(compare(r, {"Create: spawn a program vs a thread", "creation.posix_spawn_wait", "posix_spawn+wait",
                             "creation.thread_create_join", "std::thread", false,
                             "a thread starts {} faster than a new program", "posix_spawn was {} faster here (unusual)"}));
  rows.push_back(compare(r, {"Create: MPI rank init vs OpenMP region", "creation.mpi_init_thread", "MPI_Init_thread",
                             "creation.omp_region_entry", "warm region", false,
                             "a warm parallel region is {} cheaper than one rank's MPI_Init_thread",
                             "MPI_Init_thread was {} faster (unusual)"}));
  rows.push_back(compare(r, {"Create: mpirun -np 1 vs OpenMP region", "creation.mpirun_np1_wall", "mpirun -np 1",
                             "creation.omp_region_entry", "warm region", false,
                             "threads are started once per job; a job launch costs {} a region",
                             "the launch was {} faster (unusual)"}));
  rows.push_back(compare(r, {"Memory: one more worker (resident)", "memory.mpi_rank_vmhwm", "rank VmHWM",
                             "memory.thread_rss_per_idle_thread", "idle thread", false,
                             "a rank holds {} the resident memory of a thread", "a thread held {} more (unusual)"}));
  rows.push_back(compare(r, {"Memory: one more worker (address space)", "memory.mpi_rank_vmsize", "rank VmSize",
                             "memory.thread_address_space_per_thread", "thread adds", false,
                             "mostly untouched virtual memory: {} more per rank",
                             "a thread reserves {} more address space than a rank maps"}));
  rows.push_back(compare(r, {fmt::format("Memory: worker writes {} MiB shared set", s.working_set_mib),
                             "memory.fork_child_private_after_write", "child private",
                             "memory.thread_private_added_writing_set", "thread adds", false,
                             "a process pays {} for its own copy (copy-on-write); a thread shares",
                             "a thread cost {} more here (unusual)"}));
  rows.push_back(compare(r, {"Latency 8 B: MPI ping-pong vs atomic flag", "communication.mpi_latency_8B", "one-way",
                             "communication.thread_handoff_8B", "hand-off", false,
                             "a hand-off between threads is {} faster than an MPI message",
                             "the MPI message was {} faster (unusual)"}));
  for (const int mib : {1, 16}) {
    rows.push_back(compare(r, {fmt::format("Bandwidth {} MiB: MPI ping-pong vs memcpy", mib),
                               fmt::format("communication.mpi_bandwidth_{}MiB", mib), "MPI",
                               fmt::format("communication.memcpy_{}MiB", mib), "memcpy", true,
                               "memcpy moves bytes {} faster; threads can share and not copy at all",
                               "MPI moved the message {} faster than memcpy (single-copy transfer)"}));
  }
  rows.push_back(compare(r, {"Latency 8 B: MPI between 2 nodes vs within", "communication.mpi_internode_latency_8B",
                             "nodes", "communication.mpi_latency_8B", "one node", false,
                             "crossing a node costs {} the latency", "between nodes was {} faster (unusual)"}));
  rows.push_back(compare(r, {"Bandwidth 16 MiB: MPI between 2 nodes vs within",
                             "communication.mpi_internode_bandwidth_16MiB", "nodes",
                             "communication.mpi_bandwidth_16MiB", "one node", true,
                             "within a node MPI moves bytes {} faster", "between nodes was {} faster (unusual)"}));
  rows.push_back(compare(r, {"Switch: token via pipes on one CPU", "switching.processes", "processes",
                             "switching.threads", "threads", false,
                             "a thread switch is {} cheaper (no address-space change)",
                             "the process switch was {} cheaper (noise)"}));

  const FaultOutcome& f = r.fault;
  Row fault{"Fault: null dereference in one worker", "", "", "-", ""};
  fault.process = f.child_signaled ? fmt::format("child killed by {}, sibling {}", signal_name(f.child_signal),
                                                 f.sibling_process_finished ? "finished" : "LOST")
                                   : "child NOT killed";
  fault.thread = f.sacrificial_signaled
                     ? fmt::format("whole process killed by {}, sibling thread {}", signal_name(f.sacrificial_signal),
                                   f.sibling_thread_finished ? "FINISHED" : "lost")
                     : fmt::format("process survived (exit status {})", f.sacrificial_exit_status);
  const bool fault_as_claimed = f.child_signaled && f.sibling_process_finished && f.sacrificial_signaled &&
                                f.sibling_thread_started && !f.sibling_thread_finished;
  fault.verdict = fault_as_claimed ? "a process contains its crash; one thread's crash kills all its threads"
                                   : "NOT as claimed: see the failed checks";
  rows.push_back(fault);

  const SharedStateOutcome& sh = r.shared;
  const bool children_agree =
      !sh.child_counts.empty() &&
      std::all_of(sh.child_counts.begin(), sh.child_counts.end(), [&](auto c) { return c == sh.child_counts.front(); });
  Row racy{fmt::format("Shared: {} increments per worker, no sync", sh.increments), "", "", "-", ""};
  racy.process = children_agree ? fmt::format("{} children saw {} each, parent's copy {}", sh.processes,
                                              sh.child_counts.front(), sh.parent_after)
                                : fmt::format("children disagree, parent's copy {}", sh.parent_after);
  const std::int64_t lost = sh.expected - sh.plain;
  racy.thread = fmt::format("{} threads lost {} of {} ({:.1f}%)", sh.threads, lost, sh.expected,
                            sh.expected ? 100.0 * static_cast<double>(lost) / static_cast<double>(sh.expected) : 0.0);
  racy.verdict = lost > 0 ? "processes share nothing by default; threads share and race"
                          : "processes share nothing; threads share (no loss this run, the race is still real)";
  rows.push_back(racy);
  Row synced{"Shared: the same with atomic / reduction", "(nothing shared: combine with MPI_Reduce)", "", "-", ""};
  synced.thread = fmt::format("atomic {}, reduction {} of {}", sh.atomic, sh.reduction, sh.expected);
  synced.verdict = sh.atomic == sh.expected && sh.reduction == sh.expected ? "exact: shared updates need atomics or a reduction"
                                                                            : "NOT exact: see the failed checks";
  rows.push_back(synced);
  rows.push_back(descriptor_row(r.descriptors));
  return rows;
}

std::string table_text(const std::vector<Row>& rows) {
  const Row header{"claim", "process", "thread", "process/thread", "verdict"};
  std::size_t w[4] = {header.claim.size(), header.process.size(), header.thread.size(), header.ratio.size()};
  for (const Row& row : rows) {
    w[0] = std::max(w[0], row.claim.size());
    w[1] = std::max(w[1], row.process.size());
    w[2] = std::max(w[2], row.thread.size());
    w[3] = std::max(w[3], row.ratio.size());
  }
  auto line = [&](const Row& row) {
    return fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {}\n", row.claim, w[0], row.process, w[1], row.thread, w[2],
                       row.ratio, w[3], row.verdict);
  };
  std::string text = line(header);
  text += std::string(w[0] + w[1] + w[2] + w[3] + 8 + header.verdict.size(), '-') + "\n";
  for (const Row& row : rows) text += line(row);
  return text;
}

nlohmann::json to_json(const Results& r, const Settings& s, const std::vector<Row>& rows,
                       const std::vector<std::string>& failures) {
  using nlohmann::json;
  json figures = json::object();
  for (const auto& [key, f] : r.figures)
    figures[key] = {{"value", f.value}, {"unit", f.unit}, {"what", f.what}, {"trials", f.trials}};
  auto count = [](std::int64_t value, const char* unit) { return json{{"value", value}, {"unit", unit}}; };
  const FaultOutcome& f = r.fault;
  const SharedStateOutcome& sh = r.shared;
  json child_counts = json::array();
  for (auto c : sh.child_counts) child_counts.push_back(count(c, "increments"));
  json table = json::array();
  for (const Row& row : rows)
    table.push_back({{"claim", row.claim}, {"process", row.process}, {"thread", row.thread}, {"ratio", row.ratio},
                     {"verdict", row.verdict}});
  return {
      {"schema", "hybridkit.probe/1"},
      {"version", hk::build::version},
      {"git_sha", hk::build::git_sha},
      {"host", host_name()},
      {"timestamp", utc_timestamp()},
      {"online_cpus", online_cpus()},
      {"settings",
       {{"trials", s.trials},
        {"mpi_trials", s.mpi_trials},
        {"threads", s.threads},
        {"processes", s.processes},
        {"increments", s.increments},
        {"working_set_mib", s.working_set_mib},
        {"idle_threads", s.idle_threads},
        {"round_trips", s.round_trips},
        {"switch_rounds", s.switch_rounds},
        {"mpi", s.mpi},
        {"mpirun", s.mpirun},
        {"hosts", s.hosts}}},
      {"figures", figures},
      {"unavailable", r.unavailable},
      {"mpi",
       {{"available", r.mpi.available},
        {"reason", r.mpi.reason},
        {"library", r.mpi.library},
        {"thread_level_provided", r.mpi.thread_level}}},
      {"outcomes",
       {{"fault_isolation",
         {{"process",
           {{"child_killed_by_signal", f.child_signaled},
            {"signal", f.child_signaled ? signal_name(f.child_signal) : ""},
            {"sibling_finished", f.sibling_process_finished},
            {"parent_survived", true}}},
          {"thread",
           {{"process_killed_by_signal", f.sacrificial_signaled},
            {"signal", f.sacrificial_signaled ? signal_name(f.sacrificial_signal) : ""},
            {"exit_status", f.sacrificial_exit_status},
            {"sibling_started", f.sibling_thread_started},
            {"sibling_finished", f.sibling_thread_finished}}}}},
        {"shared_state",
         {{"threads", sh.threads},
          {"increments_per_worker", count(sh.increments, "increments")},
          {"expected", count(sh.expected, "increments")},
          {"plain", count(sh.plain, "increments")},
          {"lost_updates", count(sh.expected - sh.plain, "increments")},
          {"atomic", count(sh.atomic, "increments")},
          {"reduction", count(sh.reduction, "increments")},
          {"processes", sh.processes},
          {"child_counts", child_counts},
          {"parent_after", count(sh.parent_after, "increments")}}},
        {"working_set",
         {{"thread_writes_seen_by_parent", r.thread_writes_seen_by_parent},
          {"child_writes_seen_by_parent", r.child_writes_seen_by_parent}}},
        {"descriptors", descriptors_json(r.descriptors)}}},
      {"table", table},
      {"python_only", r.python_only},
      {"python", python_json(r.python, s.python)},
      {"checks", {{"passed", failures.empty()}, {"failures", failures}}},
  };
}

}  // namespace hk::probe
