// hk slurm submit|status|collect|mark: job arrays on Slurm, and the state of every task of a
// results directory without sacct.
//
//   hk slurm submit KERNEL [kernel options] --out DIR --mixes 2x1,1x2 [--nodes N] [--partition P]
//                   [--account A] [--time T] [--max-parallel K] [--sbatch-option OPT]... [--dry-run]
//   hk slurm submit exec [--name ...] [the same options] -- PROGRAM ARGS   (or --exec: docs/exec.md)
//     one array task per mix (logs DIR/slurm/logs/%A_%a.out), each appending its record to
//     DIR/runs.jsonl; the submission is remembered in DIR/slurm/submissions.jsonl.
//   hk slurm status DIR [--jobs ID,...] [--wait [--wait-timeout S]]: every task's state.
//   hk slurm collect DIR [...]: the same, then checks and tabulates DIR/runs.jsonl.
//   hk slurm mark start|exit DIR: used inside the batch scripts (start/exit markers).
//
// submit is a composition of the pipeline (docs/architecture.md): plan (the mixes) ->
// configurations (each launch validated) -> the Slurm array executor (slurm/array.hpp). Where
// the states come from: slurm/observe.hpp.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "array.hpp"
#include "command.hpp"
#include "configuration.hpp"
#include "exec_options.hpp"
#include "exec_run.hpp"
#include "files.hpp"
#include "hk/errors.hpp"
#include "hk/json_text.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "mix_options.hpp"
#include "observe.hpp"
#include "plan.hpp"
#include "slurm_state.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

namespace pl = hk::pipeline;

// Exit statuses of status/collect beyond the shared ones: 1 some task failed, timed out, was
// cancelled or is unknown; 5 tasks still pending or running (none failed yet).
constexpr int kExitNotFinished = 5;

struct SlurmState {
  // submit
  std::unique_ptr<hk::KernelCli> kernels;
  hk::ExecOptions exec;  // hk slurm submit exec: a user's own program
  std::string mixes = "2x1,1x2";
  int cores = 0;
  hk::slurm::BatchOptions batch;
  bool dry_run = false;
  std::set<std::string> own_options;  // hk slurm submit's options (not forwarded to the kernel)
  // status, collect
  hk::slurm::ObserveRequest observe;
  bool wait = false;
  double wait_timeout = 3600;
  double poll = 2;
  // mark
  std::string mark_dir, mix;
  int exit_code = 0;
};

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// ---------------------------------------------------------------- mark

// The job's log file, from scontrol's StdOut= (with Slurm's patterns expanded).
std::string job_log(const std::string& job, const std::string& array_job, const std::string& array_task) {
  std::string shown;
  if (hk::capture({"scontrol", "show", "job", "-o", job}, shown, false) != 0) return "";
  const auto at = shown.find("StdOut=");
  if (at == std::string::npos) return "";
  const std::string pattern = shown.substr(at + 7, shown.find_first_of(" \n", at) - at - 7);
  return hk::slurm::expand_log_pattern(pattern, array_job, array_task, job);
}

int mark(const SlurmState& s, const std::string& what) {
  const std::string job = env_or("SLURM_JOB_ID");
  if (job.empty()) throw hk::UsageError("hk slurm mark: SLURM_JOB_ID: not set (only for use inside a Slurm job)");
  const std::string array_job = env_or("SLURM_ARRAY_JOB_ID");
  const std::string array_task = env_or("SLURM_ARRAY_TASK_ID");
  const std::string key = array_job.empty() ? job : hk::slurm::task_key(array_job, array_task);
  const fs::path tasks = fs::path(s.mark_dir) / "slurm" / "tasks";
  fs::create_directories(tasks);
  json marker = {{"key", key}, {"job_id", job}, {"time", hk::utc_timestamp()}};
  if (what == "start") {
    const std::string mix = !s.mix.empty() ? s.mix
                                           : fmt::format("{}x{}", env_or("SLURM_NTASKS", "1"),
                                                         env_or("SLURM_CPUS_PER_TASK", "1"));
    marker.update({{"array_job_id", array_job},
                   {"array_task_id", array_task},
                   {"name", env_or("SLURM_JOB_NAME")},
                   {"mix", mix},
                   {"nodes", env_or("SLURM_JOB_NUM_NODES", "1")},
                   {"nodelist", env_or("SLURM_JOB_NODELIST")},
                   {"host", hk::host_name()},
                   {"log", job_log(job, array_job, array_task)}});
  } else {
    marker["exit_code"] = s.exit_code;
  }
  hk::write_atomically((tasks / (key + "." + what)).string(), hk::json_text(marker) + "\n");
  return hk::kExitOk;
}

