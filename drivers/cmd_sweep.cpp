// hk sweep KERNEL|all [kernel options] --out DIR: runs the kernel(s) at every rank x thread mix of
// the core budget (and, with --scaling, at smaller core counts), each configuration its own
// launch in its own process group, and appends one complete record per configuration to
// DIR/runs.jsonl and DIR/runs.csv before the next one starts.
//
// A composition of the pipeline (docs/architecture.md): plan -> configurations -> dry run, or
// the directory lock and the sweep loop (process-group executor + finisher) -> summary.
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "configuration.hpp"
#include "exec_options.hpp"
#include "exec_run.hpp"
#include "executor.hpp"
#include "files.hpp"
#include "hk/build_info.hpp"
#include "hk/errors.hpp"
#include "hk/record_file.hpp"
#include "hk/system.hpp"
#include "host_topology.hpp"
#include "mix_options.hpp"
#include "plan.hpp"
#include "progress.hpp"
#include "resume.hpp"
#include "sweep_directory.hpp"
#include "sweep_runner.hpp"
#include "topology.hpp"
#include "topology/layout.hpp"

namespace {

namespace fs = std::filesystem;
namespace pl = hk::pipeline;
using nlohmann::json;

struct SweepState {
  std::string mixes_text;
  std::string scaling_text = "none";
  double timeout_s = 0;
  bool resume = false;
  hk::LaunchOptions launch;
  hk::ExecOptions exec;          // hk sweep --exec: a user's own program
  hk::CommonOptions all_common;  // options of `hk sweep all` (only the common ones apply to every kernel)
  std::unique_ptr<hk::KernelCli> kernels;
};

// Everything decided before anything runs.
struct SweepPlan {
  std::string target;  // a kernel, "all" or "exec"
  std::vector<std::string> kernels, args;
  std::shared_ptr<const pl::ExecProgram> program;  // exec: the user's program
  pl::PlanRequest request;
  hk::Topology topology;
  pl::LaunchSettings settings;
  pl::SweepPaths paths{"."};
  std::vector<pl::Configuration> configs;
  std::vector<std::string> warnings;
};

// --out is the sweep's directory here, not hk-kernel's record file.
std::string sweep_directory(const CLI::App& sub) {
  const CLI::Option* out_option = sub.get_option("--out");
  if (out_option->count() == 0 || out_option->as<std::string>().empty())
    throw hk::UsageError("--out: hk sweep needs a directory (it writes DIR/runs.jsonl, DIR/runs.csv, DIR/sweep.json)");
  if (sub.get_option("--csv")->count() > 0)
    throw hk::UsageError("--csv: not used by hk sweep (it always writes DIR/runs.csv next to DIR/runs.jsonl)");
  const std::string dir = out_option->as<std::string>();
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw hk::UsageError(fmt::format("--out: '{}' exists and is not a directory", dir));
  return dir;
}

// --mixes aligned: the node the mixes are aligned to; its topology must be known here.
std::shared_ptr<const hk::topology::Node> aligned_node(const pl::LaunchSettings& settings) {
  if (!hk::topology_used(settings.launch))
    throw hk::UsageError("--mixes aligned: the topology of the nodes is not known here; give it with --topology NODE.xml "
                         "(lstopo --of xml on a node)");
  return settings.launch.node;
}

// Plans the runs and builds every configuration, each launch composed (and so validated).
SweepPlan plan_sweep(const SweepState& s, const CLI::App& sub) {
  SweepPlan p;
  p.target = sub.get_name();
  p.paths = pl::SweepPaths(sweep_directory(sub));
  p.kernels = p.target == "all" ? hk::Registry::instance().names() : std::vector<std::string>{p.target};
  if (p.target == "exec") p.program = std::make_shared<const pl::ExecProgram>(pl::exec_program(s.exec));
  else p.args = hk::kernel_args(sub);
  p.topology = hk::read_topology();
  p.settings = pl::launch_settings(s.launch, p.topology.cores);
  p.request.mixes_given = sub.get_option("--mixes")->count() > 0;
  p.request.mixes_text = s.mixes_text;
  if (p.request.mixes_given && s.mixes_text == "aligned") {
    p.request.aligned_node = aligned_node(p.settings);
    p.request.cpus = p.settings.launch.cpus;
  }
  p.request.scaling = pl::parse_scaling(s.scaling_text);
  p.request.node_counts = hk::node_counts(s.launch);
  p.request.cores_per_node = p.settings.launch.cores_per_node;
  pl::ConfigurationSet set = p.program ? pl::make_exec_configurations(p.program, pl::plan(p.request), p.settings)
                                       : pl::make_configurations(p.kernels, p.args, pl::plan(p.request), p.settings);
  p.configs = std::move(set.list);
  p.warnings = std::move(set.warnings);
  for (std::size_t i = 0; i < p.configs.size(); ++i) {
    pl::Configuration& c = p.configs[i];
    const std::string stem = pl::file_stem(i, c);
    c.stdout_path = p.paths.stdout_log(stem);
    c.stderr_path = p.paths.stderr_log(stem);
    try {
      pl::compose(c, p.paths.record(stem), p.paths.record_csv(stem));
    } catch (const hk::UsageError& e) {
      throw hk::UsageError(fmt::format("mix {}: {}", c.run.mix.label(), e.what()));
    }
  }
  return p;
}

int most_nodes(const SweepPlan& p) {
  return *std::max_element(p.request.node_counts.begin(), p.request.node_counts.end());
}

std::string hosts_source(const hk::LaunchSpec& launch) {
  if (!launch.hosts.empty()) return launch.hosts_source;
  return launch.launcher == "srun" ? "allocation" : "local";
}

// Every host the sweep runs on, as the host itself describes it (hk info --node-json run there);
// this machine's own description when the sweep runs here only.
json sweep_hosts(const SweepPlan& p) {
  if (p.settings.launch.hosts.empty() && most_nodes(p) == 1 && p.settings.launch.launcher != "srun")
    return json::array({{{"hostname", hk::host_name()}, {"topology", hk::topology_json(p.topology)}}});
  return pl::gather_host_topologies(p.settings.launch, most_nodes(p), pl::this_executable(),
                                    p.paths.log_dir + "/hosts-topology");
}

json sweep_document(const SweepState& s, const SweepPlan& p, const std::string& started_at, const json& hosts) {
  json kernels = json::array();
  if (p.program) {
    kernels.push_back({{"kernel", "exec"}, {"variant", p.program->name},
                       {"params", pl::exec_params(*p.program, p.program->args)}});
  } else {
    for (const auto& kernel : p.kernels) {
      const pl::KernelDescription d = pl::describe_kernel(kernel, p.args);
      kernels.push_back({{"kernel", kernel}, {"variant", d.variant}, {"params", d.params}});
    }
  }
  json mixes = json::array();
  for (int nodes : p.request.node_counts)
    for (const auto& m : pl::full_mixes(p.request, nodes))
      if (std::find(mixes.begin(), mixes.end(), m.label()) == mixes.end()) mixes.push_back(m.label());
  json machine = hk::topology_json(p.topology);
  machine["hostname"] = hk::host_name();
  if (hk::topology_used(p.settings.launch)) machine["planned_node"] = hk::topology::node_summary_json(*p.settings.launch.node);
  return {{"schema", "hybridkit.sweep/1"},
          {"command", hk::join_quoted(hk::own_command_line())},
          {"started_at", started_at},
          {"finished_at", nullptr},
          {"state", "running"},
          {"resume", s.resume},
          {"machine", machine},
          {"versions",
           {{"hybridkit", hk::build::version},
            {"git_sha", hk::build::git_sha},
            {"compiler", hk::build::compiler},
            {"flags", hk::build::flags},
            {"build_type", hk::build::build_type},
            {"launcher", p.settings.launch.launcher_version}}},
          {"budget_cores", static_cast<long long>(p.settings.launch.cores_per_node) * most_nodes(p)},
          {"cores_per_node", p.settings.launch.cores_per_node},
          {"cores_source", p.settings.launch.cores_source},
          {"nodes", p.request.node_counts},
          {"hosts_source", hosts_source(p.settings.launch)},
          {"hosts", hosts},
          {"launcher_args", p.settings.launch.launcher_args},
          {"launcher", s.launch.launcher},
          {"scaling", pl::scaling_name(p.request.scaling)},
          {"family_definition",
           "family T = T threads per rank at full size: 1 x c while c < T, then (c/T) x T; all start at 1 x 1"},
          {"mixes", mixes},
          {"timeout_s", s.timeout_s},
          {"kernels", kernels},
          {"configurations", p.configs.size()},
          {"summary", json::object()}};
}

// The last lines, and the exit status: 0 all ok, 1 some configuration not ok, 128 + signal when
// stopped (the command to resume is printed).
int summarize(const SweepPlan& p, const pl::SweepTally& tally, pl::Progress& progress) {
  std::string summary;
  for (const auto& [status, n] : tally.counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, status);
  const int skipped = tally.counts.count("skipped_ok") ? tally.counts.at("skipped_ok") : 0;
  progress.message(fmt::format("hk sweep: {} of {} configuration(s) done ({}); records in {} and {}",
                               tally.recorded + skipped, p.configs.size(), summary.empty() ? "none" : summary,
                               p.paths.jsonl, p.paths.csv));
  if (tally.interrupted) {
    std::vector<std::string> resume = hk::own_command_line();
    if (std::find(resume.begin(), resume.end(), "--resume") == resume.end()) resume.push_back("--resume");
    progress.message(fmt::format("hk sweep: interrupted by {}; the running configuration was killed, finished ones "
                                 "are kept. Resume with:\n  {}",
                                 pl::StopSignals::signal_name(), hk::join_quoted(resume)));
    return 128 + pl::StopSignals::signal_number();
  }
  if (tally.failed() > 0) {
    progress.message(fmt::format("hk sweep: {} configuration(s) not ok; see the error field in {}", tally.failed(),
                                 p.paths.jsonl));
    return hk::kExitVerifyFailed;
  }
  return hk::kExitOk;
}

int execute_sweep(const SweepState& s, SweepPlan& p, pl::Progress& progress) {
  for (const auto& c : p.configs) hk::check_runnable_here(c.spec, p.settings.machine_cores);
  const pl::SweepLock lock(p.paths);
  for (const auto& path : {p.paths.jsonl, p.paths.csv}) {
    if (const std::size_t cut = hk::repair_partial_tail(path); cut > 0)
      progress.message(fmt::format("hk sweep: WARNING: removed a partial last line ({} bytes) from {}", cut, path));
  }
  pl::DoneRuns done;
  if (s.resume) done = pl::ok_runs(p.paths.jsonl);
  for (const auto& w : done.warnings) progress.message("hk sweep: WARNING: " + w);

  json document = sweep_document(s, p, hk::utc_timestamp(), sweep_hosts(p));
  pl::write_sweep_json(p.paths, document);
  const pl::SweepContext context{p.request.scaling, p.settings.launch.cores_per_node, s.launch.launcher, s.timeout_s};
  pl::SweepTally tally;
  {
    const pl::StopSignals signals;
    tally = pl::run_configurations(p.configs, p.paths, context, done.keys, progress);
  }
  document["finished_at"] = hk::utc_timestamp();
  document["state"] = tally.interrupted ? "interrupted" : "finished";
  document["summary"] = tally.counts;
  pl::write_sweep_json(p.paths, document);
  return summarize(p, tally, progress);
}

int run_sweep(const SweepState& s, CLI::App& sweep_app) {
  SweepPlan p = plan_sweep(s, *sweep_app.get_subcommands().front());
  pl::Progress progress(static_cast<int>(p.configs.size()), 0);
  for (const auto& w : p.warnings) progress.message("hk sweep: WARNING: " + w);
  if (s.launch.dry_run) {
    for (const auto& c : p.configs) {
      if (c.layout) std::cout << "# " << hk::topology::layout_line(*c.layout) << "\n";
      std::cout << c.command.display() << "\n";
    }
    std::cout << std::flush;
    return hk::kExitOk;
  }
  if (p.configs.empty()) throw hk::UsageError("nothing to run: the plan has no configuration");
  return execute_sweep(s, p, progress);
}

std::function<int()> setup_sweep(CLI::App& sweep) {
  auto state = std::make_shared<SweepState>();
  sweep.require_subcommand(1);
  state->kernels = hk::add_kernel_subcommands(sweep, /*with_threads=*/false);
  CLI::App* all = sweep.add_subcommand("all", "every registered kernel with its default problem");
  hk::add_exec_subcommand(sweep, state->exec);
  hk::add_common_options(*all, state->all_common, /*with_threads=*/false);
  for (CLI::App* sub : sweep.get_subcommands({})) {
    sub->get_option("--out")->description("directory of the sweep: runs.jsonl, runs.csv, sweep.json, logs/")
        ->type_name("DIR");
    sub->get_option("--csv")->group("");  // hidden: the sweep always writes DIR/runs.csv
    sub->add_option("--mixes", state->mixes_text,
                    "mixes RANKSxTHREADS to run, e.g. 4x1,2x2,1x4; or 'aligned': those of the budget aligned to the "
                    "node's L3 groups, NUMA domains and packages")
        ->default_str("every RxT = the core budget")
        ->group("Sweep");
    sub->add_option("--scaling", state->scaling_text,
                    "none; strong: every mix family at 1, 2, 4, ... cores; weak: the problem grows with the cores")
        ->check(CLI::IsMember({"none", "strong", "weak"}))
        ->capture_default_str()
        ->group("Sweep");
    hk::add_real_option(*sub, "--timeout", state->timeout_s, 0, 1e7, true,
                        "seconds per configuration before its whole process group is killed (status timeout)")
        ->default_str("none")
        ->group("Sweep");
    sub->add_flag("--resume", state->resume, "skip configurations already recorded ok in DIR/runs.jsonl")
        ->group("Sweep");
    hk::add_launch_options(*sub, state->launch, hk::NodesOption::list);
  }
  return [state, &sweep] { return run_sweep(*state, sweep); };
}

HK_REGISTER_COMMAND("sweep",
                    "run a kernel (or all) at every ranks x threads mix of the cores; records to DIR/runs.jsonl",
                    setup_sweep);

}  // namespace
