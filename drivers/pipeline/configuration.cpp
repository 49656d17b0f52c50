#include "configuration.hpp"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>

#include "dialect.hpp"
#include "exec_run.hpp"
#include "hk/cli.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "mix_options.hpp"
#include "resume.hpp"

namespace hk::pipeline {

using nlohmann::json;

KernelDescription describe_kernel(const std::string& kernel, const std::vector<std::string>& args,
                                  double weak_factor) {
  auto cli = make_kernel_cli("hk-kernel");
  std::vector<std::string> words = {"hk-kernel", kernel};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  try {
    cli->app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    throw UsageError(fmt::format("{}: {}", kernel, e.what()));
  }
  const Kernel* selected = cli->selected();
  if (selected == nullptr) throw UsageError(unknown_kernel_message(kernel, false));
  selected->check_options();
  KernelDescription d{selected->variant(), selected->params(), cli->common, selected->work(), {}};
  if (weak_factor != 1.0) d.weak_args = selected->weak_scaling_args(weak_factor);
  return d;
}

std::vector<std::string> merge_args(const std::vector<std::string>& base, const std::vector<std::string>& overrides) {
  std::vector<std::string> merged_overrides;
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const std::string& word = overrides[i];
    if (word.find('=') == std::string::npos && i + 1 < overrides.size() && overrides[i + 1].rfind("--", 0) != 0) {
      merged_overrides.push_back(word + "=" + overrides[i + 1]);
      ++i;
    } else {
      merged_overrides.push_back(word);
    }
  }
  auto name_of = [](const std::string& word) { return word.substr(0, word.find('=')); };
  std::vector<std::string> args;
  for (const auto& word : base) {
    const bool replaced = std::any_of(merged_overrides.begin(), merged_overrides.end(),
                                      [&](const std::string& o) { return name_of(o) == name_of(word); });
    if (!replaced) args.push_back(word);
  }
  args.insert(args.end(), merged_overrides.begin(), merged_overrides.end());
  return args;
}

namespace {

// --hosts/--hostfile: the hosts of the most nodes asked for (more than listed: UsageError), and
// the cores of a node from their slots unless --cores says them.
void use_hosts(const LaunchOptions& options, LaunchSpec& launch) {
  if (options.hosts.empty() && options.hostfile.empty()) return;
  const HostList list = !options.hosts.empty() ? parse_hosts_option(options.hosts) : read_hostfile(options.hostfile);
  const std::vector<int> counts = node_counts(options);
  const NodeHosts chosen = choose_hosts(list, *std::max_element(counts.begin(), counts.end()), options.cores);
  launch.hosts = chosen.hosts;
  launch.hosts_source = list.source;
  launch.cores_per_node = chosen.cores_per_node;
  launch.cores_source = chosen.cores_source;
  // --topology describes every host's node: the budget from the hosts must fit in it.
  if (launch.node_from_file && launch.cores_per_node > topology::unit_count(*launch.node, launch.cpus))
    throw UsageError(fmt::format("{} {}: the node in {} has {} {} ({})", chosen.cores_source, launch.cores_per_node,
                                 options.topology, topology::unit_count(*launch.node, launch.cpus),
                                 topology::cpu_unit_name(launch.cpus), topology::node_summary(*launch.node)));
}

// The node a command plans for, its budget and this machine's units (LaunchSettings).
void attach_node(const LaunchOptions& options, LaunchSettings& s) {
  const topology::CpuUnit unit = s.launch.cpus;
  std::shared_ptr<const topology::Node> here;
  try {
    here = std::make_shared<const topology::Node>(topology::read_node());
    s.machine_cores = topology::unit_count(*here, unit);
  } catch (const RuntimeError&) {
    // hwloc cannot read this machine: its physical core count as given, no topology.
  }
  if (!options.topology.empty()) {
    s.launch.node = std::make_shared<const topology::Node>(topology::read_node_xml(options.topology));
    s.launch.node_from_file = true;
    const int units = topology::unit_count(*s.launch.node, unit);
    if (options.cores > units)
      throw UsageError(fmt::format("--cores {}: the node in {} has {} {} ({})", options.cores, options.topology, units,
                                   topology::cpu_unit_name(unit), topology::node_summary(*s.launch.node)));
  } else if (here && options.cores <= topology::unit_count(*here, unit)) {
    s.launch.node = here;  // a budget beyond this machine is planned without its topology
  }
  const int units = s.launch.node ? topology::unit_count(*s.launch.node, unit) : s.machine_cores;
  s.launch.cores_per_node = options.cores > 0 ? options.cores : units;
  if (unit == topology::CpuUnit::hwthreads && s.launch.node && !s.launch.node->has_smt())
    s.warnings.push_back(fmt::format("--smt: {} has one hardware thread per core: the hardware threads are the cores",
                                     s.launch.node->source));
}

}  // namespace

