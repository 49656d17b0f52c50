#pragma once
// What `hk slurm status|collect` sees of a results directory: the tasks hk slurm submit
// remembered (DIR/slurm/submissions.jsonl), the markers the batch scripts wrote
// (DIR/slurm/tasks/KEY.start|exit), jobs named with --jobs; then each task's state from squeue,
// the JobComp file and the markers (slurm_state.hpp). Files that are not what they should be are
// skipped with a warning naming them, never trusted.
#include <string>
#include <vector>

#include "slurm_state.hpp"

namespace hk::slurm {

struct ObserveRequest {
  std::string dir;      // the results directory
  std::string jobs;     // "ID,ID": jobs submitted by hand
  std::string jobcomp;  // the JobComp file; empty: HK_SLURM_JOBCOMP, else scontrol's JobCompLoc
};

struct Snapshot {
  std::vector<TaskStatus> tasks;
  bool queue_ok = true;
  std::string note;                   // why a source was not available
  std::vector<std::string> warnings;  // files skipped
};
Snapshot gather(const ObserveRequest& request);

// Slurm's filename patterns as used in our --output options (%A %a %j %%).
std::string expand_log_pattern(const std::string& pattern, const std::string& array_job, const std::string& task,
                               const std::string& job);

}  // namespace hk::slurm
