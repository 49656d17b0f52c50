#pragma once
// Runs one program as a supervised child: its own process group (so its helpers can be signalled
// together), killed if the supervisor dies (PR_SET_PDEATHSIG), signals the supervisor receives
// forwarded to it, killed on a time limit, and never left behind: whatever is left of its process
// group when it ends is killed.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hk::exec {

struct SupervisorSettings {
  double timeout_s = 0;      // 0: no limit. Past it: SIGTERM to the group, SIGKILL after grace_s
  double grace_s = 2;        // from SIGTERM (ours or forwarded) to SIGKILL
  double interval_s = 0.02;  // between calls of on_sample
};

struct ChildOutcome {
  pid_t pid = -1;
  double wall_s = 0;                // from fork to reaping
  std::optional<int> exit_status;   // when it exited
  std::optional<int> signal;        // when a signal ended it
  bool timed_out = false;           // the supervisor's time limit ended it
  int received_signal = 0;          // a terminating signal the supervisor got and forwarded, 0: none
  std::string exec_error;           // the program could not be started (strerror), "" when it was
  std::uint64_t rss_peak_bytes = 0; // ru_maxrss of the child (wait4)
  double user_cpu_s = 0;
  double system_cpu_s = 0;
  bool leftovers_killed = false;    // processes of its group outlived it and were killed
  // The status a shell would report: exit status, 128 + signal, 127 when it could not start.
  int shell_status() const;
};

// Runs argv[0] (searched in PATH) with the supervisor's environment plus `environment` ("NAME=value"
// entries that replace or add). on_sample(pid, seconds since start) runs once right after the start
// and then every interval while the child lives. On return the forwarded signals are still
// blocked in the caller (it writes its results, then exits).
ChildOutcome run_supervised(const std::vector<std::string>& argv, const std::vector<std::string>& environment,
                            const SupervisorSettings& settings,
                            const std::function<void(pid_t, double)>& on_sample);

}  // namespace hk::exec