// ---------------------------------------------------------------- status

void print_snapshot(const std::string& dir, const hk::slurm::Snapshot& snap) {
  std::map<std::string, int> counts;
  for (const auto& task : snap.tasks) ++counts[hk::slurm::state_name(task.state)];
  std::string summary;
  for (const auto& [name, count] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, name);
  std::string text = fmt::format("hk slurm: {}: {} task(s): {}\n", dir, snap.tasks.size(), summary);
  text += fmt::format("  {:<12} {:<8} {:<10} {:>4}  {}\n", "TASK", "MIX", "STATE", "EXIT", "DETAIL / LOG");
  for (const auto& t : snap.tasks) {
    text += fmt::format("  {:<12} {:<8} {:<10} {:>4}  {}{}\n", t.key, t.mix, hk::slurm::state_name(t.state),
                        t.exit_code ? std::to_string(*t.exit_code) : "-", t.detail,
                        t.log.empty() ? "" : "  [" + t.log + "]");
  }
  if (!snap.note.empty()) text += "  note: " + snap.note + "\n";
  std::cout << text << std::flush;
  for (const auto& warning : snap.warnings) std::cerr << fmt::format("hk slurm: WARNING: {}\n", warning);
}

int verdict(const hk::slurm::Snapshot& snap) {
  bool pending = false, bad = false;
  for (const auto& t : snap.tasks) {
    if (!hk::slurm::finished(t.state)) pending = true;
    else if (t.state != hk::slurm::State::ok) bad = true;
  }
  return bad ? hk::kExitVerifyFailed : pending ? kExitNotFinished : hk::kExitOk;
}

hk::slurm::Snapshot observe(const SlurmState& s) {
  const std::string& dir = s.observe.dir;
  if (!fs::is_directory(dir))
    throw hk::UsageError(fmt::format("DIR: '{}' is not a directory (the --out of hk slurm submit or HK_OUT)", dir));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(s.wait_timeout);
  for (;;) {
    hk::slurm::Snapshot snap = hk::slurm::gather(s.observe);
    if (snap.tasks.empty())
      throw hk::UsageError(fmt::format(
          "DIR: no Slurm jobs known under '{}' (none submitted with hk slurm submit, none started by "
          "slurm/*.sbatch yet; name jobs submitted by hand with --jobs ID,...)",
          dir));
    const bool all_done = snap.queue_ok && std::all_of(snap.tasks.begin(), snap.tasks.end(), [](const auto& t) {
      return hk::slurm::finished(t.state);
    });
    if (!s.wait || all_done || std::chrono::steady_clock::now() >= deadline) {
      if (s.wait && !all_done)
        snap.note += (snap.note.empty() ? "" : "; ") + fmt::format("--wait-timeout {} s reached", s.wait_timeout);
      return snap;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(s.poll));
  }
}

int status_command(const SlurmState& s) {
  const auto snap = observe(s);
  print_snapshot(s.observe.dir, snap);
  return verdict(snap);
}

// ---------------------------------------------------------------- collect

void write_task_states(const std::string& dir, const hk::slurm::Snapshot& snap) {
  json states = json::array();
  for (const auto& t : snap.tasks) {
    json entry = {{"task", t.key}, {"mix", t.mix}, {"state", hk::slurm::state_name(t.state)},
                  {"detail", t.detail}, {"log", t.log}};
    entry["exit_code"] = t.exit_code ? json(*t.exit_code) : json(nullptr);
    states.push_back(entry);
  }
  hk::write_atomically((fs::path(dir) / "slurm" / "status.json").string(), hk::json_text(states, 2) + "\n");
}

