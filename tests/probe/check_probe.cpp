// hk-probe-check FILE [--require-mpi] [--require-python]: checks the JSON of `hk probe --json FILE`.
// Every figure is positive and carries a unit; every expected figure is there (the MPI ones when
// MPI ran, and with --require-mpi MPI must have run); the qualitative outcomes are as claimed;
// the racy counter's loss is present with its unit (reported, not asserted: it can be zero);
// with --require-python the Python rows ran under the default interpreter, with every figure and
// verdict (timings are reported in verdicts, never judged here).
// Prints what is wrong; exit 0 when all holds, 1 otherwise, 2 on bad usage.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using nlohmann::json;

namespace {
std::vector<std::string> problems;
void expect(bool ok, const std::string& what) {
  if (!ok) problems.push_back(what);
}
bool is_count(const json& j) {
  return j.is_object() && j.contains("value") && j["value"].is_number_integer() && j.contains("unit") &&
         j["unit"].is_string() && !j["unit"].get<std::string>().empty();
}
void check_python(const json& j) {
  const json& python = j.at("python");
  expect(python.at("measured") == true, "the Python rows did not run");
  const json& run = python.at("interpreters").at(0);
  expect(run.at("available") == true, "Python rows unavailable: " + run.value("reason", std::string("?")));
  if (run.at("available") != true) return;
  for (const char* key : {"python.cpu.one_thread", "python.cpu.threads_speedup", "python.cpu.processes_fork_speedup",
                          "python.cpu.processes_spawn_speedup", "python.cpu.many_threads_speedup",
                          "python.io.threads_speedup", "python.io.asyncio_speedup", "python.io.many_threads_speedup",
                          "python.io.many_asyncio_speedup", "python.creation.thread", "python.creation.process_spawn",
                          "python.data.thread_handoff", "python.data.process_transfer", "cpp_contrast.threads_speedup"})
    expect(j.at("figures").contains(key), std::string("figure missing: ") + key);
  expect(run.at("verdicts").size() >= 8, "fewer than 8 Python verdicts");
  for (const auto& v : run.at("verdicts"))
    // A verdict that is not asserted (busy trials, --timing-verdicts report) may not hold; it says so in its text.
    expect(!v.at("text").get<std::string>().empty() && (v.at("holds") == true || v.at("asserted") == false),
           "Python verdict: " + v.at("claim").get<std::string>() + ": " + v.at("text").get<std::string>());
  const json& outcomes = run.at("outcomes");
  expect(outcomes.at("thread_got_same_object") == true, "a thread did not get the same object");
  expect(outcomes.at("thread_bytes_copied").at("value") == 0, "bytes were copied to hand data to a thread");
  expect(outcomes.at("child_had_a_copy") == true, "a process did not get a copy");
  expect(python.at("table").size() >= 7, "the Python table has fewer than 7 rows");
}
}  // namespace

