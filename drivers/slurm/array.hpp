#pragma once
// The Slurm array executor of `hk slurm submit`: one array task per planned run, each task
// running that mix through `hk run --launcher srun` inside the job (slurm/array.sbatch), so the
// foreground executor and the finisher of hk run finish every task and append its record to
// DIR/runs.jsonl. Composing is separate from submitting, so --dry-run prints exactly what would
// be submitted.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "configuration.hpp"
#include "launch.hpp"

namespace hk::slurm {

// What sbatch is told besides the array (hk slurm submit's options).
struct BatchOptions {
  int nodes = 1;          // nodes per task
  int max_parallel = 0;   // %K; 0: no limit
  std::string partition, account, time_limit;
  std::vector<std::string> sbatch_options;
};

struct ArrayRequest {
  std::string out;                             // the results directory, absolute
  std::string kernel;
  std::vector<std::string> args;               // the kernel's options (validated)
  std::vector<pipeline::Configuration> tasks;  // one per array task, launches validated
  BatchOptions batch;
  std::string hk_bin;                          // the directory holding hk and hk-kernel
};

// One line of DIR/slurm/submissions.jsonl: what hk slurm status needs to know every task of an
// array from the moment it was submitted.
struct Submission {
  std::string job, kernel;
  std::vector<std::string> args, mixes;  // mixes[i]: what task i runs
  int nodes = 1;
  std::string log, tasks_file, script, submitted, command;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Submission, job, kernel, args, mixes, nodes, log, tasks_file, script, submitted,
                                   command)

struct ArraySubmission {
  LaunchCommand sbatch;                // with HK_BIN and HK_OUT in its environment
  std::string tasks_path, script_path;  // DIR/slurm/array-K.tasks and .sbatch
  std::string log_pattern;              // DIR/slurm/logs/%A_%a.out
  std::string task_table;               // "RANKS THREADS" per task, one line each
  std::vector<std::string> mixes;       // "2x1" per task
};

// The next free array-K names under DIR/slurm, the task table and the sbatch command.
ArraySubmission compose_array(const ArrayRequest& request);
// Writes the task table and the script, runs sbatch, remembers the submission in
// DIR/slurm/submissions.jsonl. Returns the job id; RuntimeError when sbatch fails.
std::string submit_array(const ArraySubmission& array, const ArrayRequest& request);

}  // namespace hk::slurm