// One row of the records table; false for a line that is not a hybridkit record.
bool record_row(const json& record, std::string& row, std::string& mix, bool& ok) {
  const json ranks = hk::field_value(record, "ranks"), threads = hk::field_value(record, "threads");
  if (!hk::field_value(record, "status").is_string() || !ranks.is_number_integer() || !threads.is_number_integer()) return false;
  mix = fmt::format("{}x{}", ranks.get<long long>(), threads.get<long long>());
  std::set<std::string> hosts;
  const json placement = hk::field_value(record, "placement");
  if (placement.is_array())
    for (const auto& p : placement) hosts.insert(hk::string_field(p, "host").empty() ? "?" : hk::string_field(p, "host"));
  std::string host_list;
  for (const auto& h : hosts) host_list += (host_list.empty() ? "" : ",") + h;
  const json median = hk::field_value(record, "time_s.median"), nodes = hk::field_value(record, "nodes"),
             reps = hk::field_value(record, "reps");
  const bool verified = hk::true_field(record, "verification.passed");
  const std::string status = hk::string_field(record, "status");
  row = fmt::format("  {:<12} {:<8} {:>5} {:>6}  {:>12}  {:<8} {:<9} {}\n", hk::string_field(record, "kernel"), mix,
                    nodes.is_number() ? nodes.dump() : "?", reps.is_number() ? reps.dump() : "?",
                    median.is_number() ? fmt::format("{:.6f}", median.get<double>()) : "-", status,
                    verified ? "yes" : "NO", host_list);
  ok = status == "ok" && verified;
  return true;
}

// Tabulates DIR/runs.jsonl; returns the problems found (bad lines, runs not ok, tasks that ended
// ok without an ok record).
int tabulate_records(const std::string& runs, const hk::slurm::Snapshot& snap) {
  const hk::RecordFile file = hk::read_records(runs);
  int problems = 0;
  std::string text;
  for (const auto& error : file.errors) {
    text += "  record error: " + error + "\n";
    ++problems;
  }
  text += fmt::format("records in {}: {}\n", runs, file.records.size());
  text += fmt::format("  {:<12} {:<8} {:>5} {:>6}  {:>12}  {:<8} {:<9} {}\n", "KERNEL", "MIX", "NODES", "REPS",
                      "MEDIAN [s]", "STATUS", "VERIFIED", "HOSTS");
  std::multiset<std::string> recorded_mixes;
  for (std::size_t i = 0; i < file.records.size(); ++i) {
    std::string row, mix;
    bool ok = false;
    if (!record_row(file.records[i], row, mix, ok)) {
      text += fmt::format("  record error: {}: record {}: not a hybridkit run record (status, ranks, threads), "
                          "skipped\n",
                          runs, i + 1);
      ++problems;
      continue;
    }
    text += row;
    if (!ok) ++problems;
    if (hk::string_field(file.records[i], "status") == "ok") recorded_mixes.insert(mix);
  }
  // Every task that ended ok ran one mix and must have left its record.
  for (const auto& t : snap.tasks) {
    if (t.state != hk::slurm::State::ok || t.mix.find('x') == std::string::npos || t.mix == "?") continue;
    const auto found = recorded_mixes.find(t.mix);
    if (found == recorded_mixes.end()) {
      text += fmt::format("  task {} ({}) ended ok but left no ok record\n", t.key, t.mix);
      ++problems;
    } else {
      recorded_mixes.erase(found);
    }
  }
  std::cout << text;
  return problems;
}

int collect_command(const SlurmState& s) {
  const auto snap = observe(s);
  print_snapshot(s.observe.dir, snap);
  int result = verdict(snap);
  write_task_states(s.observe.dir, snap);
  const std::string runs = (fs::path(s.observe.dir) / "runs.jsonl").string();
  const int problems = tabulate_records(runs, snap);
  std::cout << fmt::format("collect: {} problem(s); task states in {}; records as CSV in {}\n", problems,
                           (fs::path(s.observe.dir) / "slurm" / "status.json").string(), hk::csv_path_for(runs))
            << std::flush;
  if (problems > 0 && result != hk::kExitVerifyFailed) result = hk::kExitVerifyFailed;
  return result;
}

// ---------------------------------------------------------------- submit