int main(int argc, char** argv) {
  bool require_mpi = false, require_python = false;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--require-mpi") require_mpi = true;
    else if (flag == "--require-python") require_python = true;
    else argc = 0;
  }
  if (argc < 2) {
    std::cerr << "usage: hk-probe-check FILE [--require-mpi] [--require-python]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "hk-probe-check: cannot read " << argv[1] << "\n";
    return 1;
  }
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    std::cerr << "hk-probe-check: not JSON: " << e.what() << "\n";
    return 1;
  }
  try {
    expect(j.at("schema") == "hybridkit.probe/1", "schema is not hybridkit.probe/1");
    const bool mpi = j.at("mpi").at("available").get<bool>();
    if (require_mpi) expect(mpi, "MPI rows unavailable: " + j["mpi"].value("reason", std::string("?")));

    // Every figure: a positive finite value with a unit and a description.
    const json& figures = j.at("figures");
    for (const auto& [key, f] : figures.items()) {
      const double value = f.at("value").get<double>();
      expect(std::isfinite(value) && value > 0, fmt::format("figure {} is not positive: {}", key, value));
      expect(!f.at("unit").get<std::string>().empty(), fmt::format("figure {} has no unit", key));
      expect(!f.at("what").get<std::string>().empty(), fmt::format("figure {} has no description", key));
    }
    std::vector<std::string> required = {
        "creation.fork_waitpid", "creation.posix_spawn_wait", "creation.thread_create_join",
        "creation.omp_region_entry", "memory.thread_rss_per_idle_thread", "memory.thread_stack_reserved",
        "memory.fork_child_private_after_write", "memory.thread_private_added_writing_set",
        "communication.thread_handoff_8B", "communication.memcpy_1MiB", "communication.memcpy_16MiB",
        "switching.processes", "switching.threads"};
    if (mpi) {
      required.insert(required.end(), {"creation.mpi_init_thread", "creation.mpirun_np1_wall", "memory.mpi_rank_vmhwm",
                                       "communication.mpi_latency_8B", "communication.mpi_bandwidth_1MiB",
                                       "communication.mpi_bandwidth_16MiB"});
    }
    for (const auto& key : required) expect(figures.contains(key), "figure missing: " + key);

    // Fault isolation: the child dies alone; the thread takes its whole process down.
    const json& process_fault = j.at("outcomes").at("fault_isolation").at("process");
    const json& thread_fault = j.at("outcomes").at("fault_isolation").at("thread");
    expect(process_fault.at("child_killed_by_signal") == true, "the faulting child process was not killed by a signal");
    expect(process_fault.at("sibling_finished") == true, "the faulting child's sibling process did not finish");
    expect(thread_fault.at("process_killed_by_signal") == true, "a faulting thread did not take its process down");
    expect(thread_fault.at("sibling_started") == true, "the faulting thread's sibling never started");
    expect(thread_fault.at("sibling_finished") == false, "the faulting thread's sibling survived its process");

    // Shared state: private copies per process, exact atomic and reduction, loss reported.
    const json& shared = j.at("outcomes").at("shared_state");
    const auto expected = shared.at("expected").at("value").get<long long>();
    const auto per_worker = shared.at("increments_per_worker").at("value").get<long long>();
    expect(expected == per_worker * shared.at("threads").get<long long>(), "expected != threads x increments");
    expect(shared.at("atomic").at("value") == expected, "the atomic counter lost updates");
    expect(shared.at("reduction").at("value") == expected, "the reduction counter lost updates");
    expect(is_count(shared.at("lost_updates")), "lost_updates is not a count with a unit");
    expect(shared.at("lost_updates").at("value").get<long long>() >= 0, "negative lost updates");
    expect(shared.at("parent_after").at("value") == 0, "the parent's global changed");
    expect(static_cast<long long>(shared.at("child_counts").size()) == shared.at("processes").get<long long>(),
           "not every process reported its counter");
    for (const auto& seen : shared.at("child_counts"))
      expect(is_count(seen) && seen.at("value") == per_worker, "a process's copy of the global is not its own count");
    const json& ws = j.at("outcomes").at("working_set");
    expect(ws.at("thread_writes_seen_by_parent") == true, "a thread's writes were not visible to its process");
    expect(ws.at("child_writes_seen_by_parent") == false, "a child's writes leaked into its parent");
    const json& fd = j.at("outcomes").at("descriptors");
    expect(fd.at("thread").at("read_after_other_thread_closed_errno") == "EBADF",
           "a read after another thread closed the descriptor did not fail with EBADF");
    expect(fd.at("thread").at("number_reused") == true, "the closed descriptor number was not free for reuse");
    expect(fd.at("process").at("parent_read_after_child_closed").at("value").get<long long>() > 0,
           "the parent could not read after its child closed its copy");

    // The human table: every row complete.
    expect(j.at("table").size() >= 14, "the table has fewer than 14 rows");
    for (const auto& row : j.at("table"))
      for (const char* column : {"claim", "process", "thread", "ratio", "verdict"})
        expect(!row.at(column).get<std::string>().empty(), fmt::format("a table row has an empty {}", column));
    expect(j.at("checks").at("passed") == true, "hk probe's own checks failed");
    if (require_python) check_python(j);

    std::cout << fmt::format("racy counter: lost {} of {} increments (reported, not asserted)\n",
                             shared.at("lost_updates").at("value").get<long long>(), expected);
  } catch (const json::exception& e) {
    problems.push_back(std::string("malformed probe JSON: ") + e.what());
  }
  for (const auto& p : problems) std::cerr << "hk-probe-check: " << p << "\n";
  if (!problems.empty()) return 1;
  std::cout << "hk-probe-check: " << argv[1] << ": all figures positive with units, all outcomes as claimed\n";
  return 0;
}
