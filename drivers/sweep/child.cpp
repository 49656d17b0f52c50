#include "child.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
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
#include <vector>

#include "hk/errors.hpp"


namespace hk::sweep {

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
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field) fields.push_back(field);
  // After the name: state(0) ppid(1) ... starttime is field 22 of the line, index 19 here.
  if (fields.size() < 20) return false;
  parent = static_cast<pid_t>(std::stol(fields[1]));
  start = std::stoull(fields[19]);
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

}  // namespace

ChildOutcome run_in_group(const LaunchCommand& command, const std::string& stdout_path,
                          const std::string& stderr_path, const ChildLimits& limits) {
  ExecStrings strings = exec_strings(command);
  auto& argv = strings.argv;
  auto& envp = strings.envp;

  // fork + exec rather than posix_spawn: the child also asks for SIGTERM when the sweep dies
  // (even by SIGKILL), so the launcher then takes its ranks down instead of running on orphaned.
  const pid_t parent = getpid();
  const double started = now_s();
  const pid_t child = fork();
  if (child < 0) throw RuntimeError(fmt::format("cannot start '{}': fork: {}", command.argv[0], std::strerror(errno)));
  if (child == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the sweep died before prctl took effect
    for (int s : {SIGINT, SIGTERM, SIGPIPE}) signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execvpe(argv[0], argv.data(), envp.data());
    const std::string message = fmt::format("cannot start '{}': {}\n", command.argv[0], std::strerror(errno));
    if (write(2, message.data(), message.size()) < 0) { /* nothing more to do */ }
    _exit(127);
  }
  setpgid(child, child);  // also from here, so the group exists before we may signal it

  ChildOutcome outcome;
  int status = 0;
  bool reaped = false;
  auto poll = [&] {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) reaped = true;
    else if (done < 0 && errno != EINTR) throw RuntimeError(fmt::format("waitpid failed: {}", std::strerror(errno)));
    return reaped;
  };
  // Sleep in short steps: a run's end, its deadline and a stop request are all noticed within 20 ms.
  auto nap = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };
  while (!poll()) {
    const bool expired = limits.timeout_s > 0 && now_s() - started > limits.timeout_s;
    const bool stopping = limits.stop != nullptr && limits.stop->load();
    if (expired || stopping) {
      outcome.timed_out = expired && !stopping;
      outcome.interrupted = stopping;
      std::vector<Process> tree = descendants(child);
      kill(-child, SIGTERM);
      for (const Process& p : tree) kill_if_same(p, SIGTERM);
      const double deadline = now_s() + limits.grace_s;
      while (!poll() && now_s() < deadline) nap();
      // Whatever is left, launcher or ranks, goes now.
      for (const Process& p : descendants(child)) tree.push_back(p);
      kill(-child, SIGKILL);
      for (const Process& p : tree) kill_if_same(p, SIGKILL);
      while (!reaped) {
        if (waitpid(child, &status, 0) == child) reaped = true;
        else if (errno != EINTR) break;
      }
      break;
    }
    if (limits.on_tick) limits.on_tick(now_s() - started);
    nap();
  }
  outcome.seconds = now_s() - started;
  if (WIFEXITED(status)) {
    outcome.exited = true;
    outcome.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  return outcome;
}

std::string tail_lines(const std::string& path, int lines) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r-") == std::string::npos) continue;  // blank or a rule of dashes
    kept.push_back(line);
    if (static_cast<int>(kept.size()) > lines) kept.erase(kept.begin());
  }
  std::string text;
  for (const auto& l : kept) text += (text.empty() ? "" : "\n") + l;
  return text;
}

}  // namespace hk::sweep
