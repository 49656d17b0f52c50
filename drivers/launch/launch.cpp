#include "launch.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "binding.hpp"
#include "dialect.hpp"
#include "files.hpp"
#include "hk/errors.hpp"
#include "hk/json_text.hpp"

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

namespace {

long long cores_asked(const LaunchSpec& spec) { return static_cast<long long>(spec.ranks) * spec.threads; }
long long cores_available(const LaunchSpec& spec) { return static_cast<long long>(spec.cores_per_node) * spec.nodes; }

void check_cores(const LaunchSpec& spec) {
  if (!oversubscribed(spec)) return;
  if (!spec.oversubscribe) {
    throw UsageError(fmt::format(
        "--ranks {} x --threads {} = {} cores, but {} node(s) have {} {}; allowed: ranks x threads <= {}, "
        "or pass --oversubscribe to run anyway (timings will not be representative)",
        spec.ranks, spec.threads, cores_asked(spec), spec.nodes, cores_available(spec),
        spec.cpus == topology::CpuUnit::hwthreads ? "hardware threads (--smt)" : "physical cores", cores_available(spec)));
  }
  const long long limit = kMaxOversubscription * cores_available(spec);
  if (cores_asked(spec) > limit) {
    throw UsageError(fmt::format(
        "--ranks {} x --threads {} = {} cores is more than {} times the {} physical cores of {} node(s), even with "
        "--oversubscribe; allowed: ranks x threads <= {}",
        spec.ranks, spec.threads, cores_asked(spec), kMaxOversubscription, cores_available(spec), spec.nodes, limit));
  }
}

// What every rank's OpenMP runtime is told: the thread count, and pinned one thread per core of
// the rank, or nothing pinned when the ranks share cores.
Environment thread_environment(const LaunchSpec& spec, const Placement& placement) {
  Environment env = {{"OMP_NUM_THREADS", std::to_string(spec.threads)}};
  if (placement.bound) {
    env.push_back({"OMP_PLACES", spec.cpus == topology::CpuUnit::hwthreads ? "threads" : "cores"});
    env.push_back({"OMP_PROC_BIND", "close"});
  } else {
    env.push_back({"OMP_PROC_BIND", "false"});
  }
  return env;
}

// A host list is for launchers that take one (mpirun); it holds at least the nodes asked for.
void check_hosts(const LaunchSpec& spec) {
  const std::string dialect = dialect_name(spec);
  (void)find_dialect(dialect);
  if (spec.hosts.empty()) return;
  if (dialect == "srun")
    throw UsageError("--hosts/--hostfile: srun takes its nodes from the Slurm allocation; give them to sbatch/salloc "
                     "(-N), or launch with mpirun");
  if (static_cast<int>(spec.hosts.size()) < spec.nodes)
    throw UsageError(fmt::format("--nodes {}: the host list names only {} host(s); allowed: --nodes 1 to {}",
                                 spec.nodes, spec.hosts.size(), spec.hosts.size()));
}

// --aligned: the mix must be aligned to a known node.
void check_aligned(const LaunchSpec& spec, const Placement& placement) {
  const std::string mix = fmt::format("{}x{}", placement.ranks_per_node, spec.threads);
  if (!placement.bound)
    throw UsageError(fmt::format("--aligned: mix {} oversubscribes the node, so nothing is bound to its domains", mix));
  if (!placement.layout)
    throw UsageError(fmt::format("--aligned: the topology of the node mix {} runs on is not known here; give it with "
                                 "--topology NODE.xml (lstopo --of xml on that node)",
                                 mix));
  topology::require_aligned(*spec.node, *placement.layout);
}

// The ranks refuse a bad HK_ISA themselves (exit 2); refusing it here saves the launch. Another
// node's CPU is not this one's: the CPU is checked only when the ranks run here.
void check_isa(const LaunchSpec& spec) {
  if (spec.isa.empty()) return;
  const std::string problem = simd::isa_request_problem(spec.isa);
  const bool unknown = !simd::parse_path(spec.isa).has_value();
  if (!problem.empty() && (unknown || launches_here(spec))) throw UsageError(problem);
}

bool executable_file(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string map_by(const LaunchSpec& spec, const Placement& placement) {
  if (placement.bound)
    return fmt::format("ppr:{}:{}:PE={}", placement.ranks_per_domain, placement.map_domain, placement.threads_per_rank);
  return spec.hosts.empty() && spec.nodes == 1 ? "slot" : fmt::format("ppr:{}:node", placement.ranks_per_node);
}

bool oversubscribed(const LaunchSpec& spec) {
  return spec.cores_per_node > 0 && cores_asked(spec) > cores_available(spec);
}

Placement validate_launch(const LaunchSpec& spec) {
  if (spec.ranks < 1 || spec.threads < 1 || spec.nodes < 1)
    throw UsageError("--ranks, --threads and --nodes must be at least 1");
  if (spec.ranks % spec.nodes != 0)
    throw UsageError(fmt::format("--ranks {} must be a multiple of --nodes {} (the same ranks on every node)",
                                 spec.ranks, spec.nodes));
  check_cores(spec);
  check_hosts(spec);
  check_isa(spec);
  Placement placement;
  placement.ranks_per_node = spec.ranks / spec.nodes;
  placement.threads_per_rank = spec.threads;
  placement.bound = !oversubscribed(spec);
  placement.ranks_per_domain = placement.ranks_per_node;
  if (placement.bound && topology_used(spec)) {
    placement.layout = topology::plan_layout(*spec.node, placement.ranks_per_node, spec.threads, spec.cpus);
    placement.ranks_per_domain = placement.layout->ranks_per_domain;
    placement.map_domain = topology::openmpi_object(placement.layout->map_level);
  }
  if (spec.aligned_only) check_aligned(spec, placement);
  return placement;
}

bool topology_used(const LaunchSpec& spec) {
  return spec.node != nullptr && (spec.node_from_file || launches_here(spec));
}

LaunchCommand compose_launch(const LaunchSpec& spec) {
  const Placement placement = validate_launch(spec);
  const auto dialect = find_dialect(dialect_name(spec)).make();
  LaunchCommand command;
  command.env = thread_environment(spec, placement);
  command.env.push_back({"HK_LAUNCH_INFO", launch_info(spec, placement)});
  if (!spec.isa.empty()) command.env.push_back({"HK_ISA", spec.isa});
  command.argv = dialect->launcher_words(spec, placement, command.env);
  command.argv.insert(command.argv.end(), spec.launcher_args.begin(), spec.launcher_args.end());
  for (auto& entry : dialect->launcher_environment()) command.env.push_back(std::move(entry));
  command.argv.insert(command.argv.end(), spec.program.begin(), spec.program.end());
  return command;
}

std::string launch_info(const LaunchSpec& spec, const Placement& placement) {
  const std::string dialect = dialect_name(spec);
  const std::string path = find_executable(launcher_executable(spec));
  nlohmann::json host_names = nlohmann::json::array();
  for (const auto& host : spec.hosts) host_names.push_back(host.name);
  const nlohmann::json info = {
      {"launcher", spec.launcher},
      {"launcher_path", path.empty() ? launcher_executable(spec) : path},
      {"launcher_version", spec.launcher_version},
      {"dialect", dialect},
      {"binding", !placement.bound ? "none" : spec.cpus == topology::CpuUnit::hwthreads ? "hwthread" : "core"},
      {"map_by", map_by(spec, placement)},
      {"cpus", topology::cpu_unit_name(spec.cpus)},
      {"expected_ranks", spec.ranks},
      {"expected_threads", spec.threads},
      {"hosts_source", !spec.hosts.empty() ? spec.hosts_source : dialect == "srun" ? "allocation" : "local"},
      {"hosts", host_names},
      {"cores_per_node", spec.cores_per_node},
      {"cores_source", spec.cores_source},
      {"extra_args", spec.launcher_args}};
  return json_text(info);
}

std::string read_launcher_version(const LaunchSpec& spec) {
  const std::string path = find_executable(launcher_executable(spec));
  if (path.empty()) return "";
  std::string output;
  capture({path, "--version"}, output, /*with_stderr=*/false);
  std::string line = first_line(output);
  // Hydra heads a table ("HYDRA build details:\n    Version:   4.0.2"): keep its version too.
  if (const auto at = output.find("Version:"); !line.empty() && line.back() == ':' && at != std::string::npos) {
    std::istringstream words(first_line(output.substr(at + 8)));
    std::string version;
    words >> version;
    line.append(" Version: ").append(version);
  }
  return line;
}

std::string launcher_executable(const LaunchSpec& spec) {
  return spec.launcher_path.empty() ? spec.launcher : spec.launcher_path;
}

bool launches_here(const LaunchSpec& spec) {
  return spec.hosts.empty() && spec.nodes == 1 && dialect_name(spec) != "srun";
}

std::string find_executable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return executable_file(name) ? name : "";
  const char* path = std::getenv("PATH");
  const std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, colon - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (executable_file(candidate)) return candidate;
    start = colon + 1;
  }
  return "";
}

