#include "supervised_child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

extern char** environ;

namespace hk::exec {

namespace {

using Clock = std::chrono::steady_clock;

// Signals passed on to the program; the first four also start the SIGKILL grace period.
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT};
bool is_terminating(int sig) { return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT; }

sigset_t supervised_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  return set;
}

// The environment of the child: ours with `overrides` replacing entries of the same name.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> entries;
  const auto overridden = [&](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('=') + 1);
    for (const auto& o : overrides)
      if (o.compare(0, name.size(), name) == 0) return true;
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (!overridden(*e)) entries.emplace_back(*e);
  entries.insert(entries.end(), overrides.begin(), overrides.end());
  return entries;
}

std::vector<char*> pointers_to(std::vector<std::string>& words) {
  std::vector<char*> pointers;
  for (auto& w : words) pointers.push_back(w.data());
  pointers.push_back(nullptr);
  return pointers;
}

// In the forked child: only async-signal-safe calls. Reports an exec failure's errno on `report`.
[[noreturn]] void become_program(char* const* argv, char* const* envp, const sigset_t& old_mask, pid_t parent,
                                 int report) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the supervisor died before prctl
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  execvpe(argv[0], argv, envp);
  const int error = errno;
  [[maybe_unused]] const ssize_t written = write(report, &error, sizeof(error));
  _exit(127);
}

// Blocks until the child has exec'ed (the close-on-exec pipe closes) or failed (it sends errno).
std::string wait_for_exec(int report) {
  int error = 0;
  ssize_t got = 0;
  do got = read(report, &error, sizeof(error));
  while (got < 0 && errno == EINTR);
  return got == static_cast<ssize_t>(sizeof(error)) ? std::strerror(error) : "";
}

void signal_group(pid_t group, int sig) {
  if (kill(-group, sig) != 0) kill(group, sig);  // the group may not exist yet or any more
}

struct Supervision {
  Supervision(pid_t child, const SupervisorSettings& limits) : pid(child), settings(limits) {}
  pid_t pid;
  const SupervisorSettings& settings;
  Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> kill_at;  // SIGKILL the group then
  ChildOutcome outcome;

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start).count(); }
  void start_grace() {
    if (!kill_at) kill_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(settings.grace_s));
  }
  // A signal from sigtimedwait: forwarded (and a terminating one starts the grace period).
  void on_signal(int sig) {
    if (sig <= 0 || sig == SIGCHLD) return;
    signal_group(pid, sig);
    if (is_terminating(sig)) {
      outcome.received_signal = sig;
      start_grace();
    }
  }
  void enforce_limits() {
    if (settings.timeout_s > 0 && !outcome.timed_out && elapsed() >= settings.timeout_s) {
      outcome.timed_out = true;
      signal_group(pid, SIGTERM);
      start_grace();
    }
    if (kill_at && Clock::now() >= *kill_at) signal_group(pid, SIGKILL);
  }
  bool reaped() {
    int status = 0;
    rusage usage{};
    const pid_t done = wait4(pid, &status, WNOHANG, &usage);
    if (done != pid) return false;
    outcome.wall_s = elapsed();
    if (WIFEXITED(status)) outcome.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
    outcome.rss_peak_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
    outcome.user_cpu_s = static_cast<double>(usage.ru_utime.tv_sec) + usage.ru_utime.tv_usec * 1e-6;
    outcome.system_cpu_s = static_cast<double>(usage.ru_stime.tv_sec) + usage.ru_stime.tv_usec * 1e-6;
    return true;
  }
  // Seconds until the next thing to do: a sample, the time limit or the SIGKILL.
  double next_wake(double next_sample_s) const {
    double wake = next_sample_s - elapsed();
    if (settings.timeout_s > 0 && !outcome.timed_out) wake = std::min(wake, settings.timeout_s - elapsed());
    if (kill_at) wake = std::min(wake, std::chrono::duration<double>(*kill_at - Clock::now()).count());
    return std::max(wake, 0.0005);
  }
};

timespec to_timespec(double seconds) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(seconds);
  t.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
  return t;
}

void supervise(Supervision& s, const sigset_t& signals, const std::function<void(pid_t, double)>& on_sample) {
  double next_sample = 0;
  while (!s.reaped()) {
    if (s.elapsed() >= next_sample) {
      on_sample(s.pid, s.elapsed());
      next_sample = s.elapsed() + s.settings.interval_s;
    }
    const timespec wait = to_timespec(s.next_wake(next_sample));
    siginfo_t info{};
    s.on_signal(sigtimedwait(&signals, &info, &wait));
    s.enforce_limits();
  }
}

}  // namespace

int ChildOutcome::shell_status() const {
  if (!exec_error.empty()) return 127;
  if (signal) return 128 + *signal;
  return exit_status.value_or(1);
}

ChildOutcome run_supervised(const std::vector<std::string>& argv_words, const std::vector<std::string>& environment,
                            const SupervisorSettings& settings,
                            const std::function<void(pid_t, double)>& on_sample) {
  std::vector<std::string> words = argv_words, env_words = child_environment(environment);
  const std::vector<char*> argv = pointers_to(words), envp = pointers_to(env_words);
  const sigset_t signals = supervised_signals();
  sigset_t old_mask;
  sigprocmask(SIG_BLOCK, &signals, &old_mask);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) report[0] = report[1] = -1;
  const pid_t parent = getpid();
  Supervision s{fork(), settings};
  if (s.pid == 0) become_program(argv.data(), envp.data(), old_mask, parent, report[1]);
  close(report[1]);
  if (s.pid < 0) {
    s.outcome.exec_error = std::string("fork failed: ") + std::strerror(errno);
  } else {
    setpgid(s.pid, s.pid);  // also here: no signal may reach a group that does not exist yet
    s.outcome.exec_error = wait_for_exec(report[0]);
    supervise(s, signals, on_sample);
    // Whatever of its process group outlived the program goes with it.
    s.outcome.leftovers_killed = kill(-s.pid, SIGKILL) == 0;
  }
  close(report[0]);
  // The supervised signals stay blocked: one arriving now must not end the supervisor before it
  // has written what it saw (the caller exits right after).
  s.outcome.pid = s.pid;
  return s.outcome;
}

}  // namespace hk::exec
