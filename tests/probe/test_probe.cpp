// hk probe's measurements called directly: the qualitative claims must hold, every figure must
// be positive with a unit, and the checks must catch an outcome that contradicts a claim.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

#include <iostream>

#include "probe.hpp"

namespace hp = hk::probe;

namespace {
hp::Settings tiny() {
  hp::Settings s;
  s.trials = 3;
  s.threads = 2;
  s.processes = 2;
  s.increments = 20000;
  s.working_set_mib = 4;
  s.idle_threads = 4;
  s.round_trips = 20;
  s.switch_rounds = 20;
  s.mpi = false;
  s.helper_dir = HK_PROBE_HELPER_DIR;  // where hk-probe-true is built
  return s;
}

void expect_positive_with_units(const hp::Results& r) {
  for (const auto& [key, f] : r.figures) {
    EXPECT_GT(f.value, 0) << key;
    EXPECT_FALSE(f.unit.empty()) << key;
    EXPECT_FALSE(f.what.empty()) << key;
  }
}
}  // namespace

TEST(ProbeStatistics, MedianOfOddAndEvenCounts) {
  EXPECT_DOUBLE_EQ(hp::median({5, 1, 3}), 3);
  EXPECT_DOUBLE_EQ(hp::median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(hp::median({7}), 7);
}

TEST(ProbeProc, PrivateBytesSumCleanDirtyAndHugetlb) {
  const std::string rollup =
      "55d0c0a00000-7ffd5b1f6000 ---p 00000000 00:00 0                          [rollup]\n"
      "Rss:                4096 kB\n"
      "Shared_Clean:       1000 kB\n"
      "Private_Clean:       100 kB\n"
      "Private_Dirty:      2000 kB\n"
      "Private_Hugetlb:       4 kB\n"
      "Anonymous:          2000 kB\n";
  EXPECT_EQ(hp::private_bytes_from_smaps(rollup), (100u + 2000u + 4u) * 1024u);
  EXPECT_GT(hp::private_bytes(getpid()), 0u);  // this test process has private pages
}

TEST(ProbeFormat, UnitsScaleWithTheValue) {
  EXPECT_EQ(hp::format_seconds(250e-9), "250 ns");
  EXPECT_EQ(hp::format_seconds(42.5e-6), "42.5 us");
  EXPECT_EQ(hp::format_seconds(0.25), "250.0 ms");
  EXPECT_EQ(hp::format_bytes(8 * 1024), "8.0 KiB");
  EXPECT_EQ(hp::format_bytes(3.5 * 1024 * 1024), "3.5 MiB");
}

TEST(ProbeFault, ChildProcessDiesAloneButAFaultingThreadKillsItsProcess) {
  const hp::FaultOutcome f = hp::probe_fault_isolation();
  EXPECT_TRUE(f.child_signaled);
  EXPECT_EQ(f.child_signal, SIGSEGV);
  EXPECT_TRUE(f.sibling_process_finished) << "the healthy sibling process must finish its work";
  EXPECT_TRUE(f.sacrificial_signaled) << "exit status " << f.sacrificial_exit_status;
  EXPECT_EQ(f.sacrificial_signal, SIGSEGV);
  EXPECT_TRUE(f.sibling_thread_started);
  EXPECT_FALSE(f.sibling_thread_finished) << "the healthy thread must die with its process";
}

TEST(ProbeSharedState, ProcessesKeepPrivateCopiesAtomicAndReductionAreExact) {
  const hp::SharedStateOutcome s = hp::probe_shared_state(2, 3, 50000);
  EXPECT_EQ(s.threads, 2);
  EXPECT_EQ(s.expected, 100000);
  EXPECT_EQ(s.atomic, s.expected);
  EXPECT_EQ(s.reduction, s.expected);
  EXPECT_LE(s.plain, s.expected);
  EXPECT_GE(s.plain, 2);  // a stale store can erase many increments of the other thread, not all
  ASSERT_EQ(s.child_counts.size(), 3u);
  for (auto seen : s.child_counts) EXPECT_EQ(seen, 50000);
  EXPECT_EQ(s.parent_after, 0);
  // Reported, not asserted: it can be zero on a given run.
  std::cout << "racy counter lost " << s.expected - s.plain << " of " << s.expected << " increments\n";
}

TEST(ProbeMemory, ThreadWritesAreSharedChildWritesAreCopies) {
  hp::Results r;
  hp::measure_memory(tiny(), r);
  expect_positive_with_units(r);
  EXPECT_TRUE(r.thread_writes_seen_by_parent);
  EXPECT_FALSE(r.child_writes_seen_by_parent);
  // The child got private copies of the pages it wrote (about the whole working set).
  EXPECT_GT(r.figures.at("memory.fork_child_private_after_write").value,
            r.figures.at("memory.fork_child_private_after_fork").value);
  EXPECT_GT(r.figures.at("memory.thread_stack_reserved").value, 0);
}

TEST(ProbeLocal, CreationCommunicationSwitchingFiguresArePositiveWithUnits) {
  hp::Results r;
  const hp::Settings s = tiny();
  hp::measure_creation(s, r);
  hp::measure_thread_communication(s, r);
  hp::measure_switching(s, r);
  expect_positive_with_units(r);
  for (const char* key : {"creation.fork_waitpid", "creation.thread_create_join", "creation.omp_region_entry",
                          "communication.thread_handoff_8B", "communication.memcpy_1MiB", "communication.memcpy_16MiB",
                          "switching.processes", "switching.threads"})
    EXPECT_TRUE(r.figures.count(key)) << key;
  EXPECT_TRUE(r.figures.count("creation.posix_spawn_wait")) << r.unavailable["creation.posix_spawn_wait"];
}

TEST(ProbeMpi, MissingLauncherIsReportedWithTheReason) {
  hp::Settings s = tiny();
  s.mpi = true;
  s.mpirun = "/nonexistent/mpirun";
  hp::Results r;
  hp::measure_mpi(s, r);
  EXPECT_FALSE(r.mpi.available);
  EXPECT_NE(r.mpi.reason.find("cannot start '/nonexistent/mpirun'"), std::string::npos) << r.mpi.reason;
  const auto rows = hp::make_rows(r, s);
  bool reported = false;
  for (const auto& row : rows)
    if (row.process == "unavailable" && row.verdict.find("cannot start") != std::string::npos) reported = true;
  EXPECT_TRUE(reported);
}

TEST(ProbeChecks, AContradictedClaimOrABadFigureFails) {
  hp::Results r;
  r.fault = {true, SIGSEGV, true, true, SIGSEGV, -1, true, false};
  r.shared.threads = 2;
  r.shared.increments = 10;
  r.shared.expected = r.shared.atomic = r.shared.reduction = 20;
  r.shared.plain = 15;
  r.shared.processes = 1;
  r.shared.child_counts = {10};
  r.shared.parent_after = 0;
  r.thread_writes_seen_by_parent = true;
  r.child_writes_seen_by_parent = false;
  r.figures["x.time"] = {1.5, "us", "something", 3};
  EXPECT_TRUE(hp::check(r).empty());

  hp::Results survived = r;
  survived.fault.sacrificial_signaled = false;
  survived.fault.sibling_thread_finished = true;
  EXPECT_EQ(hp::check(survived).size(), 2u);

  hp::Results leaked = r;
  leaked.shared.parent_after = 10;
  leaked.shared.atomic = 19;
  EXPECT_EQ(hp::check(leaked).size(), 2u);

  hp::Results zero = r;
  zero.figures["x.zero"] = {0, "us", "nothing", 3};
  zero.figures["x.unitless"] = {1, "", "no unit", 3};
  EXPECT_EQ(hp::check(zero).size(), 2u);
}

TEST(ProbeDescriptors, AThreadsCloseClosesForAllAChildsCloseOnlyItsCopy) {
  const hp::DescriptorOutcome d = hp::probe_descriptors();
  EXPECT_TRUE(d.measured);
  EXPECT_EQ(d.first_read_bytes, d.payload_bytes / 2);
  EXPECT_EQ(d.read_after_close, -1);
  EXPECT_EQ(d.read_after_close_errno, EBADF) << "bytes were still in the pipe: only a closed descriptor fails";
  EXPECT_TRUE(d.number_reused) << "fd " << d.closed_number;
  EXPECT_EQ(d.read_after_reuse, 0) << "the number now names /dev/null";
  EXPECT_TRUE(d.child_closed_its_copy);
  EXPECT_EQ(d.parent_read_after_child_close, d.payload_bytes / 2);
  EXPECT_TRUE(hp::check_descriptors(d).empty());
  EXPECT_NE(hp::descriptor_row(d).verdict.find("one descriptor table per process"), std::string::npos);
}

TEST(ProbeDescriptors, ContradictedOutcomesFailTheCheck) {
  hp::DescriptorOutcome d = hp::probe_descriptors();
  d.read_after_close = 8;  // as if the other thread still had the descriptor open
  d.read_after_close_errno = 0;
  d.parent_read_after_child_close = -1;  // as if the child's close had closed the parent's
  const auto failures = hp::check_descriptors(d);
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].find("instead of failing with EBADF"), std::string::npos) << failures[0];
  EXPECT_NE(failures[1].find("the parent read -1 B"), std::string::npos) << failures[1];
  EXPECT_TRUE(hp::check_descriptors(hp::DescriptorOutcome{}).empty()) << "not measured: nothing to check";
}
