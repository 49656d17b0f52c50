#include "launch.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#include <map>

#include "hk/errors.hpp"

extern char** environ;

namespace hk {

std::string LaunchCommand::display() const {
  std::string line;
  for (const auto& [name, value] : env) line += name + "=" + shell_quote(value) + " ";
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) line += ' ';
    line += shell_quote(argv[i]);
  }
  return line;
}

bool oversubscribed(const LaunchSpec& spec) {
  return static_cast<long long>(spec.ranks) * spec.threads >
         static_cast<long long>(spec.cores_per_node) * spec.nodes;
}

LaunchCommand compose_launch(const LaunchSpec& spec) {
  if (spec.ranks < 1 || spec.threads < 1 || spec.nodes < 1)
    throw UsageError("--ranks, --threads and --nodes must be at least 1");
  if (spec.ranks % spec.nodes != 0)
    throw UsageError(fmt::format("--ranks {} must be a multiple of --nodes {} (the same ranks on every node)",
                                 spec.ranks, spec.nodes));
  const bool over = oversubscribed(spec);
  if (over && !spec.oversubscribe) {
    throw UsageError(fmt::format(
        "--ranks {} x --threads {} = {} cores, but {} node(s) have {} physical cores; allowed: ranks x threads <= {}, "
        "or pass --oversubscribe to run anyway (timings will not be representative)",
        spec.ranks, spec.threads, spec.ranks * spec.threads, spec.nodes, spec.cores_per_node * spec.nodes,
        spec.cores_per_node * spec.nodes));
  }
  LaunchCommand command;
  const std::string threads = std::to_string(spec.threads);
  command.env.push_back({"OMP_NUM_THREADS", threads});
  if (over) {
    command.env.push_back({"OMP_PROC_BIND", "false"});  // several ranks share cores: do not pin their threads
  } else {
    command.env.push_back({"OMP_PLACES", "cores"});
    command.env.push_back({"OMP_PROC_BIND", "close"});
  }
  if (spec.launcher == "mpirun") {
    if (geteuid() == 0) {
      // Open MPI refuses to run as root (CI, containers) unless told twice.
      command.env.push_back({"OMPI_ALLOW_RUN_AS_ROOT", "1"});
      command.env.push_back({"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"});
    }
    auto& a = command.argv;
    a = {spec.launcher_path.empty() ? "mpirun" : spec.launcher_path, "-np", std::to_string(spec.ranks)};
    if (over) {
      a.insert(a.end(), {"--oversubscribe", "--map-by", "slot", "--bind-to", "none"});
    } else {
      a.insert(a.end(), {"--map-by", fmt::format("ppr:{}:node:PE={}", spec.ranks / spec.nodes, spec.threads),
                         "--bind-to", "core"});
    }
    for (const auto& [name, value] : command.env) {
      if (name.rfind("OMP_", 0) == 0) a.insert(a.end(), {"-x", name});  // export to every rank, every node
    }
  } else if (spec.launcher == "srun") {
    auto& a = command.argv;
    a = {spec.launcher_path.empty() ? "srun" : spec.launcher_path,
         "--mpi=pmix",
         fmt::format("--nodes={}", spec.nodes),
         fmt::format("--ntasks={}", spec.ranks),
         fmt::format("--cpus-per-task={}", spec.threads),
         over ? "--cpu-bind=none" : "--cpu-bind=cores"};
    if (over) a.push_back("--overcommit");
  } else {
    throw UsageError(fmt::format("--launcher: must be mpirun or srun (got '{}')", spec.launcher));
  }
  command.argv.push_back(spec.kernel_exe.empty() ? default_kernel_exe() : spec.kernel_exe);
  command.argv.push_back(spec.kernel);
  command.argv.insert(command.argv.end(), spec.kernel_args.begin(), spec.kernel_args.end());
  command.argv.push_back("--threads=" + threads);
  return command;
}

std::string default_kernel_exe() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string path(self, static_cast<std::size_t>(n));
    path = path.substr(0, path.find_last_of('/') + 1) + "hk-kernel";
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "hk-kernel";
}

namespace {
volatile sig_atomic_t g_child_group = 0;
void forward_signal(int signal_number) {
  if (g_child_group > 0) kill(-g_child_group, signal_number);
}
}  // namespace

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

int run_and_wait(const LaunchCommand& command, bool own_group) {
  ExecStrings strings = exec_strings(command);
  auto& argv = strings.argv;
  auto& envp = strings.envp;

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (own_group) {
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  }
  pid_t child = 0;
  const int error = posix_spawnp(&child, argv[0], nullptr, &attributes, argv.data(), envp.data());
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

}  // namespace hk
