// hk probe's Python rows, the report: table rows, the lines above them, the JSON section.
#include <fmt/format.h>

#include <algorithm>

#include "probe.hpp"
#include "python_probe.hpp"

namespace hk::probe {

namespace {

double median_of(const std::map<std::string, std::vector<PyTrial>>& m, const std::string& key) { return median_wall(m, key); }
std::string speed(double ratio) { return speedup_text(ratio); }

// "0.16 s 1.95x": a median wall time and its speed-up over `base` (seconds, times `count`).
std::string timed(double seconds, double base, int count = 1) {
  if (seconds <= 0) return "unavailable";
  return format_seconds(seconds) + " " + speed(count * base / seconds);
}

std::string ratio_text(double process, double thread) {
  if (process <= 0 || thread <= 0) return "-";
  const double r = process / thread;
  return r < 10 ? fmt::format("{:.1f}x", r) : fmt::format("{:.0f}x", r);
}

// The table's verdict cell for some of a run's verdicts.
std::string verdict_cell(const std::vector<PythonVerdict>& verdicts, const std::vector<std::string>& claims,
                         const std::string& otherwise) {
  std::string cell;
  for (const PythonVerdict& v : verdicts) {
    if (std::find(claims.begin(), claims.end(), v.claim) == claims.end()) continue;
    const std::string text = v.asserted && !v.holds ? "CHECK FAILED: " + v.text : v.text;
    if (cell.find(text) == std::string::npos) cell += (cell.empty() ? "" : "; ") + text;  // "CPUs busy" once
  }
  return cell.empty() ? otherwise : cell;
}

// What the second interpreter is, as it reports itself: --free-threaded-python may name any.
std::string prefix(const PythonRun& run) {
  if (run.key == "python") return "Python";
  if (run.version.empty()) return "Free-threaded Python";
  return run.free_threaded_build ? fmt::format("Python {}t", run.version)
                                 : fmt::format("Python {} (not a free-threaded build)", run.version);
}

void cpu_rows(const PythonRun& run, const std::vector<PythonVerdict>& verdicts, int cores, std::vector<Row>& rows) {
  const double one = median_of(run.cpu, "one_thread"), threads = median_of(run.cpu, "threads");
  const double fork = median_of(run.cpu, "processes_fork"), spawn = median_of(run.cpu, "processes_spawn");
  rows.push_back({fmt::format("{}: CPU loop, {} workers (1 thread {})", prefix(run), run.workers, format_seconds(one)),
                  fmt::format("fork {}; spawn {}", timed(fork, one), timed(spawn, one)),
                  fmt::format("{} threads {}", run.workers, timed(threads, one)), ratio_text(fork, threads),
                  verdict_cell(verdicts,
                               {"CPU-bound Python on threads", "CPU-bound Python on processes (fork)",
                                "CPU-bound Python on processes (spawn)", "The loop's result"},
                               "-")});
  const double many_threads = median_of(run.cpu, "many_threads"), many_fork = median_of(run.cpu, "many_processes_fork");
  rows.push_back({fmt::format("{}: CPU loop, {} workers", prefix(run), run.many), "fork " + timed(many_fork, one),
                  fmt::format("{} threads {}", run.many, timed(many_threads, one)), ratio_text(many_fork, many_threads),
                  fmt::format("reported: beyond the {} cores CPU-bound workers only share them", cores)});
}

void io_rows(const PythonRun& run, const std::vector<PythonVerdict>& verdicts, std::vector<Row>& rows) {
  const double one = median_of(run.io, "one_wait");
  for (const bool many : {false, true}) {
    const int n = many ? run.many : run.workers;
    const std::string m = many ? "many_" : "";
    const double threads = median_of(run.io, m + "threads"), tasks = median_of(run.io, m + "asyncio");
    const double processes = median_of(run.io, m + "processes");
    const std::string in_turn = many ? fmt::format("{} x {}", n, format_seconds(one))
                                     : format_seconds(median_of(run.io, "in_turn"));
    rows.push_back({fmt::format("{}: I/O, {} waits of {} (in turn {})", prefix(run), n, format_seconds(run.wait_s), in_turn),
                    fmt::format("{} {}", run.io_start_method, timed(processes, one, n)),
                    fmt::format("threads {}; asyncio {}", timed(threads, one, n), timed(tasks, one, n)),
                    ratio_text(processes, threads),
                    verdict_cell(verdicts,
                                 {fmt::format("I/O-bound: {} waits on threads", n),
                                  fmt::format("I/O-bound: {} waits on asyncio tasks", n)},
                                 "-")});
  }
}

void creation_and_data_rows(const PythonRun& run, const std::vector<PythonVerdict>& verdicts, std::vector<Row>& rows) {
  auto created = [&](const std::string& name) {
    const auto it = run.creation.find(name);
    return it == run.creation.end() ? 0.0 : median(it->second);
  };
  const double thread = created("thread_s"), fork = created("process_fork_s"), spawn = created("process_spawn_s");
  rows.push_back({fmt::format("{}: start + join Process vs Thread", prefix(run)),
                  fmt::format("fork {}; spawn {}", format_seconds(fork), format_seconds(spawn)),
                  "Thread " + format_seconds(thread), ratio_text(fork, thread),
                  thread > 0 && fork > 0 && spawn > 0
                      ? fmt::format("a thread starts {} faster than a forked process, {} than a spawned one",
                                    ratio_text(fork, thread), ratio_text(spawn, thread))
                      : "-"});
  const double to_thread = median(run.data_thread_s), to_process = median(run.data_process_s);
  rows.push_back({fmt::format("{}: hand {:.0f} MiB to a worker", prefix(run), static_cast<double>(run.data_bytes) / (1 << 20)),
                  fmt::format("{} pipe: {} pickled, {}", run.data_start_method,
                              format_bytes(static_cast<double>(run.pickled_bytes)), format_seconds(to_process)),
                  fmt::format("queue: same object, {} copied, {}", format_bytes(static_cast<double>(run.thread_bytes_copied)),
                              format_seconds(to_thread)),
                  ratio_text(to_process, to_thread),
                  verdict_cell(verdicts, {"Data handed to a worker"}, "-") +
                      (run.thread_got_same_object && run.child_had_a_copy ? ": threads share, processes copy" : "")});
}

Row cpp_row(const CppContrast& c) {
  const double one = median(c.one_thread_s), many = median(c.threads_s);
  const double ratio = many > 0 ? one / many : 0;
  return {fmt::format("C++: the same loop, {} threads ({} iterations)", c.threads, c.iterations), "-",
          fmt::format("1 thread {}; {} threads {}", format_seconds(one), c.threads, timed(many, one)), "-",
          ratio >= 1.5 ? fmt::format("reported: the lock is CPython's, C++ threads ran the loop {} faster", speed(ratio))
                       : fmt::format("reported: C++ threads {} (CPUs busy?)", speed(ratio))};
}

}  // namespace

std::vector<Row> python_rows(const PythonResults& p) {
  std::vector<Row> rows;
  if (!p.measured) return rows;
  for (const PythonRun& run : p.runs) {
    if (!run.available) {
      rows.push_back({prefix(run), "unavailable", "unavailable", "-", "not measured: " + run.reason});
      continue;
    }
    const std::vector<PythonVerdict> verdicts = judge_python(run, p.cores, p.assert_timing);
    cpu_rows(run, verdicts, p.cores, rows);
    if (run.key == "python" && p.cpp.measured) rows.push_back(cpp_row(p.cpp));
    io_rows(run, verdicts, rows);
    creation_and_data_rows(run, verdicts, rows);
  }
  return rows;
}

std::string python_header(const PythonResults& p) {
  std::string text;
  for (const PythonRun& run : p.runs) {
    if (!run.available) {
      text += fmt::format("{}: unavailable: {}\n", run.label, run.reason);
      continue;
    }
    text += fmt::format("{}: {} ({} {}, {}), GIL {}: {}{}\n", run.label, run.requested, run.implementation, run.version,
                        run.compiler, run.gil_enabled ? "enabled" : "disabled", run.gil_reported_by,
                        run.free_threaded_build ? ", free-threaded build" : "");
  }
  for (const PythonRun& run : p.runs) {
    if (!run.available) continue;
    text += fmt::format(
        "Python sizes: {} iterations of the loop in all, waits of {}, medians of {} rounds; {} usable cores. "
        "Verdicts are asserted on quiet trials (a task waited for a CPU <= {:.0f}% of the time{}), the best one of each.\n",
        run.cpu_iterations, format_seconds(run.wait_s), run.cpu.count("one_thread") ? run.cpu.at("one_thread").size() : 0,
        p.cores, 100 * kQuietStall,
        run.contention_source.empty() ? "; no /proc/pressure/cpu here, so every trial counts as quiet"
                                      : ", " + run.contention_source);
    break;
  }
  return text;
}

nlohmann::json python_json(const PythonResults& p, const PythonSettings& s) {
  using nlohmann::json;
  auto bytes = [](std::int64_t value) { return json{{"value", value}, {"unit", "B"}}; };
  json runs = json::array();
  for (const PythonRun& run : p.runs) {
    json verdicts = json::array();
    for (const PythonVerdict& v : judge_python(run, p.cores, p.assert_timing))
      verdicts.push_back({{"claim", v.claim}, {"asserted", v.asserted}, {"holds", v.holds}, {"text", v.text}});
    runs.push_back({{"label", run.label}, {"key", run.key}, {"requested", run.requested}, {"available", run.available},
                    {"reason", run.reason}, {"executable", run.executable}, {"version", run.version},
                    {"implementation", run.implementation}, {"compiler", run.compiler},
                    {"free_threaded_build", run.free_threaded_build}, {"gil_enabled", run.gil_enabled},
                    {"gil_reported_by", run.gil_reported_by}, {"contention_source", run.contention_source},
                    {"verdicts", verdicts},
                    {"outcomes",
                     {{"thread_got_same_object", run.thread_got_same_object},
                      {"thread_bytes_copied", bytes(run.thread_bytes_copied)},
                      {"child_had_a_copy", run.child_had_a_copy},
                      {"pickled", bytes(run.pickled_bytes)},
                      {"data", bytes(run.data_bytes)},
                      {"verification_failures", run.verification_failures}}}});
  }
  json table = json::array();
  for (const Row& row : python_rows(p))
    table.push_back({{"claim", row.claim}, {"process", row.process}, {"thread", row.thread}, {"ratio", row.ratio},
                     {"verdict", row.verdict}});
  return {{"measured", p.measured},
          {"usable_cores", p.cores},
          {"quiet_stall_at_most", kQuietStall},
          {"settings",
           {{"only", s.only}, {"python", s.python}, {"free_threaded_python", s.free_threaded}, {"workers", s.workers},
            {"many", s.many}, {"cpu_iterations", s.cpu_iterations}, {"wait", {{"value", s.wait_s}, {"unit", "s"}}},
            {"trials", s.trials}, {"create_trials", s.create_trials}, {"data", bytes(s.data_bytes)},
            {"timeout", {{"value", s.timeout_s}, {"unit", "s"}}}}},
          {"interpreters", runs},
          {"cpp_contrast", {{"measured", p.cpp.measured}, {"threads", p.cpp.threads}, {"iterations", p.cpp.iterations},
                            {"verified", p.cpp.verified}}},
          {"table", table}};
}

}  // namespace hk::probe
