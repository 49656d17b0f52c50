// hk sweep's library: mix planning, resume keys, the record appender under a concurrent reader,
// status classification, and real child processes that crash, hang, fail or get interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <thread>

#include "executor.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"
#include "hk/record_file.hpp"
#include "files.hpp"
#include "finisher.hpp"
#include "resume.hpp"
#include "sweep_directory.hpp"
#include "plan.hpp"

namespace fs = std::filesystem;
using hk::pipeline::Mix;
using nlohmann::json;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("hk-sweep-test-{}-{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::vector<std::string> labels(const std::vector<Mix>& mixes) {
  std::vector<std::string> out;
  for (const auto& m : mixes) out.push_back(m.label());
  return out;
}

std::vector<std::string> labels(const std::vector<hk::pipeline::PlannedRun>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r.mix.label());
  return out;
}

hk::LaunchCommand shell(const std::string& script) {
  hk::LaunchCommand c;
  c.argv = {"/bin/sh", "-c", script};
  return c;
}

bool process_alive(pid_t pid) {
  // A zombie (dead, not yet reaped by its new parent) counts as gone.
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto close = text.rfind(')');
  return close != std::string::npos && text.size() > close + 2 && text[close + 2] != 'Z';
}

std::vector<pid_t> read_pids(const std::string& path) {
  std::vector<pid_t> pids;
  std::ifstream in(path);
  pid_t pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

}  // namespace

// ---- mix enumeration -------------------------------------------------------------------------

TEST(Plan, DivisorMixesMostRanksFirst) {
  EXPECT_EQ(labels(hk::pipeline::divisor_mixes(1)), (std::vector<std::string>{"1x1"}));
  EXPECT_EQ(labels(hk::pipeline::divisor_mixes(2)), (std::vector<std::string>{"2x1", "1x2"}));
  EXPECT_EQ(labels(hk::pipeline::divisor_mixes(12)),
            (std::vector<std::string>{"12x1", "6x2", "4x3", "3x4", "2x6", "1x12"}));
  EXPECT_EQ(hk::pipeline::divisor_mixes(7).size(), 2u);  // a prime: pure MPI and pure OpenMP only
}