// The array's tasks: the one mix parser, then one configuration per mix with its launch validated
// (ranks a multiple of --nodes; within --cores when given: the compute nodes' cores are not known
// here otherwise).
hk::slurm::ArrayRequest array_request(const SlurmState& s, const CLI::App& sub) {
  hk::slurm::ArrayRequest r;
  const CLI::Option* out_option = sub.get_option("--out");
  if (out_option->count() == 0)
    throw hk::UsageError("--out: required: the results directory (records go to DIR/runs.jsonl)");
  r.out = fs::absolute(out_option->as<std::string>()).lexically_normal().string();
  r.kernel = sub.get_name();
  for (const auto& arg : hk::kernel_args(sub))
    if (!s.own_options.count(arg.substr(0, arg.find('=')))) r.args.push_back(arg);
  pl::PlanRequest plan;
  plan.mixes_given = true;
  plan.mixes_text = s.mixes;
  plan.node_counts = {s.batch.nodes};
  pl::LaunchSettings settings;
  settings.launch.cores_per_node = s.cores;  // 0: the compute nodes' cores are not known here
  settings.launch.launcher = "srun";
  settings.launch.program = {"hk-kernel"};
  if (r.kernel == "exec") {
    // The program checked here (it exists, can be executed, its patterns compile); each task runs
    // it by its absolute path through `hk run exec` (the same composition as hk run --exec).
    const auto program = std::make_shared<const pl::ExecProgram>(pl::exec_program(s.exec));
    r.tasks = pl::make_exec_configurations(program, pl::plan(plan), settings).list;
    r.args.push_back("--");
    r.args.push_back(program->path);
    r.args.insert(r.args.end(), program->args.begin(), program->args.end());
  } else {
    r.tasks = pl::make_configurations({r.kernel}, r.args, pl::plan(plan), settings).list;
  }
  if (!s.batch.time_limit.empty() && !hk::slurm::valid_time_limit(s.batch.time_limit))
    throw hk::UsageError(fmt::format(
        "--time: must be a Slurm time limit: MINUTES, M:S, H:M:S, D-H, D-H:M or D-H:M:S (got '{}')",
        s.batch.time_limit));
  r.batch = s.batch;
  r.hk_bin = fs::canonical("/proc/self/exe").parent_path().string();
  return r;
}

int submit_command(const SlurmState& s, CLI::App& submit) {
  const hk::slurm::ArrayRequest request = array_request(s, *submit.get_subcommands().front());
  const hk::slurm::ArraySubmission array = hk::slurm::compose_array(request);
  std::string text = "hk: " + array.sbatch.display() + "\n";
  for (std::size_t i = 0; i < array.mixes.size(); ++i) text += fmt::format("  task {}: {}\n", i, array.mixes[i]);
  std::cout << text << std::flush;
  if (s.dry_run) return hk::kExitOk;
  const std::string job = hk::slurm::submit_array(array, request);
  std::cout << fmt::format("hk: submitted array job {} ({} task(s)); logs {}; follow with: hk slurm status {}\n", job,
                           array.mixes.size(), array.log_pattern, request.out);
  return hk::kExitOk;
}

// ---------------------------------------------------------------- options

// Adds an option unless the kernel already has one of that name (its own then wins).
template <typename Add>
void add_if_free(CLI::App& app, std::set<std::string>& owned, const std::string& name, Add add) {
  if (app.get_option_no_throw(name) == nullptr) {
    add();
    owned.insert(name);
  }
}

