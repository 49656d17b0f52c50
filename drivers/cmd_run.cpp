// hk run KERNEL --ranks R --threads T [kernel options]: validates everything first, composes the
// mpirun (or srun) command with explicit hybrid binding, prints it, runs it in the foreground and
// returns what it means. hk-kernel prints the human summary; the record it writes is finished
// (classified, placement checked) and appended to --out by hk.
//
// A composition of the pipeline (docs/architecture.md): one planned mix -> configuration ->
// foreground executor (signals forwarded, --timeout) -> finisher -> exit status:
//   0 ok, 1 verification failed, 2 bad input (also hk-kernel's refusal), 3 anything else that
//   failed at run time: a launch the launcher could not start, a crash, and --timeout (status
//   timeout in the record); 128 + signal when hk run itself was stopped by SIGINT/SIGTERM/SIGHUP.
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "configuration.hpp"
#include "exec_options.hpp"
#include "exec_run.hpp"
#include "executor.hpp"
#include "finisher.hpp"
#include "hk/cli.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "mix_options.hpp"
#include "topology.hpp"
#include "topology/layout.hpp"

namespace {

namespace fs = std::filesystem;
namespace pl = hk::pipeline;

struct RunState {
  int ranks = 1;
  int threads = 0;
  double timeout_s = 0;
  int machine_cores = 0;  // this machine's physical cores (hwloc)
  hk::LaunchOptions launch;
  hk::ExecOptions exec;  // hk run --exec: a user's own program
  std::unique_ptr<hk::KernelCli> kernels;
};

// Where the finished record goes: --out (JSONL) and --csv (default: --out with .csv).
struct RecordTarget {
  std::string jsonl, csv;
};

RecordTarget record_target(const CLI::App& sub) {
  RecordTarget t;
  const CLI::Option* out = sub.get_option("--out");
  const CLI::Option* csv = sub.get_option("--csv");
  if (out->count() > 0) t.jsonl = out->as<std::string>();
  if (csv->count() > 0) t.csv = csv->as<std::string>();
  else if (!t.jsonl.empty()) t.csv = hk::csv_path_for(t.jsonl);
  return t;
}

// The record file is checked before anything starts: a run must not compute and then lose it.
void check_appendable(const std::string& path, const char* option) {
  if (path.empty()) return;
  if (const std::string problem = hk::append_problem(path); !problem.empty())
    throw hk::UsageError(fmt::format("{}: '{}' cannot be written: {}; nothing was run", option, path, problem));
}

// The record hk-kernel writes during the run: a private file, so that hk finds exactly this run's
// record whoever else appends to --out. Next to --out (the file system the ranks write --out on),
// else in the temporary directory. Removed afterwards.
class PrivateRecord {
 public:
  explicit PrivateRecord(const RecordTarget& target) {
    const std::string name = fmt::format("hk-run-{}-{}", hk::host_name(), getpid());
    if (!target.jsonl.empty()) {
      const fs::path out(target.jsonl);
      base_ = (out.has_parent_path() ? out.parent_path() : fs::path(".")) / ("." + out.filename().string() + "." + name);
    } else {
      base_ = temporary_directory() / name;
    }
  }
  ~PrivateRecord() {
    std::error_code ignored;
    fs::remove(jsonl(), ignored);
    fs::remove(csv(), ignored);
    fs::remove(program_stdout(), ignored);
    fs::remove(program_stderr(), ignored);
    fs::remove_all(jsonl() + ".ranks", ignored);
  }
  PrivateRecord(const PrivateRecord&) = delete;
  PrivateRecord& operator=(const PrivateRecord&) = delete;
  std::string jsonl() const { return base_.string() + ".jsonl"; }
  std::string csv() const { return base_.string() + ".csv"; }
  // hk run --exec: the program's output, kept to find --success and --fom in, then printed.
  std::string program_stdout() const { return base_.string() + ".out"; }
  std::string program_stderr() const { return base_.string() + ".err"; }