TEST(Plan, ParseMixes) {
  EXPECT_EQ(labels(hk::pipeline::parse_mixes("4x1,2x2,1x4")), (std::vector<std::string>{"4x1", "2x2", "1x4"}));
  for (const std::string bad : {"", "4", "4x", "x4", "0x1", "2x0", "a x1", "4x1,", "4x1,4x1", "-1x2", "2x2x2"}) {
    try {
      hk::pipeline::parse_mixes(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const hk::UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--mixes: must be", 0), 0u) << e.what();
    }
  }
}

// The one parser of --mixes (hk sweep, hk slurm submit): hk run's limits, duplicates refused.
TEST(Plan, ParseMixesLimits) {
  EXPECT_EQ(labels(hk::pipeline::parse_mixes("1048576x1,1x4096")), (std::vector<std::string>{"1048576x1", "1x4096"}));
  for (const std::string bad : {"2x99999", "1048577x1", "1x4097", "2x1,1x2,2x1", "99999999999x1"})
    EXPECT_THROW(hk::pipeline::parse_mixes(bad), hk::UsageError) << bad;
}

// Issue 13, item 16: --mixes "" is an error, not "every mix".
TEST(Plan, AnEmptyMixListIsRefused) {
  hk::pipeline::PlanRequest request;
  request.cores_per_node = 2;
  EXPECT_EQ(hk::pipeline::plan(request).size(), 2u);  // no --mixes: every mix of the budget
  request.mixes_given = true;
  EXPECT_THROW(hk::pipeline::plan(request), hk::UsageError);
}

TEST(Plan, EveryNodeCountIsPlannedOnItsOwnBudget) {
  hk::pipeline::PlanRequest request;
  request.cores_per_node = 2;
  request.node_counts = {1, 2};
  const auto runs = hk::pipeline::plan(request);
  ASSERT_EQ(runs.size(), 4u);  // 2x1 1x2 on one node; 4x1 2x2 on two (1x4 cannot spread)
  EXPECT_EQ(runs[2].mix.label(), "4x1");
  EXPECT_EQ(runs[2].nodes, 2);
  EXPECT_EQ(runs[3].mix.label(), "2x2");
}

TEST(Plan, CoreCountsArePowersOfTwoThenTheBudget) {
  EXPECT_EQ(hk::pipeline::scaling_core_counts(1), (std::vector<int>{1}));
  EXPECT_EQ(hk::pipeline::scaling_core_counts(2), (std::vector<int>{1, 2}));
  EXPECT_EQ(hk::pipeline::scaling_core_counts(8), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(hk::pipeline::scaling_core_counts(6), (std::vector<int>{1, 2, 4, 6}));
}

TEST(Plan, FamilyFillsARankThenAddsRanks) {
  Mix m;
  ASSERT_TRUE(hk::pipeline::family_member(4, 1, m));
  EXPECT_EQ(m.label(), "1x1");
  ASSERT_TRUE(hk::pipeline::family_member(4, 2, m));
  EXPECT_EQ(m.label(), "1x2");
  ASSERT_TRUE(hk::pipeline::family_member(4, 8, m));
  EXPECT_EQ(m.label(), "2x4");
  EXPECT_FALSE(hk::pipeline::family_member(3, 4, m));  // 4 cores cannot be ranks of 3 threads
}

TEST(Plan, StrongFamiliesShareMembersAndTheBaseline) {
  const auto runs = hk::pipeline::plan_runs(hk::pipeline::divisor_mixes(4), hk::pipeline::Scaling::strong);
  EXPECT_EQ(labels(runs), (std::vector<std::string>{"1x1", "2x1", "1x2", "4x1", "2x2", "1x4"}));
  EXPECT_EQ(runs[0].families, (std::vector<int>{1, 2, 4}));  // 1x1: every family's origin
  EXPECT_EQ(runs[2].families, (std::vector<int>{2, 4}));     // 1x2: on the way to 2x2 and to 1x4
  for (const auto& r : runs) EXPECT_EQ(r.weak_factor, 1.0);
}

TEST(Plan, NoScalingIsTheFullMixesOnly) {
  const auto runs = hk::pipeline::plan_runs(hk::pipeline::parse_mixes("2x1,1x2"), hk::pipeline::Scaling::none);
  EXPECT_EQ(labels(runs), (std::vector<std::string>{"2x1", "1x2"}));
}

TEST(Plan, WeakScalesTheProblemWithTheCores) {
  const auto runs = hk::pipeline::plan_runs(hk::pipeline::parse_mixes("4x1,1x4"), hk::pipeline::Scaling::weak);
  EXPECT_EQ(labels(runs), (std::vector<std::string>{"1x1", "2x1", "1x2", "4x1", "1x4"}));
  EXPECT_DOUBLE_EQ(runs[0].weak_factor, 0.25);
  EXPECT_DOUBLE_EQ(runs[1].weak_factor, 0.5);
  EXPECT_DOUBLE_EQ(runs[3].weak_factor, 1.0);
}

// 1048576 x 4096 = 2^32 cores wrapped to 0 in an int and planned a "1x0" mix (issue 13).
TEST(Plan, AFamilyTooBigToEnumerateIsRefused) {
  const auto full = hk::pipeline::parse_mixes("1048576x4096");
  EXPECT_THROW(hk::pipeline::plan_runs(full, hk::pipeline::Scaling::strong), hk::UsageError);
  EXPECT_THROW(hk::pipeline::plan_runs(full, hk::pipeline::Scaling::weak), hk::UsageError);
  EXPECT_EQ(hk::pipeline::plan_runs(full, hk::pipeline::Scaling::none).size(), 1u);
}

// The progress line names the node count when it is not 1 (--nodes 1,2 plans 2x1 on each).
TEST(Plan, AConfigurationLabelNamesItsNodes) {
  hk::pipeline::Configuration c;
  c.kernel = "montecarlo";
  c.variant = "pi";
  c.run.mix = {2, 1};
  EXPECT_EQ(c.label(), "montecarlo [pi] 2x1");
  c.run.nodes = 2;
  EXPECT_EQ(c.label(), "montecarlo [pi] 2x1 on 2 nodes");
  c.run.weak_factor = 0.5;
  EXPECT_EQ(c.label(), "montecarlo [pi] 2x1 on 2 nodes (weak, x0.5)");
}

TEST(Plan, ScalingNames) {
  EXPECT_EQ(hk::pipeline::parse_scaling("weak"), hk::pipeline::Scaling::weak);
  EXPECT_THROW(hk::pipeline::parse_scaling("medium"), hk::UsageError);
}

// ---- resume keys -------------------------------------------------------------------------------

json record_of(const std::string& kernel, const std::string& variant, const json& params, int ranks, int threads) {
  return {{"kernel", kernel}, {"variant", variant}, {"params", params}, {"ranks", ranks}, {"threads", threads},
          {"nodes", 1}, {"reps", 5}, {"warmup", 1}, {"seed", 20261123u}, {"status", "ok"}};
}

TEST(Resume, KeyOfARecordReadBackMatchesTheKeyOfTheConfiguration) {
  const json params = {{"problem", "pi"}, {"samples", 200000000ull}, {"block_samples", 65536}, {"rate", 0.05}};
  const json record = record_of("montecarlo", "pi", params, 2, 1);
  const std::string before = hk::pipeline::resume_key(record);
  ASSERT_FALSE(before.empty());
  const json read_back = json::parse(record.dump());  // through text, as resume reads it
  EXPECT_EQ(hk::pipeline::resume_key(read_back), before);
  EXPECT_NE(hk::pipeline::resume_key(record_of("montecarlo", "pi", params, 1, 2)), before);  // another mix
  json other = params;
  other["samples"] = 100;
  EXPECT_NE(hk::pipeline::resume_key(record_of("montecarlo", "pi", other, 2, 1)), before);  // another problem
  EXPECT_NE(hk::pipeline::resume_key(record_of("montecarlo", "option", params, 2, 1)), before);
}

// Issue 13, item 7: what changes the result or its statistics is part of the key.
TEST(Resume, SeedRepsAndWarmupArePartOfTheKey) {
  const json record = record_of("montecarlo", "pi", {{"samples", 1000}}, 2, 1);
  const std::string key = hk::pipeline::resume_key(record);
  for (const auto& [name, value] : std::vector<std::pair<std::string, json>>{
           {"seed", 7u}, {"reps", 3}, {"warmup", 0}, {"nodes", 2}}) {
    json changed = record;
    changed[name] = value;
    EXPECT_NE(hk::pipeline::resume_key(changed), key) << name;
  }
}

// Issue 13, item 14: a line that is JSON but not a record is skipped with a warning, never trusted.
TEST(Resume, MalformedRecordsAreSkippedWithAWarning) {
  const std::string dir = temp_dir("resume-malformed");
  const std::string path = dir + "/runs.jsonl";
  hk::append_line(path, R"({"status":1})");
  hk::append_line(path, R"({})");
  hk::append_line(path, R"({"status":"ok","kernel":3})");
  hk::append_record_jsonl(path, record_of("k", "v", {{"n", 8}}, 1, 1));
  const auto done = hk::pipeline::ok_runs(path);
  EXPECT_EQ(done.keys.size(), 1u);
  EXPECT_EQ(done.warnings.size(), 3u);
  for (const auto& w : done.warnings) EXPECT_NE(w.find(path), std::string::npos) << w;
  fs::remove_all(dir);
}

TEST(Resume, OnlyOkRecordsAreSkipped) {
  const std::string dir = temp_dir("resume");
  const std::string path = dir + "/runs.jsonl";
  const json params = {{"n", 8}};
  for (const auto& [status, ranks] : std::vector<std::pair<std::string, int>>{{"ok", 1}, {"crashed", 2}, {"timeout", 4}}) {
    json record = record_of("k", "v", params, ranks, 1);
    record["status"] = status;
    hk::append_record_jsonl(path, record);
  }
  const auto done = hk::pipeline::ok_runs(path);
  EXPECT_EQ(done.keys.size(), 1u);
  EXPECT_TRUE(done.keys.count(hk::pipeline::resume_key(record_of("k", "v", params, 1, 1))));
  EXPECT_FALSE(done.keys.count(hk::pipeline::resume_key(record_of("k", "v", params, 2, 1))));
  EXPECT_TRUE(hk::pipeline::ok_runs(dir + "/missing.jsonl").keys.empty());
  fs::remove_all(dir);
}

TEST(Resume, PartialLastLineIsCutBack) {
  const std::string dir = temp_dir("repair");
  const std::string path = dir + "/runs.jsonl";
  hk::append_line(path, R"({"status":"ok"})");
  { std::ofstream(path, std::ios::app) << R"({"status":"o)"; }  // a writer killed mid-line
  EXPECT_EQ(hk::repair_partial_tail(path), 12u);
  hk::append_line(path, R"({"status":"error"})");
  const auto file = hk::read_records(path);
  EXPECT_TRUE(file.errors.empty());
  EXPECT_EQ(file.records.size(), 2u);
  EXPECT_EQ(hk::repair_partial_tail(path), 0u);
  fs::remove_all(dir);
}

// ---- the record appender -----------------------------------------------------------------------

// Two writer processes append records of very different lengths while this process reads the
// file over and over: every line a reader sees complete must be a whole record.
TEST(Appender, ConcurrentReaderNeverSeesAPartialLine) {
  const std::string dir = temp_dir("append");
  const std::string path = dir + "/runs.jsonl";
  const int per_writer = 300;
  std::vector<pid_t> writers;
  for (int w = 0; w < 2; ++w) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < per_writer; ++i) {
        const std::string padding(static_cast<std::size_t>((i * 7919) % 20000), 'a' + static_cast<char>(w));
        hk::append_record_jsonl(path, {{"writer", w}, {"i", i}, {"padding", padding}, {"length", padding.size()}});
      }
      _exit(0);
    }
    writers.push_back(pid);
  }
  std::size_t complete = 0, reads = 0;
  auto check = [&] {
    std::ifstream in(path, std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0, lines = 0;
    while (true) {
      const std::size_t end = content.find('\n', start);
      if (end == std::string::npos) break;  // an unterminated tail is what readers skip
      const json record = json::parse(content.substr(start, end - start), nullptr, false);
      ASSERT_FALSE(record.is_discarded()) << "line " << lines + 1 << " is not a whole record";
      ASSERT_EQ(record["padding"].get<std::string>().size(), record["length"].get<std::size_t>());
      ++lines;
      start = end + 1;
    }
    ASSERT_GE(lines, complete) << "a complete line disappeared";
    complete = lines;
    ++reads;
  };
  bool running = true;
  while (running) {
    check();
    running = false;
    for (pid_t pid : writers)
      if (waitpid(pid, nullptr, WNOHANG) == 0) running = true;
  }
  check();
  EXPECT_EQ(complete, static_cast<std::size_t>(2 * per_writer));
  EXPECT_GT(reads, 1u);
  fs::remove_all(dir);
}

