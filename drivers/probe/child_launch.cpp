// Starting hk probe's helper programs with a time limit, and their scratch directory.
#include "child_launch.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "hk/errors.hpp"
#include "probe.hpp"

extern char** environ;

namespace hk::probe {

std::string first_message_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
      const auto start = line.find_first_not_of(" \t");
      line = line.substr(start);
      return line.size() > 200 ? line.substr(0, 200) + "..." : line;
    }
  }
  return "no output";
}

LaunchResult launch_and_wait(const std::vector<std::string>& words, const std::string& log, int timeout_s,
                             const std::string& timeout_option,
                             const std::vector<std::pair<std::string, std::string>>& env) {
  LaunchResult result;
  std::vector<std::string> env_strings;
  const auto replaced = [&](const char* entry) {
    for (const auto& [name, value] : env)
      if (std::strncmp(entry, name.c_str(), name.size()) == 0 && entry[name.size()] == '=') return true;
    return false;
  };
  for (char** e = environ; *e; ++e)
    if (!replaced(*e)) env_strings.emplace_back(*e);
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  if (geteuid() == 0) {  // Open MPI refuses to run as root (CI, containers) unless told twice
    env_strings.emplace_back("OMPI_ALLOW_RUN_AS_ROOT=1");
    env_strings.emplace_back("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1");
  }
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = words;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);

  std::mutex mutex;
  std::condition_variable done_signal;
  bool done = false, timed_out = false;
  pid_t child = 0;
  // The watchdog exists before the clock starts, so its creation is not in the figure.
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!done_signal.wait_for(lock, std::chrono::seconds(timeout_s), [&] { return done; }) && child > 0) {
      timed_out = true;
      kill(-child, SIGKILL);
    }
  });
  result.spawn_s = monotonic_seconds();
  int error = 0;
  {
    std::lock_guard lock(mutex);
    error = posix_spawnp(&child, argv[0], &files, &attributes, argv.data(), envp.data());
    if (error != 0) child = 0;
  }
  int status = 0;
  if (error == 0) {
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  result.wall_s = monotonic_seconds() - result.spawn_s;
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  done_signal.notify_all();
  watchdog.join();
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);

  if (error != 0) {
    result.error = fmt::format("cannot start '{}': {}", words[0], std::strerror(error));
  } else if (timed_out) {
    result.error = fmt::format("'{}' did not finish within {} s ({}) and was killed", words[0], timeout_s, timeout_option);
  } else if (WIFSIGNALED(status)) {
    result.error = fmt::format("'{}' was killed by signal {}: {}", words[0], WTERMSIG(status), first_message_line(log));
  } else if (WEXITSTATUS(status) != 0) {
    result.exit_status = WEXITSTATUS(status);
    result.error = fmt::format("'{}' exited with status {}: {}", words[0], result.exit_status, first_message_line(log));
  }
  return result;
}

nlohmann::json read_json(const std::string& path, const std::string& who) {
  std::ifstream in(path);
  if (!in) throw RuntimeError(fmt::format("{} wrote no result file '{}'", who, path));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("{}'s result '{}' is not JSON: {}", who, path, e.what()));
  }
}

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hk-probe-XXXXXX";
  if (!mkdtemp(pattern.data()))
    throw RuntimeError(fmt::format("cannot create a scratch directory '{}': {}", pattern, std::strerror(errno)));
  path = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

}  // namespace hk::probe
