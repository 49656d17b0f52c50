// The MPI rows of hk probe: hk-probe-mpi launched through mpirun. If the launch fails (no
// mpirun, a broken MPI, a timeout) the rows are reported unavailable with the reason.
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
#include <sstream>
#include <thread>

#include "hk/errors.hpp"
#include "hk/system.hpp"
#include "probe.hpp"

extern char** environ;

namespace hk::probe {

namespace {

struct LaunchResult {
  std::string error;  // empty: it ran and exited 0
  int exit_status = 0;
  double spawn_s = 0;  // CLOCK_MONOTONIC just before posix_spawn
  double wall_s = 0;   // spawn to reaped
};

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

// Runs argv (PATH search) in its own process group with stdout+stderr in `log`; the whole group
// is killed after `timeout_s`, so a hung launch never hangs the probe.
LaunchResult launch_and_wait(const std::vector<std::string>& words, const std::string& log, int timeout_s) {
  LaunchResult result;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
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
    result.error = fmt::format("'{}' did not finish within {} s (--mpi-timeout) and was killed", words[0], timeout_s);
  } else if (WIFSIGNALED(status)) {
    result.error = fmt::format("'{}' was killed by signal {}: {}", words[0], WTERMSIG(status), first_message_line(log));
  } else if (WEXITSTATUS(status) != 0) {
    result.exit_status = WEXITSTATUS(status);
    result.error = fmt::format("'{}' exited with status {}: {}", words[0], result.exit_status, first_message_line(log));
  }
  return result;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw RuntimeError(fmt::format("hk-probe-mpi wrote no result file '{}'", path));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("hk-probe-mpi's result '{}' is not JSON: {}", path, e.what()));
  }
}

// A private scratch directory, removed with everything in it when the probe is done.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hk-probe-XXXXXX";
    if (!mkdtemp(pattern.data()))
      throw RuntimeError(fmt::format("cannot create a scratch directory '{}': {}", pattern, std::strerror(errno)));
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

void measure_mpi(const Settings& s, Results& r) {
  if (!s.mpi) {
    r.mpi.reason = "skipped (--no-mpi)";
    return;
  }
  const ScratchDir scratch;
  const std::string helper = helper_path(s, "hk-probe-mpi");
  const std::string result_file = scratch.path + "/result.json";
  const std::string log = scratch.path + "/mpirun.log";
  // Two ranks on two cores of their own when the node has them; otherwise they share.
  const std::vector<std::string> placement = online_cpus() >= 2
                                                 ? std::vector<std::string>{"--map-by", "core", "--bind-to", "core"}
                                                 : std::vector<std::string>{"--oversubscribe", "--bind-to", "none"};
  auto command = [&](int ranks, std::vector<std::string> helper_args) {
    std::vector<std::string> words = {s.mpirun, "-np", std::to_string(ranks)};
    words.insert(words.end(), placement.begin(), placement.end());
    words.push_back(helper);
    words.insert(words.end(), helper_args.begin(), helper_args.end());
    words.insert(words.end(), {"--out", result_file});
    return words;
  };

  // Rank start-up: separate launches of `mpirun -np 1`; the first is a warm-up (page cache).
  std::vector<double> init, wall, to_main, vmhwm, vmsize;
  for (int launch = 0; launch < 1 + s.mpi_trials; ++launch) {
    std::filesystem::remove(result_file);
    const LaunchResult run = launch_and_wait(command(1, {"--mode", "startup"}), log, s.mpi_timeout_s);
    if (!run.error.empty()) {
      r.mpi.reason = run.error;
      return;
    }
    try {
      const nlohmann::json j = read_json(result_file);
      if (launch == 0) {
        r.mpi.library = j.at("library").get<std::string>();
        r.mpi.thread_level = j.at("thread_level_provided").get<std::string>();
        continue;
      }
      init.push_back(j.at("init_s").get<double>());
      wall.push_back(run.wall_s);
      to_main.push_back(j.at("main_entry_monotonic_s").get<double>() - run.spawn_s);
      vmhwm.push_back(j.at("vmhwm_bytes").get<double>());
      vmsize.push_back(j.at("vmsize_bytes").get<double>());
    } catch (const std::exception& e) {
      r.mpi.reason = e.what();
      return;
    }
  }
  r.mpi.available = true;
  const int n = s.mpi_trials;
  const std::string launched = fmt::format("{} -np 1 {}", s.mpirun, "hk-probe-mpi");
  r.figures["creation.mpi_init_thread"] = {median(init) * 1e6, "us",
                                           "MPI_Init_thread(MPI_THREAD_FUNNELED) inside a rank started by " + launched, n};
  r.figures["creation.mpirun_np1_wall"] = {median(wall) * 1e6, "us",
                                           "wall time of the whole `" + launched + "` (launch, init, finalize, exit)", n};
  r.figures["creation.mpirun_to_rank_main"] = {median(to_main) * 1e6, "us",
                                               "from starting mpirun until the rank's main() runs", n};
  r.figures["memory.mpi_rank_vmhwm"] = {median(vmhwm) / 1024, "KiB", "peak resident memory (VmHWM) of one MPI rank after MPI_Init_thread", n};
  r.figures["memory.mpi_rank_vmsize"] = {median(vmsize) / 1024, "KiB", "address space (VmSize) of one MPI rank after MPI_Init_thread", n};

  // Ping-pong between two ranks on this node.
  std::filesystem::remove(result_file);
  const LaunchResult run = launch_and_wait(
      command(2, {"--mode", "pingpong", "--trials", std::to_string(s.trials), "--round-trips", std::to_string(s.round_trips)}),
      log, s.mpi_timeout_s);
  const char* keys[] = {"communication.mpi_latency_8B", "communication.mpi_bandwidth_1MiB",
                        "communication.mpi_bandwidth_16MiB"};
  if (!run.error.empty()) {
    if (run.exit_status == kExitVerifyFailed) r.mpi_check_failure = "MPI ping-pong: " + run.error;
    for (const char* key : keys) r.unavailable[key] = run.error;
    return;
  }
  try {
    const nlohmann::json j = read_json(result_file);
    for (const auto& size : j.at("sizes")) {
      const int bytes = size.at("bytes").get<int>();
      const int round_trips = size.at("round_trips").get<int>();
      const double half = median(size.at("half_round_trip_s").get<std::vector<double>>());
      const int trials = static_cast<int>(size.at("half_round_trip_s").size());
      const std::string how = fmt::format("ping-pong between 2 ranks on this node, {} round trips per trial", round_trips);
      if (bytes == 8)
        r.figures[keys[0]] = {half * 1e6, "us", "one-way time of an 8 B message (half a round trip), " + how, trials};
      else
        r.figures[bytes == (1 << 20) ? keys[1] : keys[2]] = {
            bytes / half / 1e9, "GB/s",
            fmt::format("{} MiB message / one-way time (1 GB = 1e9 B), {}", bytes >> 20, how), trials};
    }
  } catch (const std::exception& e) {
    for (const char* key : keys) r.unavailable[key] = e.what();
  }
}

}  // namespace hk::probe
