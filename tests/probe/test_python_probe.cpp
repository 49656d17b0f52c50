// hk probe's Python rows: the verdicts against faked trials (no clock involved), the script run
// for real at tiny sizes (outcomes only, never a timing), and interpreters that are missing,
// not Python, or without multiprocessing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "probe.hpp"

namespace hp = hk::probe;

namespace {

std::vector<hp::PyTrial> trials(std::initializer_list<double> walls, double stall = 0.01) {
  std::vector<hp::PyTrial> out;
  for (double w : walls) out.push_back({w, stall});
  return out;
}

// A run as a GIL build on 2 idle cores gives it: threads no faster, processes about 2x, waits overlap.
hp::PythonRun gil_run() {
  hp::PythonRun run;
  run.label = run.key = "python";
  run.requested = "/usr/bin/python3";
  run.available = true;
  run.version = "3.11.2";
  run.gil_enabled = true;
  run.workers = 2;
  run.many = 64;
  run.cpu_iterations = 2000000;
  run.wait_s = 0.1;
  run.io_start_method = "fork";
  run.cpu["one_thread"] = trials({0.30, 0.31, 0.30});
  run.cpu["threads"] = trials({0.31, 0.32, 0.31});
  run.cpu["processes_fork"] = trials({0.16, 0.155, 0.17});
  run.cpu["processes_spawn"] = trials({0.16, 0.158, 0.17});
  run.cpu["many_threads"] = trials({0.33, 0.32, 0.33});
  run.cpu["many_processes_fork"] = trials({0.17, 0.18, 0.17});
  run.io["one_wait"] = trials({0.101, 0.102, 0.101});
  run.io["in_turn"] = trials({0.203, 0.204, 0.203});
  for (const char* v : {"threads", "asyncio", "processes"}) run.io[v] = trials({0.102, 0.103, 0.102});
  for (const char* v : {"many_threads", "many_asyncio"}) run.io[v] = trials({0.106, 0.108, 0.107});
  run.io["many_processes"] = trials({0.13, 0.14, 0.13});
  run.creation["thread_s"] = {90e-6, 95e-6, 92e-6};
  run.creation["process_fork_s"] = {2e-3, 2.1e-3, 2e-3};
  run.creation["process_spawn_s"] = {35e-3, 36e-3, 35e-3};
  run.data_bytes = 64 << 20;
  run.pickled_bytes = (64 << 20) + 56;
  run.thread_got_same_object = run.child_had_a_copy = true;
  run.data_start_method = "spawn";
  run.data_thread_s = {20e-6, 21e-6, 22e-6};
  run.data_process_s = {40e-3, 41e-3, 42e-3};
  return run;
}

const hp::PythonVerdict& verdict(const std::vector<hp::PythonVerdict>& verdicts, const std::string& claim) {
  const auto it = std::find_if(verdicts.begin(), verdicts.end(), [&](const auto& v) { return v.claim == claim; });
  if (it == verdicts.end()) throw std::runtime_error("no verdict " + claim);
  return *it;
}

hp::PythonResults results_of(hp::PythonRun run, int cores) {
  hp::PythonResults p;
  p.measured = true;
  p.cores = cores;
  p.runs.push_back(std::move(run));
  return p;
}

hp::PythonSettings tiny_python(const std::string& python) {
  hp::PythonSettings s;
  s.python = python;
  s.free_threaded = "/nonexistent/python3.13t";
  s.script = HK_PROBE_PYTHON_SCRIPT;
  s.workers = 2;
  s.many = 4;
  s.cpu_iterations = 20000;
  s.wait_s = 0.01;
  s.trials = 1;
  s.create_trials = 1;
  s.data_bytes = 1 << 20;
  s.timeout_s = 120;
  return s;
}

}  // namespace

TEST(PythonVerdicts, AGilBuildOnTwoQuietCpusHoldsEveryClaim) {
  const auto verdicts = hp::judge_python(gil_run(), 2);
  for (const auto& v : verdicts) EXPECT_TRUE(v.holds) << v.claim << ": " << v.text;
  const auto& threads = verdict(verdicts, "CPU-bound Python on threads");
  EXPECT_TRUE(threads.asserted);
  EXPECT_NE(threads.text.find("GIL on"), std::string::npos) << threads.text;
  EXPECT_TRUE(verdict(verdicts, "CPU-bound Python on processes (fork)").asserted);
  EXPECT_TRUE(verdict(verdicts, "CPU-bound Python on processes (spawn)").asserted);
  EXPECT_TRUE(verdict(verdicts, "I/O-bound: 64 waits on threads").asserted);
  EXPECT_TRUE(verdict(verdicts, "I/O-bound: 64 waits on asyncio tasks").asserted);
  EXPECT_FALSE(verdict(verdicts, "I/O-bound: 64 waits on fork processes").asserted) << "reported only";
  EXPECT_TRUE(hp::check_python(results_of(gil_run(), 2)).empty());
}