 private:
  static fs::path temporary_directory() {
    std::error_code error;
    const fs::path dir = fs::temp_directory_path(error);  // TMPDIR when it is a directory
    return error ? fs::path("/tmp") : dir;
  }
  fs::path base_;
};

pl::Configuration plan_run(RunState& s, const CLI::App& sub) {
  pl::PlannedRun run;
  run.mix = {s.ranks, hk::resolve_threads(s.threads)};
  run.nodes = s.launch.nodes;
  run.families = {run.mix.threads};
  const pl::LaunchSettings settings = pl::launch_settings(s.launch, hk::read_topology().cores);
  s.machine_cores = settings.machine_cores;
  if (sub.get_name() == "exec") {
    const auto program = std::make_shared<const pl::ExecProgram>(pl::exec_program(s.exec));
    pl::ConfigurationSet set = pl::make_exec_configurations(program, {run}, settings);
    for (const auto& warning : set.warnings) std::cerr << fmt::format("hk: WARNING: {}\n", warning);
    return std::move(set.list.front());
  }
  for (const auto& warning : settings.warnings) std::cerr << fmt::format("hk: WARNING: {}\n", warning);
  return pl::make_configuration(sub.get_name(), hk::kernel_args(sub), run, settings);
}

// 3 for everything that failed at run time but hk-kernel's own "bad input" (2).
// (A program's own exit status 2 is a run-time failure, not hk's bad input.)
int exit_status(const pl::Configuration& config, const pl::Finished& f, const pl::ChildOutcome& outcome,
                bool own_record) {
  if (f.verdict.status == "ok") return hk::kExitOk;
  if (f.verdict.status == "verify_failed") return hk::kExitVerifyFailed;
  if (f.verdict.status == "error" && !config.exec && !own_record && outcome.exited &&
      outcome.exit_status == hk::kExitUsage &&
      !pl::launch_failure_in_text(outcome.stderr_tail))
    return hk::kExitUsage;
  return hk::kExitRuntime;
}

int finish_run(const RunState& s, const pl::Configuration& config, const pl::Launched& launched,
               const RecordTarget& target, const std::string& started_at) {
  const pl::ChildOutcome& outcome = launched.outcome;
  const bool own_record = fs::exists(config.record_path);
  pl::Finished f = pl::finish_launched(config, launched, s.timeout_s, started_at, "hk run");
  for (const auto& problem : f.placement_problems)
    std::cerr << fmt::format("hk: WARNING: placement does not match the binding asked for: {}\n", problem);
  const int status = exit_status(config, f, outcome, own_record);
  if (status != hk::kExitUsage) {  // bad input refused by hk-kernel leaves no record, as in hk-kernel
    for (const auto& note : pl::append_record(f.record, target.jsonl, target.csv))
      std::cerr << fmt::format("hk: WARNING: {}\n", note);
    if (!target.jsonl.empty()) std::cout << fmt::format("hk: record ({}) appended to {}\n", f.verdict.status, target.jsonl);
  }
  if (f.verdict.status == "timeout")
    std::cerr << fmt::format("hk: error: the run exceeded --timeout {} s: the whole launch was killed (status timeout)\n",
                             s.timeout_s);
  else if (status == hk::kExitRuntime)
    std::cerr << fmt::format("hk: error: the run {}: {}\n", f.verdict.status == "crashed" ? "crashed" : "failed",
                             f.verdict.reason);
  return status;
}

int run_kernel(RunState& s, CLI::App& run) {
  const CLI::App& sub = *run.get_subcommands().front();
  const RecordTarget target = record_target(sub);
  pl::Configuration config = plan_run(s, sub);
  const PrivateRecord record(target);
  pl::compose(config, record.jsonl(), record.csv());
  if (config.oversubscribed) {
    std::cerr << fmt::format(
        "hk: WARNING: {} ranks x {} threads oversubscribe {} core(s) per node: ranks and threads are left unbound "
        "and timings are not representative\n",
        config.spec.ranks, config.spec.threads, config.spec.cores_per_node);
  }
  if (!config.straddle_warning.empty()) std::cerr << fmt::format("hk: WARNING: {}\n", config.straddle_warning);
  if (config.layout) std::cout << "hk: " << hk::topology::layout_line(*config.layout) << "\n";
  std::cout << "hk: " << config.command.display() << "\n" << std::flush;
  if (s.launch.dry_run) return hk::kExitOk;
  check_appendable(target.jsonl, "--out");
  check_appendable(target.csv, "--csv");
  hk::check_runnable_here(config.spec, s.machine_cores);

  const std::string started_at = hk::utc_timestamp();
  pl::ChildLimits limits;
  limits.timeout_s = s.timeout_s;
  pl::Launched launched;
  {
    const pl::StopSignals signals;
    pl::StopSignals::set_limits(limits);
    // A program's output goes to files (--success and --fom are looked for there) and is printed
    // when each repetition ends; a kernel's goes straight to ours.
    const pl::ChildIo io = config.exec ? pl::ChildIo::to_files(record.program_stdout(), record.program_stderr())
                                       : pl::ChildIo::foreground();
    launched = pl::run_configuration(config, io, limits, [](const pl::Repetition& rep) {
      pl::copy_slice(rep.stdout_slice, std::cout);
      pl::copy_slice(rep.stderr_slice, std::cerr);
    });
  }
  const pl::ChildOutcome& outcome = launched.outcome;
  if (outcome.interrupted) {
    std::cerr << fmt::format("hk: interrupted by {}: the whole launch was killed, nothing recorded\n",
                             pl::StopSignals::signal_name());
    return 128 + pl::StopSignals::signal_number();
  }
  return finish_run(s, config, launched, target, started_at);
}

std::function<int()> setup_run(CLI::App& run) {
  auto state = std::make_shared<RunState>();
  run.require_subcommand(1);
  state->kernels = hk::add_kernel_subcommands(run, /*with_threads=*/false);
  hk::add_exec_subcommand(run, state->exec);
  for (CLI::App* sub : run.get_subcommands({})) {
    hk::add_int_option(*sub, "--ranks", state->ranks, 1, 1 << 20, "MPI ranks (processes)")->group("Mix");
    hk::add_int_option(*sub, "--threads", state->threads, 1, 4096, "OpenMP threads per rank")
        ->default_str("OMP_NUM_THREADS or 1")
        ->group("Mix");
    hk::add_real_option(*sub, "--timeout", state->timeout_s, 0, 1e7, true,
                        "seconds before the whole launch is killed (status timeout, exit status 3)")
        ->default_str("none")
        ->group("Launch");
    hk::add_launch_options(*sub, state->launch);
  }
  return [state, &run] { return run_kernel(*state, run); };
}

HK_REGISTER_COMMAND("run", "run one kernel with R ranks x T threads (composes, prints and runs mpirun)", setup_run);

}  // namespace
