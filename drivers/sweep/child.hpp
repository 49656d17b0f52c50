#pragma once
// Runs one launch (mpirun/srun and its ranks) in a process group of its own, with a time limit,
// so that a crash, a hang or a Ctrl-C stays inside that configuration.
#include <atomic>
#include <functional>
#include <string>

#include "launch.hpp"

namespace hk::sweep {

struct ChildOutcome {
  bool exited = false;      // exited normally with `exit_status`
  int exit_status = -1;
  int signal = 0;           // the launcher itself died by this signal
  bool timed_out = false;   // killed by us when the time limit expired
  bool interrupted = false; // killed by us because `stop` was raised (SIGINT/SIGTERM)
  double seconds = 0;       // wall-clock time from start to reaping
};

struct ChildLimits {
  double timeout_s = 0;         // 0: no limit
  double grace_s = 2.0;         // between SIGTERM (the launcher cleans up its ranks) and SIGKILL
  const std::atomic<bool>* stop = nullptr;  // raised by a signal handler: kill the run and return
  std::function<void(double elapsed_s)> on_tick;  // called about every 20 ms while the run goes on
};

// Starts `command` (environment on top of ours) as the leader of a new process group, stdout
// and stderr to the given files. On timeout or stop: SIGTERM to the group, then after the grace
// period SIGKILL to the group and to every descendant seen (Open MPI puts each rank in a process
// group of its own, so the group alone would leave orphan ranks). The child gets SIGTERM if the
// sweep itself dies. A command that cannot be started exits 127 with the reason on its stderr.
ChildOutcome run_in_group(const LaunchCommand& command, const std::string& stdout_path,
                          const std::string& stderr_path, const ChildLimits& limits);

// The last `lines` non-empty lines of a text file (for error records).
std::string tail_lines(const std::string& path, int lines);

}  // namespace hk::sweep