LaunchSettings launch_settings(const LaunchOptions& options, int machine_cores) {
  LaunchSettings s;
  s.machine_cores = machine_cores;
  s.launch.cpus = options.smt ? topology::CpuUnit::hwthreads : topology::parse_cpu_unit(options.cpus);
  s.launch.aligned_only = options.aligned;
  attach_node(options, s);
  if (options.cores > 0) s.launch.cores_source = "--cores";
  else if (s.launch.node_from_file) s.launch.cores_source = "--topology";
  use_hosts(options, s.launch);
  s.launch.launcher_args = split_launcher_args(options.launcher_args);
  s.launch.oversubscribe = options.oversubscribe;
  s.launch.launcher = options.launcher;
  s.launch.launcher_path = options.launcher_path;
  s.launch.program = {options.kernel_exe.empty() ? default_kernel_exe() : options.kernel_exe};
  s.launch.dialect = options.launcher_dialect;
  s.launch.launcher_version = read_launcher_version(s.launch);
  if (dialect_name(s.launch) == "srun")
    s.launch.srun_mpi = choose_srun_mpi(options.srun_mpi, srun_mpi_plugins(s.launch));
  else if (!options.srun_mpi.empty())
    throw UsageError(fmt::format("--srun-mpi: only for srun (the launch's dialect is {})", dialect_name(s.launch)));
  return s;
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

std::string Configuration::label() const {
  // The node count too when it is not 1: a sweep over --nodes 1,2 has 2x1 on each.
  return fmt::format("{} [{}] {}{}{}", kernel, variant, run.mix.label(),
                     run.nodes != 1 ? fmt::format(" on {} nodes", run.nodes) : "",
                     run.weak_factor != 1.0 ? fmt::format(" (weak, x{:.3g})", run.weak_factor) : "");
}

namespace {

LaunchSpec launch_spec(const PlannedRun& run, const LaunchSettings& settings) {
  LaunchSpec spec = settings.launch;
  spec.ranks = run.mix.ranks;
  spec.threads = run.mix.threads;
  spec.nodes = run.nodes;
  if (static_cast<int>(spec.hosts.size()) > run.nodes) spec.hosts.resize(run.nodes);  // the first N
  // Allowed to oversubscribe a budget beyond this machine's cores (a launch here): place it for
  // the real core count, unbound, since a bound launch cannot be placed.
  if (spec.oversubscribe && launches_here(spec) && settings.machine_cores > 0)
    spec.cores_per_node = std::min(spec.cores_per_node, settings.machine_cores);
  return spec;
}

}  // namespace

Configuration configuration_from(const std::string& kernel, const std::vector<std::string>& args,
                                 const PlannedRun& run, const KernelDescription& d, const LaunchSettings& settings) {
  Configuration c;
  c.kernel = kernel;
  c.variant = d.variant;
  c.params = d.params;
  c.common = d.common;
  c.work = d.work;
  c.args = args;
  c.run = run;
  c.spec = launch_spec(run, settings);
  const Placement placement = validate_launch(c.spec);
  c.oversubscribed = !placement.bound;
  c.layout = placement.layout;
  if (c.layout) c.straddle_warning = topology::straddle_warning(*c.spec.node, *c.layout);
  c.key = resume_key(expected_record(c, ""));
  return c;
}

Configuration make_configuration(const std::string& kernel, const std::vector<std::string>& args,
                                 const PlannedRun& run, const LaunchSettings& settings) {
  return configuration_from(kernel, args, run, describe_kernel(kernel, args), settings);
}

ConfigurationSet make_configurations(const std::vector<std::string>& kernels, const std::vector<std::string>& args,
                                     const std::vector<PlannedRun>& runs, const LaunchSettings& settings) {
  ConfigurationSet set;
  set.warnings = settings.warnings;
  for (const auto& kernel : kernels) {
    const KernelDescription full = describe_kernel(kernel, args);
    for (const auto& run : runs) {
      std::vector<std::string> run_args = args;
      if (run.weak_factor != 1.0) {
        const KernelDescription scaled = describe_kernel(kernel, args, run.weak_factor);
        if (scaled.weak_args.empty()) {
          set.warnings.push_back(fmt::format("{} declares no weak scaling: its {} run at {} core(s) is left out",
                                             kernel, run.mix.label(), run.mix.cores()));
          continue;
        }
        run_args = merge_args(args, scaled.weak_args);
      }
      try {
        const KernelDescription d = run.weak_factor != 1.0 ? describe_kernel(kernel, run_args) : full;
        set.list.push_back(configuration_from(kernel, run_args, run, d, settings));
        const std::string& straddle = set.list.back().straddle_warning;
        if (!straddle.empty() && std::find(set.warnings.begin(), set.warnings.end(), straddle) == set.warnings.end())
          set.warnings.push_back(straddle);
      } catch (const UsageError& e) {
        throw UsageError(fmt::format("mix {}: {}", run.mix.label(), e.what()));
      }
    }
  }
  return set;
}

void compose(Configuration& config, const std::string& record_path, const std::string& csv_path) {
  config.record_path = record_path;
  config.csv_path = csv_path;
  if (config.exec) {
    compose_exec(config);
    return;
  }
  auto& program = config.spec.program;
  program.resize(1);  // the executable stays
  program.push_back(config.kernel);
  program.insert(program.end(), config.args.begin(), config.args.end());
  program.push_back("--out=" + record_path);
  program.push_back("--csv=" + csv_path);
  program.push_back(fmt::format("--threads={}", config.run.mix.threads));
  // A launcher of another MPI (or a wrong srun --mpi plugin) starts singletons: every one of them
  // then exits 3 naming the mismatch instead of recording a 1-rank run as ok.
  program.push_back(fmt::format("--expect-ranks={}", config.run.mix.ranks));
  config.command = compose_launch(config.spec);
}

json expected_record(const Configuration& c, const std::string& started_at) {
  RecordIdentity identity;
  identity.kernel = c.kernel;
  identity.variant = c.variant;
  identity.params = c.params;
  identity.ranks = c.run.mix.ranks;
  identity.threads = c.run.mix.threads;
  identity.nodes = c.run.nodes;
  identity.reps = c.common.reps;
  identity.warmup = c.common.warmup;
  identity.seed = c.common.seed;
  identity.work = c.work;
  identity.command = c.command.display();
  identity.started_at = started_at;
  identity.launch = json::parse(launch_info(c.spec, validate_launch(c.spec)));
  return make_record(identity);
}

}  // namespace hk::pipeline