TEST(PythonVerdicts, ThreadsThatScaleWithTheGilOnFail) {
  hp::PythonRun run = gil_run();
  run.cpu["threads"] = trials({0.16, 0.16, 0.17});
  const auto failures = hp::check_python(results_of(run, 2));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("GIL on: 2 threads 1.88x over 1 thread (at most 1.3x)"), std::string::npos) << failures[0];
}

TEST(PythonVerdicts, AFreeThreadedRunWhereThreadsScaleDoesNotFailAndSaysTheGilIsOff) {
  hp::PythonRun run = gil_run();
  run.key = "python_free_threaded";
  run.label = "free-threaded python";
  run.version = "3.13.1";
  run.free_threaded_build = true;
  run.gil_enabled = false;
  run.cpu["threads"] = trials({0.16, 0.16, 0.17});
  const auto verdicts = hp::judge_python(run, 2);
  const auto& threads = verdict(verdicts, "CPU-bound Python on threads");
  EXPECT_FALSE(threads.asserted);
  EXPECT_NE(threads.text.find("GIL off: 2 threads ran the loop 1.88x faster"), std::string::npos) << threads.text;
  EXPECT_TRUE(hp::check_python(results_of(run, 2)).empty());
  bool row_says_gil_off = false;
  for (const auto& row : hp::python_rows(results_of(run, 2)))
    row_says_gil_off = row_says_gil_off || row.verdict.find("GIL off") != std::string::npos;
  EXPECT_TRUE(row_says_gil_off);
}

TEST(PythonVerdicts, ProcessesOrWaitsThatDoNotOverlapFail) {
  hp::PythonRun run = gil_run();
  run.cpu["processes_spawn"] = trials({0.29, 0.30, 0.29});   // 1.03x
  run.io["many_asyncio"] = trials({0.5, 0.6, 0.5});          // 64 x 0.101 / 0.5 = 13x < 51.2x
  const auto failures = hp::check_python(results_of(run, 2));
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].find("2 spawn processes 1.03x over 1 thread (at least 1.6x)"), std::string::npos) << failures[0];
  EXPECT_NE(failures[1].find("asyncio tasks 13x over one wait at a time (at least 51.2x)"), std::string::npos)
      << failures[1];
}

TEST(PythonVerdicts, BusyTrialsAreReportedNotAsserted) {
  hp::PythonRun run = gil_run();
  for (auto* group : {&run.cpu, &run.io})
    for (auto& [name, list] : *group)
      for (auto& t : list) t.stall = 0.6;
  run.cpu["processes_fork"] = trials({0.3, 0.31, 0.3}, 0.6);  // no speed-up: the CPUs were taken
  const auto verdicts = hp::judge_python(run, 2);
  for (const auto& v : verdicts) {
    if (v.claim == "Data handed to a worker") continue;  // not a timing
    EXPECT_FALSE(v.asserted) << v.claim;
    EXPECT_NE(v.text.find("not asserted: CPUs busy (tasks waited for a CPU 60% of the time at best"),
              std::string::npos)
        << v.text;
  }
  EXPECT_TRUE(hp::check_python(results_of(run, 2)).empty());
  // One quiet trial is enough to assert, and it is the one that counts.
  run.cpu["one_thread"][1].stall = 0.02;
  run.cpu["threads"][2].stall = 0.0;
  EXPECT_TRUE(verdict(hp::judge_python(run, 2), "CPU-bound Python on threads").asserted);
}

TEST(PythonVerdicts, OneCoreOrMoreWorkersThanCoresAreNotAssertedForTheCpuBoundRows) {
  hp::PythonRun run = gil_run();
  run.cpu["processes_fork"] = trials({0.3, 0.31, 0.3});
  const auto one_cpu = hp::judge_python(run, 1);
  EXPECT_FALSE(verdict(one_cpu, "CPU-bound Python on threads").asserted);
  EXPECT_NE(verdict(one_cpu, "CPU-bound Python on processes (fork)").text.find("1 usable core"), std::string::npos);
  EXPECT_TRUE(verdict(one_cpu, "I/O-bound: 2 waits on threads").asserted) << "waits overlap on one CPU too";
  run.workers = 4;
  EXPECT_NE(verdict(hp::judge_python(run, 2), "CPU-bound Python on processes (fork)").text.find("4 workers on 2 cores"),
            std::string::npos);
}

TEST(PythonVerdicts, WithoutPressureInformationEveryTrialCounts) {
  hp::PythonRun run = gil_run();
  for (auto& t : run.cpu["threads"]) t.stall = -1;
  for (auto& t : run.cpu["one_thread"]) t.stall = -1;
  EXPECT_TRUE(verdict(hp::judge_python(run, 2), "CPU-bound Python on threads").asserted);
}

TEST(PythonVerdicts, AWrongLoopResultOrSharedDataFailWhateverTheTiming) {
  hp::PythonRun run = gil_run();
  run.verification_failures = {"cpu threads: the loop summed to 1 instead of 2"};
  run.child_had_a_copy = false;
  EXPECT_EQ(hp::check_python(results_of(run, 2)).size(), 2u);
  EXPECT_TRUE(hp::judge_python(hp::PythonRun{}, 2).empty()) << "an unavailable run has nothing to judge";
}

