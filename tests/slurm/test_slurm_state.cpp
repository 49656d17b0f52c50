// The verdicts of hk slurm status from the three sources it reads: squeue, the JobComp file and
// the markers. The JobComp lines are verbatim from Slurm 22.05's jobcomp/filetxt.
#include <gtest/gtest.h>

#include "hk/errors.hpp"
#include "slurm_state.hpp"

using namespace hk::slurm;

namespace {
const char* kArrayTaskLine =
    "JobId=3 UserId=root(0) GroupId=root(0) Name=wrap JobState=COMPLETED Partition=debug TimeLimit=UNLIMITED "
    "StartTime=2026-11-23T17:46:32 EndTime=2026-11-23T17:46:32 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp "
    "ReservationName= Tres=cpu=1,mem=22899M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown "
    "SubmitTime=2026-11-23T17:46:31 EligibleTime=2026-11-23T17:46:32 ArrayJobId=2 ArrayTaskId=0 "
    "DerivedExitCode=0:0 ExitCode=0:0 ";
const char* kFailedLine =
    "JobId=1 UserId=root(0) GroupId=root(0) Name=wrap JobState=FAILED Partition=debug TimeLimit=UNLIMITED "
    "StartTime=2026-11-23T17:46:32 EndTime=2026-11-23T17:46:33 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp "
    "ReservationName= Tres=cpu=1,mem=22899M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown "
    "SubmitTime=2026-11-23T17:46:31 EligibleTime=2026-11-23T17:46:31 DerivedExitCode=0:0 ExitCode=3:0 ";
}  // namespace

TEST(SlurmJobComp, ArrayTaskKeyedByArrayJobAndTask) {
  const auto entry = parse_jobcomp_line(kArrayTaskLine);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->key, "2_0");
  EXPECT_EQ(entry->state, "COMPLETED");
  EXPECT_EQ(entry->nodes, "vm");
}

TEST(SlurmJobComp, FailedJobKeepsItsExitCode) {
  const auto entries = parse_jobcomp(std::string(kArrayTaskLine) + "\n" + kFailedLine + "\ngarbage line\n");
  ASSERT_EQ(entries.size(), 2u);
  const auto& failed = entries.at("1");
  EXPECT_EQ(failed.exit_code, 3);
  const auto status = classify("1", nullptr, true, &failed, nullptr, "");
  EXPECT_EQ(status.state, State::failed);
  ASSERT_TRUE(status.exit_code);
  EXPECT_EQ(*status.exit_code, 3);
}

TEST(SlurmJobComp, TimeoutCancelAndFailedStep) {
  JobCompEntry entry;
  entry.key = "7";
  entry.state = "TIMEOUT";
  EXPECT_EQ(classify("7", nullptr, true, &entry, nullptr, "").state, State::timed_out);
  entry.state = "CANCELLED";
  EXPECT_EQ(classify("7", nullptr, true, &entry, nullptr, "").state, State::cancelled);
  // A failed srun step in a script that still exits 0 shows only in DerivedExitCode.
  entry.state = "COMPLETED";
  entry.derived_code = 2;
  const auto status = classify("7", nullptr, true, &entry, nullptr, "");
  EXPECT_EQ(status.state, State::failed);
  EXPECT_EQ(*status.exit_code, 2);
  entry.derived_code = 0;
  EXPECT_EQ(classify("7", nullptr, true, &entry, nullptr, "").state, State::ok);
}

TEST(SlurmQueue, LiveStatesWinOverEverythingElse) {
  const auto queue = parse_squeue("12_0|RUNNING|None|vm\n12_1|PENDING|Resources|\n");
  ASSERT_EQ(queue.size(), 2u);
  Marker ended;
  ended.ended_marked = true;
  EXPECT_EQ(classify("12_0", &queue.at("12_0"), true, nullptr, &ended, "").state, State::running);
  const auto pending = classify("12_1", &queue.at("12_1"), true, nullptr, nullptr, "");
  EXPECT_EQ(pending.state, State::pending);
  EXPECT_EQ(pending.detail, "Resources");
}

TEST(SlurmMarkers, WithoutJobCompTheMarkersAndTheLogDecide) {
  Marker marker;
  marker.started_marked = true;
  EXPECT_EQ(classify("5", nullptr, true, nullptr, &marker, "").state, State::unknown);
  EXPECT_EQ(classify("5", nullptr, true, nullptr, &marker,
                     "slurmstepd: error: *** JOB 5 ON vm CANCELLED AT 2026-11-23T17:50:00 DUE TO TIME LIMIT ***")
                .state,
            State::timed_out);
  marker.ended_marked = true;
  marker.exit_code = 2;
  const auto failed = classify("5", nullptr, true, nullptr, &marker, "");
  EXPECT_EQ(failed.state, State::failed);
  EXPECT_EQ(*failed.exit_code, 2);
  marker.exit_code = 0;
  EXPECT_EQ(classify("5", nullptr, true, nullptr, &marker, "").state, State::ok);
  // squeue unreachable: absence from the queue proves nothing.
  EXPECT_EQ(classify("5", nullptr, false, nullptr, &marker, "").state, State::unknown);
  EXPECT_EQ(classify("6", nullptr, true, nullptr, nullptr, "").state, State::unknown);
}

TEST(SlurmOptions, TimeLimits) {
  for (const char* ok : {"10", "1:00", "1:00:00", "2-0", "2-12:30", "2-12:30:00"}) EXPECT_TRUE(valid_time_limit(ok)) << ok;
  for (const char* bad : {"", "soon", "1h", "1:2:3:4", "-5"}) EXPECT_FALSE(valid_time_limit(bad)) << bad;
}