// ---- classification ----------------------------------------------------------------------------

hk::pipeline::ChildOutcome exited(int status, const std::string& tail = "") {
  hk::pipeline::ChildOutcome outcome;
  outcome.exited = true;
  outcome.exit_status = status;
  outcome.stderr_tail = tail;
  return outcome;
}

TEST(Classify, Statuses) {
  using hk::pipeline::classify;
  EXPECT_EQ(classify(exited(0), {{"status", "ok"}}, 0).status, "ok");
  const auto no_record = classify(exited(0), nullptr, 0);
  EXPECT_EQ(no_record.status, "error");
  EXPECT_NE(no_record.error.find("no record"), std::string::npos);

  EXPECT_EQ(classify(exited(1), {{"status", "verify_failed"}, {"verification", {{"method", "m"}}}}, 0).status,
            "verify_failed");
  const auto error = classify(exited(1, "line a\nline b"), nullptr, 0);
  EXPECT_EQ(error.status, "error");
  EXPECT_NE(error.error.find("exit status 1"), std::string::npos);
  EXPECT_NE(error.error.find("line b"), std::string::npos);
  EXPECT_EQ(error.reason.find("line b"), std::string::npos);  // the one-line reason has no tail

  const auto crashed = classify(
      exited(139, "mpirun noticed that process rank 0 with PID 0 on node vm exited on signal 11 (Segmentation fault)."),
      nullptr, 0);
  EXPECT_EQ(crashed.status, "crashed");
  EXPECT_EQ(crashed.signal, SIGSEGV);
  EXPECT_EQ(hk::pipeline::signal_in_text("srun: error: node1: task 3: Killed"), SIGKILL);
  const auto by_status = classify(exited(139, "Primary job terminated normally"), nullptr, 0);
  EXPECT_EQ(by_status.status, "crashed");
  EXPECT_EQ(by_status.signal, SIGSEGV);

  hk::pipeline::ChildOutcome timed_out;
  timed_out.timed_out = true;
  EXPECT_EQ(classify(timed_out, {{"status", "ok"}}, 5).status, "timeout");
  hk::pipeline::ChildOutcome signalled;
  signalled.signal = SIGABRT;
  const auto launcher_died = classify(signalled, nullptr, 0);
  EXPECT_EQ(launcher_died.status, "crashed");
  EXPECT_EQ(launcher_died.signal, SIGABRT);
}