void add_submit_options(CLI::App& app, SlurmState& s) {
  auto& owned = s.own_options;
  auto& b = s.batch;
  add_if_free(app, owned, "--mixes", [&] {
    app.add_option("--mixes", s.mixes, "RANKSxTHREADS list, one array task each")->capture_default_str()->group("Slurm");
  });
  add_if_free(app, owned, "--nodes", [&] {
    hk::add_int_option(app, "--nodes", b.nodes, 1, 1 << 16, "nodes per task (ranks spread over them)")->group("Slurm");
  });
  add_if_free(app, owned, "--cores", [&] {
    hk::add_int_option(app, "--cores", s.cores, 1, 1 << 20, "physical cores per node, to check the mixes fit")
        ->group("Slurm");
  });
  add_if_free(app, owned, "--partition",
              [&] { app.add_option("--partition", b.partition, "sbatch --partition")->group("Slurm"); });
  add_if_free(app, owned, "--account", [&] { app.add_option("--account", b.account, "sbatch --account")->group("Slurm"); });
  add_if_free(app, owned, "--time", [&] {
    app.add_option("--time", b.time_limit, "time limit per task (sbatch --time, e.g. 10 or 1:00:00)")->group("Slurm");
  });
  add_if_free(app, owned, "--max-parallel", [&] {
    hk::add_int_option(app, "--max-parallel", b.max_parallel, 1, 1 << 20, "at most this many tasks at once (%K)")
        ->group("Slurm");
  });
  add_if_free(app, owned, "--sbatch-option", [&] {
    app.add_option("--sbatch-option", b.sbatch_options, "extra sbatch option, e.g. --sbatch-option=--qos=debug")
        ->allow_extra_args(false)
        ->group("Slurm");
  });
  add_if_free(app, owned, "--dry-run", [&] { app.add_flag("--dry-run", s.dry_run, "print the sbatch command only"); });
}

void add_observe_commands(CLI::App& slurm, SlurmState& s) {
  for (const char* name : {"status", "collect"}) {
    CLI::App* sub = slurm.add_subcommand(
        name, std::string(name) == "status"
                  ? "state of every task of DIR: pending, running, ok, failed (exit code), timed out, cancelled"
                  : "task states, then check and tabulate DIR/runs.jsonl; writes DIR/slurm/status.json");
    sub->add_option("DIR", s.observe.dir, "results directory")->required();
    sub->add_option("--jobs", s.observe.jobs, "also these job ids (comma-separated), e.g. jobs submitted by hand");
    sub->add_option("--jobcomp", s.observe.jobcomp, "the JobComp file (default: JobCompLoc from scontrol show config)");
    sub->add_flag("--wait", s.wait, "wait until no task is pending or running");
    hk::add_real_option(*sub, "--wait-timeout", s.wait_timeout, 0, 1e7, false, "give up waiting after S seconds")
        ->capture_default_str();
    hk::add_real_option(*sub, "--poll", s.poll, 0.1, 3600, false, "seconds between queue polls")->capture_default_str();
  }
}

CLI::App* add_mark_command(CLI::App& slurm, SlurmState& s) {
  CLI::App* mark_app = slurm.add_subcommand("mark", "");  // hidden: used by the batch scripts
  mark_app->group("");
  mark_app->require_subcommand(1);
  for (const char* what : {"start", "exit"}) {
    CLI::App* sub = mark_app->add_subcommand(what, std::string("write this job's ") + what + " marker");
    sub->add_option("DIR", s.mark_dir, "results directory")->required();
    if (std::string(what) == "start") sub->add_option("--mix", s.mix, "what the job runs (default NTASKSxCPUS)");
    else hk::add_int_option(*sub, "--exit-code", s.exit_code, 0, 255, "the job's exit status")->required();
  }
  return mark_app;
}

std::function<int()> setup_slurm(CLI::App& slurm) {
  auto s = std::make_shared<SlurmState>();
  slurm.require_subcommand(1);
  CLI::App* submit = slurm.add_subcommand("submit", "submit a job array, one task per ranks x threads mix");
  submit->require_subcommand(1);
  s->kernels = hk::add_kernel_subcommands(*submit, /*with_threads=*/false);
  hk::add_exec_subcommand(*submit, s->exec);
  for (CLI::App* sub : submit->get_subcommands({})) add_submit_options(*sub, *s);
  add_observe_commands(slurm, *s);
  CLI::App* mark_app = add_mark_command(slurm, *s);
  return [s, &slurm, submit, mark_app] {
    if (submit->parsed()) return submit_command(*s, *submit);
    if (slurm.got_subcommand("status")) return status_command(*s);
    if (slurm.got_subcommand("collect")) return collect_command(*s);
    if (mark_app->parsed()) return mark(*s, mark_app->get_subcommands().front()->get_name());
    return hk::kExitUsage;
  };
}

}  // namespace

HK_REGISTER_COMMAND("slurm", "Slurm job arrays: submit one task per mix; status and collect of a results directory",
                    setup_slurm);
