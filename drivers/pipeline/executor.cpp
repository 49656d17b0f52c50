#include "executor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "files.hpp"
#include "hk/errors.hpp"

extern char** environ;

namespace hk {

ExecStrings exec_strings(const LaunchCommand& command) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : command.env) env[name] = value;
  ExecStrings strings;
  strings.args = command.argv;
  for (const auto& [name, value] : env) strings.env.push_back(name + "=" + value);
  for (auto& s : strings.args) strings.argv.push_back(s.data());
  strings.argv.push_back(nullptr);
  for (auto& s : strings.env) strings.envp.push_back(s.data());
  strings.envp.push_back(nullptr);
  return strings;
}

namespace {
volatile sig_atomic_t g_child_group = 0;
void forward_signal(int signal_number) {
  if (g_child_group > 0) kill(-g_child_group, signal_number);
}
}  // namespace

int run_and_wait(const LaunchCommand& command, bool own_group) {
  ExecStrings strings = exec_strings(command);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (own_group) {
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  }
  pid_t child = 0;
  const int error =
      posix_spawnp(&child, strings.argv[0], nullptr, &attributes, strings.argv.data(), strings.envp.data());
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw RuntimeError(fmt::format("cannot start '{}': {}", command.argv[0], std::strerror(error)));
  struct sigaction forward {}, old_int{}, old_term{};
  if (own_group) {
    g_child_group = child;
    forward.sa_handler = forward_signal;
    sigemptyset(&forward.sa_mask);
    sigaction(SIGINT, &forward, &old_int);
    sigaction(SIGTERM, &forward, &old_term);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) throw RuntimeError(fmt::format("waitpid failed: {}", std::strerror(errno)));
  }
  if (own_group) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    g_child_group = 0;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitRuntime;
}

namespace pipeline {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// (parent pid, start time) of a process from /proc/PID/stat; false when it is gone.
bool read_stat(pid_t pid, pid_t& parent, unsigned long long& start) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!std::getline(in, text)) return false;
  const std::size_t close = text.rfind(')');  // the command name may contain spaces and ')'
  if (close == std::string::npos || close + 2 > text.size()) return false;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field) fields.push_back(field);
  // After the name: state(0) ppid(1) ... starttime is field 22 of the line, index 19 here.
  if (fields.size() < 20) return false;
  try {
    parent = static_cast<pid_t>(std::stol(fields[1]));
    start = std::stoull(fields[19]);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

struct Process {
  pid_t pid;
  unsigned long long start;
};

// Every live descendant of `root` (children first found by scanning /proc once).
std::vector<Process> descendants(pid_t root) {
  std::map<pid_t, std::vector<Process>> children;
  if (DIR* proc = opendir("/proc")) {
    while (dirent* entry = readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(entry->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      pid_t parent = 0;
      unsigned long long start = 0;
      if (read_stat(static_cast<pid_t>(pid), parent, start))
        children[parent].push_back({static_cast<pid_t>(pid), start});
    }
    closedir(proc);
  }
  std::vector<Process> found;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    const pid_t pid = todo.back();
    todo.pop_back();
    for (const Process& child : children[pid]) {
      found.push_back(child);
      todo.push_back(child.pid);
    }
  }
  return found;
}

void kill_if_same(const Process& p, int signal_number) {
  pid_t parent = 0;
  unsigned long long start = 0;
  // Only the very process we saw: a recycled pid has another start time.
  if (read_stat(p.pid, parent, start) && start == p.start) kill(p.pid, signal_number);
}

// In the child, between fork and exec: its own group, SIGTERM when hk dies, default signals,
// the streams. Returns only on failure (then the caller reports and exits 127).
void become_launch(pid_t hk_pid, const ChildIo& io, int stderr_pipe) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != hk_pid) _exit(127);  // hk died before prctl took effect
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (io.stdin_from_null || isatty(STDIN_FILENO)) {
    const int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0) _exit(127);
  }
  const int file_mode = O_WRONLY | O_CREAT | (io.append ? O_APPEND : O_TRUNC);
  if (!io.stdout_path.empty()) {
    const int out = open(io.stdout_path.c_str(), file_mode, 0644);
    if (out < 0 || dup2(out, STDOUT_FILENO) < 0) _exit(127);
  }
  const int err = io.stderr_path.empty() ? stderr_pipe : open(io.stderr_path.c_str(), file_mode, 0644);
  if (err < 0 || dup2(err, STDERR_FILENO) < 0) _exit(127);
}