TEST(PythonFigures, EveryFigureIsPositiveWithAUnit) {
  hp::PythonResults p = results_of(gil_run(), 2);
  p.cpp = {true, 2, 200000000, {0.2, 0.21}, {0.1, 0.11}, true};
  std::map<std::string, hp::Figure> figures;
  hp::add_python_figures(p, figures);
  for (const char* key : {"python.cpu.threads_speedup", "python.cpu.processes_spawn_speedup", "python.io.many_asyncio_speedup",
                          "python.creation.process_spawn", "python.data.process_pickled", "cpp_contrast.threads_speedup"})
    EXPECT_TRUE(figures.count(key)) << key;
  for (const auto& [key, f] : figures) {
    EXPECT_GT(f.value, 0) << key;
    EXPECT_FALSE(f.unit.empty()) << key;
    EXPECT_FALSE(f.what.empty()) << key;
  }
  EXPECT_NEAR(figures.at("python.io.many_threads_speedup").value, 64 * 0.101 / 0.107, 1e-9);
}

TEST(PythonRun, TheScriptUnderDebiansPythonReportsEveryVariant) {
  const hp::PythonResults p = hp::measure_python(tiny_python(""));
  ASSERT_EQ(p.runs.size(), 2u);
  const hp::PythonRun& run = p.runs[0];
  ASSERT_TRUE(run.available) << run.reason;
  EXPECT_EQ(run.requested, "/usr/bin/python3");
  EXPECT_EQ(run.implementation, "CPython");
  for (const char* v : {"one_thread", "threads", "processes_fork", "processes_spawn", "many_threads", "many_processes_fork"})
    EXPECT_EQ(run.cpu.count(v), 1u) << v;
  for (const char* v : {"one_wait", "in_turn", "threads", "asyncio", "processes", "many_threads", "many_asyncio",
                        "many_processes"})
    EXPECT_EQ(run.io.count(v), 1u) << v;
  EXPECT_TRUE(run.verification_failures.empty());
  EXPECT_TRUE(run.thread_got_same_object);
  EXPECT_EQ(run.thread_bytes_copied, 0);
  EXPECT_TRUE(run.child_had_a_copy);
  EXPECT_GE(run.pickled_bytes, 1 << 20);
  EXPECT_FALSE(p.runs[1].available);
  EXPECT_NE(p.runs[1].reason.find("'/nonexistent/python3.13t' does not exist"), std::string::npos) << p.runs[1].reason;
  EXPECT_TRUE(p.cpp.verified);
}

TEST(PythonRun, MissingNotPythonOrWithoutMultiprocessingIsUnavailableWithTheReason) {
  const struct {
    std::string python, reason;
  } cases[] = {
      {"/nonexistent/python3", "--python: '/nonexistent/python3' does not exist or is not executable"},
      {"/bin/true", "exited 0 without writing the probe's result: not a Python 3 interpreter?"},
      {HK_PYTHON_WITHOUT_MULTIPROCESSING, "this Python has no usable multiprocessing module"},
  };
  for (const auto& c : cases) {
    const hp::PythonResults p = hp::measure_python(tiny_python(c.python));
    EXPECT_FALSE(p.runs[0].available) << c.python;
    EXPECT_NE(p.runs[0].reason.find(c.reason), std::string::npos) << p.runs[0].reason;
    EXPECT_TRUE(hp::check_python(p).empty()) << "unavailable is not a failed check";
    const auto rows = hp::python_rows(p);
    ASSERT_FALSE(rows.empty());
    EXPECT_NE(rows[0].verdict.find(c.reason), std::string::npos) << rows[0].verdict;
  }
}

TEST(PythonRun, TheKitFileLookupTriesNextToTheProgramThenShareHybridkit) {
  std::vector<std::string> looked_at;
  EXPECT_EQ(hp::find_kit_file("no-such-file.py", &looked_at), "");
  ASSERT_EQ(looked_at.size(), 2u);
  EXPECT_NE(looked_at[1].find("/share/hybridkit/no-such-file.py"), std::string::npos) << looked_at[1];
}

TEST(PythonVerdicts, TimingVerdictsReportedNotAssertedWithTimingVerdictsReport) {
  hp::PythonRun run = gil_run();
  run.cpu["processes_spawn"] = trials({0.29, 0.30, 0.29});  // 1.03x: does not hold
  hp::PythonResults reported = results_of(run, 2);
  reported.assert_timing = false;
  EXPECT_TRUE(hp::check_python(reported).empty()) << "a speed-up below its threshold is reported, not a failure";
  const auto verdicts = hp::judge_python(run, 2, false);  // kept: verdict() returns a reference into it
  const auto& spawn = verdict(verdicts, "CPU-bound Python on processes (spawn)");
  EXPECT_FALSE(spawn.asserted);
  EXPECT_NE(spawn.text.find("did not hold; reported: --timing-verdicts report"), std::string::npos) << spawn.text;
  run.child_had_a_copy = false;  // a fact, not a timing: still a failed check
  hp::PythonResults wrong = results_of(run, 2);
  wrong.assert_timing = false;
  EXPECT_EQ(hp::check_python(wrong).size(), 1u);
}
