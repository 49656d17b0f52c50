#include "mix_options.hpp"

#include <fmt/format.h>

#include "dialect.hpp"
#include "plan.hpp"

namespace hk {

void add_launch_options(CLI::App& app, LaunchOptions& o, NodesOption nodes) {
  if (nodes == NodesOption::one) {
    add_int_option(app, "--nodes", o.nodes, 1, 1 << 16, "nodes to spread the ranks over")->group("Mix");
  } else {
    app.add_option("--nodes", o.nodes_list, "node counts to sweep, e.g. 1,2 (the ranks spread evenly over them)")
        ->default_str("1")
        ->group("Mix");
  }
  add_int_option(app, "--cores", o.cores, 1, 1 << 20, "physical cores per node")
      ->default_str("the hosts' slots, else hwloc's count")
      ->group("Mix");
  CLI::Option* hosts =
      app.add_option("--hosts", o.hosts, "hosts for mpirun and their cores: h1:N,h2:N (--nodes N takes the first N)")
          ->group("Launch");
  app.add_option("--hostfile", o.hostfile, "hosts for mpirun in Open MPI's hostfile syntax ('host slots=N' lines)")
      ->type_name("FILE")
      ->excludes(hosts)
      ->group("Launch");
  app.add_option("--launcher-args", o.launcher_args,
                 "site flags passed to the launcher as they are, e.g. \"--mca plm_rsh_agent ssh\" (recorded)")
      ->type_name("\"ARGS\"")
      ->group("Launch");
  app.add_flag("--oversubscribe", o.oversubscribe, "allow ranks x threads beyond the cores (then no binding)")
      ->group("Mix");
  app.add_flag("--dry-run", o.dry_run, "print the commands, do not run them")->group("Launch");
  std::vector<std::string> launchers, dialects;
  for (const auto& dialect : launch_dialects()) {
    dialects.push_back(dialect.name);
    launchers.insert(launchers.end(), dialect.launchers.begin(), dialect.launchers.end());
  }
  app.add_option("--launcher", o.launcher, "the launcher: mpirun (Open MPI), mpiexec.hydra (MPICH), srun, ...")
      ->check(CLI::IsMember(launchers))
      ->capture_default_str()
      ->group("Launch");
  app.add_option("--launcher-path", o.launcher_path, "path of the launcher (default: found on PATH)")->group("Launch");
  app.add_option("--launcher-dialect", o.launcher_dialect,
                 "the launcher's option syntax (default: detected from its --version, else its name)")
      ->check(CLI::IsMember(dialects))
      ->group("Launch");
  app.add_option("--srun-mpi", o.srun_mpi, "srun's --mpi plugin (default: $HK_SRUN_MPI, else pmix)")->group("Launch");
  app.add_option("--kernel-exe", o.kernel_exe, "path of hk-kernel (default: next to hk)")->group("Launch");
  app.add_option("--topology", o.topology,
                 "hwloc XML of the node to plan and bind for (lstopo --of xml on it); mixes, binding and "
                 "alignment follow its L3 groups, NUMA domains and packages")
      ->type_name("NODE.xml")
      ->default_str("this machine")
      ->group("Topology");
  app.add_flag("--smt", o.smt, "hardware threads as the cores (same as --cpus hwthreads)")->group("Topology");
  app.add_option("--cpus", o.cpus, "what one thread gets: cores (one thread per core) or hwthreads")
      ->check(CLI::IsMember({"cores", "hwthreads"}))
      ->capture_default_str()
      ->group("Topology");
  app.add_flag("--aligned", o.aligned,
               "refuse a mix whose ranks cannot each sit inside one L3 group, NUMA domain or package (or on whole ones)")
      ->group("Topology");
}

const std::set<std::string>& hk_only_options() {
  static const std::set<std::string> names = {
      "--ranks", "--threads", "--nodes", "--cores", "--oversubscribe", "--dry-run", "--launcher",
      "--launcher-path", "--launcher-dialect", "--srun-mpi", "--kernel-exe", "--help", "--hosts", "--hostfile",
      "--launcher-args", "--topology", "--smt", "--cpus", "--aligned",
      // hk sweep's own
      "--mixes", "--scaling", "--timeout", "--resume", "--out-dir", "--budget"};
  return names;
}

std::vector<int> node_counts(const LaunchOptions& options) {
  if (options.nodes_list.empty()) return {options.nodes};
  return pipeline::parse_node_counts(options.nodes_list);
}

std::vector<std::string> forwarded_args(const CLI::App& app) {
  std::vector<std::string> args;
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() == 0 || option->get_lnames().empty()) continue;
    const std::string name = "--" + option->get_lnames().front();
    if (hk_only_options().count(name)) continue;
    if (option->get_type_size() == 0) {
      args.push_back(name);
      continue;
    }
    for (const auto& value : option->results()) args.push_back(name + "=" + value);
  }
  return args;
}

std::vector<std::string> kernel_args(const CLI::App& app) {
  std::vector<std::string> args;
  for (const auto& word : forwarded_args(app))
    if (word.rfind("--out=", 0) != 0 && word.rfind("--csv=", 0) != 0) args.push_back(word);
  return args;
}

std::unique_ptr<KernelCli> add_kernel_subcommands(CLI::App& parent, bool with_threads) {
  auto cli = make_kernel_cli("hk-kernel");
  static std::vector<std::unique_ptr<CommonOptions>> validated;  // bound by the options below
  for (const auto& [name, kernel] : cli->kernels) {
    CLI::App* sub = parent.add_subcommand(name, cli->app->get_subcommand(name)->get_description());
    kernel->add_options(*sub);
    validated.push_back(std::make_unique<CommonOptions>());
    add_common_options(*sub, *validated.back(), with_threads);
  }
  return cli;
}

}  // namespace hk