// Issue 13, item 6: Open MPI exits 132 when it cannot execute the program; that is no signal 4.
TEST(Classify, ALaunchTheLauncherCouldNotStartIsAnError) {
  const auto verdict = hk::pipeline::classify(
      exited(132, "mpirun was unable to launch the specified application as it could not access\nor execute an "
                  "executable:\nExecutable: /nonexistent/hk-kernel"),
      nullptr, 0);
  EXPECT_EQ(verdict.status, "error");
  EXPECT_EQ(verdict.signal, 0);
  EXPECT_NE(verdict.reason.find("could not start the program"), std::string::npos) << verdict.reason;
  EXPECT_NE(verdict.error.find("/nonexistent/hk-kernel"), std::string::npos);
  // A record whose fields have other types than a record's is no record, never a crash of hk.
  EXPECT_EQ(hk::pipeline::classify(exited(0), {{"status", 1}}, 0).status, "error");
}

TEST(Placement, DistinctCoresAreChecked) {
  const json distinct = json::array({{{"host", "a"}, {"rank", 0}, {"thread", 0}, {"cpu", 0}, {"allowed_cpus", "0"}},
                                     {{"host", "a"}, {"rank", 1}, {"thread", 0}, {"cpu", 1}, {"allowed_cpus", "1"}}});
  EXPECT_TRUE(hk::pipeline::placement_mismatches(distinct, true).empty());
  const json shared = json::array({{{"host", "a"}, {"rank", 0}, {"thread", 0}, {"cpu", 0}, {"allowed_cpus", "0-1"}},
                                   {{"host", "a"}, {"rank", 0}, {"thread", 1}, {"cpu", 1}, {"allowed_cpus", "0-1"}}});
  EXPECT_FALSE(hk::pipeline::placement_mismatches(shared, true).empty());
  EXPECT_TRUE(hk::pipeline::placement_mismatches(shared, false).empty());  // unbound was asked for
  EXPECT_EQ(hk::pipeline::parse_cpu_list("0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
}

// ---- real child processes ----------------------------------------------------------------------

class Child : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("child"); }
  void TearDown() override { fs::remove_all(dir_); }
  hk::pipeline::ChildOutcome run(const std::string& script, hk::pipeline::ChildLimits limits = {}) {
    return hk::pipeline::run_in_group(shell(script), dir_ + "/out", dir_ + "/err", limits);
  }
  std::string dir_;
};

