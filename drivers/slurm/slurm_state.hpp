#pragma once
// What `hk slurm status|collect` knows about the Slurm jobs of a results directory, without
// sacct: squeue for live jobs, the JobComp file (jobcomp/filetxt) for finished ones, and the
// start/exit markers every hybridkit batch script writes under DIR/slurm/tasks/.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hk::slurm {

// A task's key: "JOB" for a plain job, "ARRAYJOB_TASK" for an array task (as squeue -r prints it).
std::string task_key(const std::string& job_id, const std::string& array_task_id);

// One line of `squeue -h -r -o '%i|%T|%r|%N'`.
struct QueueEntry {
  std::string key, state, reason, nodes;
};
std::map<std::string, QueueEntry> parse_squeue(const std::string& text);

// One line of a jobcomp/filetxt file: "JobId=3 ... JobState=COMPLETED ... ArrayJobId=2
// ArrayTaskId=0 DerivedExitCode=0:0 ExitCode=0:0". An array task's key comes from
// ArrayJobId/ArrayTaskId (its JobId may be the array's own id).
struct JobCompEntry {
  std::string key, state, nodes, end_time;
  int exit_code = 0, exit_signal = 0, derived_code = 0, derived_signal = 0;
};
std::optional<JobCompEntry> parse_jobcomp_line(const std::string& line);
// Later lines replace earlier ones for the same key (requeued jobs).
std::map<std::string, JobCompEntry> parse_jobcomp(const std::string& text);

// DIR/slurm/tasks/KEY.start and KEY.exit, written by `hk slurm mark` inside the job.
struct Marker {
  std::string key, mix, host, started, ended, log;
  bool started_marked = false, ended_marked = false;
  int exit_code = 0;
};

enum class State { pending, running, ok, failed, timed_out, cancelled, unknown };
std::string state_name(State state);
bool finished(State state);

struct TaskStatus {
  std::string key, mix, log;
  State state = State::unknown;
  std::optional<int> exit_code;
  std::string detail;  // reason, signal, where the verdict came from
};

// The verdict for one task: the queue first (live jobs), then the JobComp line, then the markers
// (and the log's "DUE TO TIME LIMIT"/"CANCELLED" line from slurmstepd when only markers exist).
// `queue_ok` false: squeue could not be asked, so absence from the queue proves nothing.
TaskStatus classify(const std::string& key, const QueueEntry* queue, bool queue_ok, const JobCompEntry* jobcomp,
                    const Marker* marker, const std::string& log_text);

// A Slurm time limit as sbatch accepts it: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
bool valid_time_limit(const std::string& text);

}  // namespace hk::slurm
