#pragma once
// Executors: how a composed launch (mpirun/srun and its ranks) is started, watched and ended.
// Every launch runs in a process group of its own with a time limit, so that a crash, a hang or
// a Ctrl-C stays inside that launch and nothing of it is left running:
//   hk sweep  ChildIo::to_files     output to the configuration's log files, stdin /dev/null;
//   hk run    ChildIo::foreground   stdout ours, stderr passed through (its tail kept for the
//                                   record), stdin ours unless it is a terminal;
//   hk slurm submit                 the batch system runs `hk run` per task (slurm/array.hpp);
//   --dry-run                       nothing started: the commands are printed.
#include <atomic>
#include <csignal>
#include <functional>
#include <string>
#include <vector>

#include "launch.hpp"

namespace hk {

// What execve needs for a command: its arguments and our environment with the command's on top.
// Owns the strings the pointer arrays point into. Movable (the strings stay where they are), not
// copyable: a copy's pointers would still point into the original.
struct ExecStrings {
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;  // null-terminated
  ExecStrings() = default;
  ExecStrings(ExecStrings&&) = default;
  ExecStrings& operator=(ExecStrings&&) = default;
  ExecStrings(const ExecStrings&) = delete;
  ExecStrings& operator=(const ExecStrings&) = delete;
};
ExecStrings exec_strings(const LaunchCommand& command);

// Runs a helper command (not a launch: hk plot's Python) in our process group, output ours, and
// waits. With `own_group` it leads a group of its own and SIGINT/SIGTERM are forwarded to it.
// Returns the exit status, or 128 + signal number if it was killed.
int run_and_wait(const LaunchCommand& command, bool own_group);

namespace pipeline {

struct ChildOutcome {
  bool exited = false;       // exited normally with `exit_status`
  int exit_status = -1;
  int signal = 0;            // the launcher itself died by this signal
  bool timed_out = false;    // killed by us when the time limit expired
  bool interrupted = false;  // killed by us because `stop` was raised (a signal to hk)
  double seconds = 0;        // wall-clock time from start to reaping
  std::string stderr_tail;   // the last non-empty lines of the launch's stderr
};

struct ChildLimits {
  double timeout_s = 0;                     // 0: no limit
  double grace_s = 2.0;                     // between the first signal (the launcher cleans up) and SIGKILL
  const std::atomic<bool>* stop = nullptr;  // raised by a signal handler: kill the run and return
  const volatile std::sig_atomic_t* stop_signal = nullptr;  // the signal to forward first (default SIGTERM)
  std::function<void(double elapsed_s)> on_tick;  // called about every 20 ms while the run goes on
};

// Where the launch's standard streams go.
struct ChildIo {
  std::string stdout_path;        // empty: ours
  std::string stderr_path;        // empty: passed through to ours (the tail is kept)
  bool append = false;            // append to the files rather than truncate them
  bool stdin_from_null = true;    // false: ours, unless it is a terminal (a launch in a group of
                                  // its own that read the terminal would be stopped by SIGTTIN)
  static ChildIo to_files(const std::string& stdout_path, const std::string& stderr_path);
  static ChildIo foreground();
};

// Starts `command` (environment on top of ours) as the leader of a new process group. On timeout
// or stop: the first signal (SIGTERM, or the stop signal) to the group and to every descendant
// seen, then after the grace period SIGKILL to the group and to every descendant seen (Open MPI
// puts each rank in a process group of its own, so the group alone would leave orphan ranks).
// The child gets SIGTERM if hk itself dies. A command that cannot be started exits 127 with the
// reason on its stderr.
ChildOutcome run_in_group(const LaunchCommand& command, const ChildIo& io, const ChildLimits& limits);
ChildOutcome run_in_group(const LaunchCommand& command, const std::string& stdout_path,
                          const std::string& stderr_path, const ChildLimits& limits);

// SIGINT, SIGTERM and SIGHUP raise `stop` (and remember the signal) while this object lives; the
// executors then end the running launch and the command returns 128 + signal.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static const std::atomic<bool>& stop();
  static const volatile std::sig_atomic_t& signal_number();
  static void set_limits(ChildLimits& limits);  // stop and stop_signal
  static std::string signal_name();              // "SIGTERM"
 private:
  struct sigaction old_[3];
};

}  // namespace pipeline
}  // namespace hk