void check_runnable_here(const LaunchSpec& spec, int machine_cores) {
  const std::string launcher = launcher_executable(spec);
  if (find_executable(launcher).empty()) {
    throw UsageError(spec.launcher_path.empty()
                         ? fmt::format("--launcher: '{}' was not found on PATH; install it or give its path with "
                                       "--launcher-path",
                                       launcher)
                         : fmt::format("--launcher-path: '{}' is not an executable file", launcher));
  }
  if (!spec.program.empty() && find_executable(spec.program.front()).empty())
    throw UsageError(fmt::format("{}: '{}' is not an executable file (or not found on PATH)", spec.program_option,
                                 spec.program.front()));
  if (spec.nodes > 1 && spec.hosts.empty() && dialect_name(spec) != "srun" && std::getenv("SLURM_JOB_ID") == nullptr)
    throw UsageError(fmt::format("--nodes {}: {} needs the hosts to start on outside a Slurm allocation; give "
                                 "--hosts h1:N,h2:N or --hostfile FILE",
                                 spec.nodes, spec.launcher));
  if (machine_cores > 0 && launches_here(spec) && !oversubscribed(spec) && cores_asked(spec) > machine_cores) {
    throw UsageError(fmt::format(
        "--ranks {} x --threads {} = {} cores, but this machine has {} physical core(s): a bound launch cannot be "
        "placed here; use at most {} cores (--cores {}), or --oversubscribe to run unbound (timings will not be "
        "representative)",
        spec.ranks, spec.threads, cores_asked(spec), machine_cores, machine_cores, machine_cores));
  }
}

}  // namespace hk