TEST_F(Child, ExitStatusAndStderrTail) {
  const auto outcome = run("echo one >&2; echo two >&2; echo three >&2; exit 3");
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_status, 3);
  EXPECT_EQ(hk::tail_lines(dir_ + "/err", 2), "two\nthree");
  EXPECT_EQ(outcome.stderr_tail, "one\ntwo\nthree");
  const auto verdict = hk::pipeline::classify(outcome, nullptr, 0);
  EXPECT_EQ(verdict.status, "error");
  EXPECT_NE(verdict.error.find("three"), std::string::npos);
}

TEST_F(Child, CrashIsASignal) {
  const auto outcome = run("kill -SEGV $$");
  EXPECT_FALSE(outcome.exited);
  EXPECT_EQ(outcome.signal, SIGSEGV);
  const auto verdict = hk::pipeline::classify(outcome, nullptr, 0);
  EXPECT_EQ(verdict.status, "crashed");
  EXPECT_EQ(verdict.signal, SIGSEGV);
}

TEST_F(Child, MissingProgramIsAnError) {
  hk::LaunchCommand c;
  c.argv = {"/nonexistent/hk-kernel"};
  const auto outcome = hk::pipeline::run_in_group(c, dir_ + "/out", dir_ + "/err", {});
  EXPECT_EQ(outcome.exit_status, 127);
  EXPECT_NE(hk::tail_lines(dir_ + "/err", 1).find("cannot start"), std::string::npos);
}

// The time limit kills the whole tree, including a grandchild in a process group of its own that
// ignores SIGTERM (as Open MPI's ranks are in their own groups).
TEST_F(Child, TimeoutKillsTheWholeTree) {
  const std::string pids = dir_ + "/pids";
  hk::pipeline::ChildLimits limits;
  limits.timeout_s = 0.5;
  limits.grace_s = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  const auto outcome = run(fmt::format("sleep 300 & echo $! >> {0}; "
                                       "setsid sh -c 'trap \"\" TERM; echo $$ >> {0}; sleep 300; true' & "
                                       "echo $$ >> {0}; wait",
                                       pids),
                           limits);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(hk::pipeline::classify(outcome, nullptr, 0.5).status, "timeout");
  EXPECT_LT(seconds, 5.0);
  const auto started = read_pids(pids);
  EXPECT_EQ(started.size(), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (pid_t pid : started) EXPECT_FALSE(process_alive(pid)) << "process " << pid << " survived the timeout";
}

TEST_F(Child, StopRequestKillsTheRunAndReturns) {
  std::atomic<bool> stop{false};
  hk::pipeline::ChildLimits limits;
  limits.stop = &stop;
  limits.grace_s = 0.5;
  std::thread raiser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  const auto outcome = run("sleep 300", limits);
  raiser.join();
  EXPECT_TRUE(outcome.interrupted);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_LT(outcome.seconds, 5.0);
}