// The running launch, seen from hk: reaping, the passed-through stderr, killing the whole tree.
class Watch {
 public:
  Watch(pid_t child, int stderr_pipe) : child_(child), pipe_(stderr_pipe) {}
  ~Watch() {
    if (pipe_ >= 0) close(pipe_);
  }
  bool reaped() {
    if (reaped_) return true;
    const pid_t done = waitpid(child_, &status_, WNOHANG);
    if (done == child_) reaped_ = true;
    else if (done < 0 && errno != EINTR) throw RuntimeError(fmt::format("waitpid failed: {}", std::strerror(errno)));
    return reaped_;
  }
  // Waits up to `ms` for stderr output (passed on to ours) or just sleeps when there is no pipe.
  void pump(int ms) {
    if (pipe_ < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return;
    }
    pollfd fd{pipe_, POLLIN, 0};
    if (poll(&fd, 1, ms) <= 0) return;
    char buffer[4096];
    const ssize_t n = read(pipe_, buffer, sizeof buffer);
    if (n == 0) {  // every writer has closed it: the launch and its ranks are gone
      close(pipe_);
      pipe_ = -1;
    }
    if (n <= 0) return;
    if (write(STDERR_FILENO, buffer, static_cast<std::size_t>(n)) < 0) { /* our stderr is gone: keep the tail */ }
    tail_.append(buffer, static_cast<std::size_t>(n));
    if (tail_.size() > 65536) tail_.erase(0, tail_.size() - 32768);
  }
  // The first signal to the group and every descendant, the grace period, then SIGKILL to all.
  void kill_tree(int first_signal, double grace_s) {
    std::vector<Process> tree = descendants(child_);
    kill(-child_, first_signal);
    for (const Process& p : tree) kill_if_same(p, first_signal);
    const double deadline = now_s() + grace_s;
    while (!reaped() && now_s() < deadline) pump(20);
    for (const Process& p : descendants(child_)) tree.push_back(p);
    kill(-child_, SIGKILL);
    for (const Process& p : tree) kill_if_same(p, SIGKILL);
    while (!reaped_) {
      if (waitpid(child_, &status_, 0) == child_) reaped_ = true;
      else if (errno != EINTR) break;
    }
  }
  void drain() {
    for (int i = 0; i < 10 && pipe_ >= 0; ++i) pump(10);
  }
  int status() const { return status_; }
  const std::string& tail() const { return tail_; }

 private:
  pid_t child_;
  int pipe_;
  int status_ = 0;
  bool reaped_ = false;
  std::string tail_;
};

// fork + exec rather than posix_spawn: the child also asks for SIGTERM when hk dies (even by
// SIGKILL), so the launcher then takes its ranks down instead of running on orphaned.
pid_t start_launch(const LaunchCommand& command, const ChildIo& io, int& stderr_read) {
  ExecStrings strings = exec_strings(command);
  int pipe_fds[2] = {-1, -1};
  if (io.stderr_path.empty() && pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw RuntimeError(fmt::format("cannot start '{}': pipe: {}", command.argv[0], std::strerror(errno)));
  const pid_t hk_pid = getpid();
  const pid_t child = fork();
  if (child < 0) throw RuntimeError(fmt::format("cannot start '{}': fork: {}", command.argv[0], std::strerror(errno)));
  if (child == 0) {
    become_launch(hk_pid, io, pipe_fds[1]);
    execvpe(strings.argv[0], strings.argv.data(), strings.envp.data());
    const std::string message = fmt::format("cannot start '{}': {}\n", command.argv[0], std::strerror(errno));
    if (write(STDERR_FILENO, message.data(), message.size()) < 0) { /* nothing more to do */ }
    _exit(127);
  }
  setpgid(child, child);  // also from here, so the group exists before we may signal it
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  stderr_read = pipe_fds[0];
  if (stderr_read >= 0) fcntl(stderr_read, F_SETFL, fcntl(stderr_read, F_GETFL) | O_NONBLOCK);
  return child;
}

}  // namespace

ChildIo ChildIo::to_files(const std::string& stdout_path, const std::string& stderr_path) {
  return {stdout_path, stderr_path, true};
}

ChildIo ChildIo::foreground() { return {"", "", false}; }

ChildOutcome run_in_group(const LaunchCommand& command, const ChildIo& io, const ChildLimits& limits) {
  const double started = now_s();
  int stderr_read = -1;
  const pid_t child = start_launch(command, io, stderr_read);
  Watch watch(child, stderr_read);
  ChildOutcome outcome;
  while (!watch.reaped()) {
    const bool expired = limits.timeout_s > 0 && now_s() - started > limits.timeout_s;
    const bool stopping = limits.stop != nullptr && limits.stop->load();
    if (expired || stopping) {
      outcome.timed_out = expired && !stopping;
      outcome.interrupted = stopping;
      const int forwarded = stopping && limits.stop_signal && *limits.stop_signal ? *limits.stop_signal : SIGTERM;
      watch.kill_tree(forwarded, limits.grace_s);
      break;
    }
    if (limits.on_tick) limits.on_tick(now_s() - started);
    watch.pump(20);  // a run's end, its deadline and a stop request are all noticed within 20 ms
  }
  watch.drain();
  outcome.seconds = now_s() - started;
  if (WIFEXITED(watch.status())) {
    outcome.exited = true;
    outcome.exit_status = WEXITSTATUS(watch.status());
  } else if (WIFSIGNALED(watch.status())) {
    outcome.signal = WTERMSIG(watch.status());
  }
  outcome.stderr_tail = io.stderr_path.empty() ? last_lines(watch.tail(), 8) : tail_lines(io.stderr_path, 8);
  return outcome;
}

ChildOutcome run_in_group(const LaunchCommand& command, const std::string& stdout_path,
                          const std::string& stderr_path, const ChildLimits& limits) {
  return run_in_group(command, ChildIo::to_files(stdout_path, stderr_path), limits);
}

// ---- stop signals ------------------------------------------------------------------------------

namespace {
std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_stop_signal = 0;
constexpr int kStopSignals[3] = {SIGINT, SIGTERM, SIGHUP};
void request_stop(int signal_number) {
  g_stop_signal = signal_number;
  g_stop = true;
}
}  // namespace

StopSignals::StopSignals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &action, &old_[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &old_[i], nullptr);
}

const std::atomic<bool>& StopSignals::stop() { return g_stop; }
const volatile std::sig_atomic_t& StopSignals::signal_number() { return g_stop_signal; }

void StopSignals::set_limits(ChildLimits& limits) {
  limits.stop = &g_stop;
  limits.stop_signal = &g_stop_signal;
}

std::string StopSignals::signal_name() {
  switch (g_stop_signal) {
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "SIGINT";
  }
}

}  // namespace pipeline
}  // namespace hk
