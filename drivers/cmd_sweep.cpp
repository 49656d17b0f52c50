// hk sweep KERNEL|all [kernel options] --out DIR: runs the kernel(s) at every rank x thread mix of
// the core budget (and, with --scaling, at smaller core counts), each configuration its own
// launch in its own process group, and appends one complete record per configuration to
// DIR/runs.jsonl and DIR/runs.csv before the next one starts.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "child.hpp"
#include "command.hpp"
#include "hk/build_info.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "hk/timer.hpp"
#include "mix_options.hpp"
#include "outcome.hpp"
#include "plan.hpp"
#include "topology.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using hk::sweep::Mix;

struct SweepState {
  std::string mixes_text;
  std::string scaling_text = "none";
  double timeout_s = 0;
  bool resume = false;
  hk::LaunchOptions launch;
  hk::CommonOptions all_common;  // options of `hk sweep all` (only the common ones apply to every kernel)
  std::unique_ptr<hk::KernelCli> kernels;
};

// One configuration to launch.
struct Config {
  std::string kernel;
  std::string variant;
  json params;
  std::vector<std::string> args;  // kernel options for hk-kernel (without --threads/--out)
  hk::sweep::PlannedRun run;
  std::string key;
  hk::LaunchCommand command;
  std::string record_path, csv_path, stdout_path, stderr_path;
  bool oversubscribed = false;
};

std::atomic<bool> g_stop{false};
volatile sig_atomic_t g_stop_signal = 0;
void request_stop(int signal_number) {
  g_stop_signal = signal_number;
  g_stop = true;
}

// The command line as typed (for sweep.json and the resume hint): /proc/self/cmdline.
std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> words;
  std::string word;
  while (std::getline(in, word, '\0')) words.push_back(word);
  return words;
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + hk::shell_quote(w);
  return line;
}

// Parses `args` with the kernel's own command line, in-process, so the variant and params (and
// hence the resume key) are exactly those hk-kernel will record.
struct Described {
  std::string variant;
  json params;
  std::vector<std::string> weak_args;
};
Described describe(const std::string& kernel, const std::vector<std::string>& args, double weak_factor) {
  auto cli = hk::make_kernel_cli("hk-kernel");
  std::vector<std::string> words = {"hk-kernel", kernel};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  try {
    cli->app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    throw hk::UsageError(fmt::format("{}: {}", kernel, e.what()));
  }
  hk::Kernel* selected = cli->selected();
  selected->check_options();
  Described d{selected->variant(), selected->params(), {}};
  if (weak_factor != 1.0) d.weak_args = selected->weak_scaling_args(weak_factor);
  return d;
}

// Kernel options with `overrides` ("--name value" pairs or "--name=value") replacing the same names.
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

std::string safe_name(const std::string& text) {
  std::string name = text;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return name;
}

std::string first_line_of(const std::string& shell_command) {
  std::string line;
  if (FILE* pipe = popen(shell_command.c_str(), "r")) {
    char buffer[512];
    if (fgets(buffer, sizeof buffer, pipe)) line = buffer;
    pclose(pipe);
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

void write_json_atomically(const std::string& path, const json& value) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << value.dump(2) << "\n";
    out.flush();
    if (!out) throw hk::RuntimeError(fmt::format("cannot write '{}'", temporary));
  }
  fs::rename(temporary, path);
}

std::string clock_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  return s >= 3600 ? fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02d}", s / 60, s % 60);
}

// Progress: a redrawn bar on a terminal, one plain line per finished run otherwise.
class Progress {
 public:
  Progress(int total, int already_done) : total_(total), done_(already_done), tty_(isatty(STDERR_FILENO) != 0) {}

  void running(const std::string& what, double elapsed_s) {
    if (!tty_) return;
    const double now = hk::wall_seconds();
    if (now - last_draw_ < 0.2) return;
    last_draw_ = now;
    const int width = 24;
    const int filled = total_ > 0 ? done_ * width / total_ : width;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::string eta = "ETA --:--";
    if (finished_here_ > 0) {
      const double per_run = spent_ / finished_here_;
      eta = "ETA " + clock_text(std::max(0.0, per_run * (total_ - done_) - elapsed_s));
    }
    std::fprintf(stderr, "\r\033[K[%s] %d/%d %s (%s) %s", bar.c_str(), done_, total_, what.c_str(),
                 clock_text(elapsed_s).c_str(), eta.c_str());
    std::fflush(stderr);
  }

  void finished(const std::string& line, double wall_s) {
    ++done_;
    ++finished_here_;
    spent_ += wall_s;
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "hk sweep: [%d/%d] %s\n", done_, total_, line.c_str());
    std::fflush(stderr);
    last_draw_ = 0;
  }

  void message(const std::string& line) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
    last_draw_ = 0;
  }

 private:
  int total_, done_, finished_here_ = 0;
  double spent_ = 0, last_draw_ = 0;
  bool tty_;
};

json failure_record(const Config& c, const hk::CommonOptions& common, int nodes, const std::string& started_at) {
  hk::RecordIdentity identity;
  identity.kernel = c.kernel;
  identity.variant = c.variant;
  identity.params = c.params;
  identity.ranks = c.run.mix.ranks;
  identity.threads = c.run.mix.threads;
  identity.nodes = nodes;
  identity.reps = common.reps;
  identity.warmup = common.warmup;
  identity.seed = common.seed;
  identity.command = c.command.display();
  identity.started_at = started_at;
  return hk::make_record(identity);
}

// The record hk-kernel wrote for this configuration, or null.
json read_own_record(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) return nullptr;
  hk::RecordFile file = hk::read_records(path);
  return file.records.empty() ? json(nullptr) : file.records.back();
}

int run_sweep(SweepState& s, CLI::App& sweep_app) {
  CLI::App* sub = sweep_app.get_subcommands().front();
  const std::string target = sub->get_name();
  const std::vector<std::string> command_line = own_command_line();

  // --out is the sweep's directory here, not hk-kernel's record file.
  const CLI::Option* out_option = sub->get_option("--out");
  if (out_option->count() == 0 || out_option->as<std::string>().empty())
    throw hk::UsageError("--out: hk sweep needs a directory (it writes DIR/runs.jsonl, DIR/runs.csv, DIR/sweep.json)");
  if (sub->get_option("--csv")->count() > 0)
    throw hk::UsageError("--csv: not used by hk sweep (it always writes DIR/runs.csv next to DIR/runs.jsonl)");
  const std::string dir = out_option->as<std::string>();
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw hk::UsageError(fmt::format("--out: '{}' exists and is not a directory", dir));

  const hk::sweep::Scaling scaling = hk::sweep::parse_scaling(s.scaling_text);
  const int cores_per_node = hk::cores_per_node(s.launch);
  const int budget = cores_per_node * s.launch.nodes;
  std::vector<Mix> full_mixes;
  if (!s.mixes_text.empty()) {
    full_mixes = hk::sweep::parse_mixes(s.mixes_text);
  } else {
    for (const Mix& m : hk::sweep::divisor_mixes(budget))
      if (m.ranks % s.launch.nodes == 0) full_mixes.push_back(m);
  }
  const auto planned = hk::sweep::plan_runs(full_mixes, scaling);
  const hk::Topology topology = hk::read_topology();

  // Kernel options: what was given, minus hk's own and the record files (the sweep owns those).
  std::vector<std::string> base_args;
  for (const auto& word : hk::forwarded_args(*sub))
    if (word.rfind("--out=", 0) != 0 && word.rfind("--csv=", 0) != 0) base_args.push_back(word);
  std::vector<std::string> kernel_names;
  if (target == "all") kernel_names = hk::Registry::instance().names();
  else kernel_names = {target};
  // Common options for the failure records (reps, warm-up, seed as given).
  hk::CommonOptions common = s.all_common;
  for (const auto& word : base_args) {
    auto value = [&] { return word.substr(word.find('=') + 1); };
    if (word.rfind("--reps=", 0) == 0) common.reps = std::stoi(value());
    if (word.rfind("--warmup=", 0) == 0) common.warmup = std::stoi(value());
    if (word.rfind("--seed=", 0) == 0) common.seed = std::stoull(value());
  }

  // Every configuration is composed (and so validated) before anything runs.
  const std::string work_dir = (fs::path(dir) / ".work").string();
  const std::string log_dir = (fs::path(dir) / "logs").string();
  std::vector<Config> configs;
  std::vector<std::string> plan_warnings;
  for (const auto& kernel : kernel_names) {
    const Described full = describe(kernel, base_args, 1.0);
    for (const auto& run : planned) {
      Config c;
      c.kernel = kernel;
      c.run = run;
      c.args = base_args;
      if (run.weak_factor != 1.0) {
        const Described scaled = describe(kernel, base_args, run.weak_factor);
        if (scaled.weak_args.empty()) {
          plan_warnings.push_back(fmt::format("{} declares no weak scaling: its {} run at {} core(s) is left out",
                                              kernel, run.mix.label(), run.mix.cores()));
          continue;
        }
        c.args = merge_args(base_args, scaled.weak_args);
      }
      const Described d = run.weak_factor != 1.0 ? describe(kernel, c.args, 1.0) : full;
      c.variant = d.variant;
      c.params = d.params;
      c.key = hk::sweep::resume_key(kernel, c.variant, c.params, run.mix.ranks, run.mix.threads, s.launch.nodes);
      const std::string stem = fmt::format("{:03d}-{}-{}-{}{}", configs.size() + 1, safe_name(kernel),
                                           safe_name(c.variant), run.mix.label(),
                                           run.weak_factor != 1.0 ? fmt::format("-weak{}c", run.mix.cores()) : "");
      c.record_path = (fs::path(work_dir) / (stem + ".jsonl")).string();
      c.csv_path = (fs::path(work_dir) / (stem + ".csv")).string();
      c.stdout_path = (fs::path(log_dir) / (stem + ".out")).string();
      c.stderr_path = (fs::path(log_dir) / (stem + ".err")).string();
      hk::LaunchSpec spec;
      spec.ranks = run.mix.ranks;
      spec.threads = run.mix.threads;
      spec.nodes = s.launch.nodes;
      spec.cores_per_node = cores_per_node;
      // Allowed to oversubscribe a budget beyond this machine's cores (local mpirun): compose the
      // unbound launch for the real core count, since a bound one cannot be placed.
      if (s.launch.oversubscribe && s.launch.launcher == "mpirun" && s.launch.nodes == 1)
        spec.cores_per_node = std::min(cores_per_node, topology.cores);
      spec.oversubscribe = s.launch.oversubscribe;
      spec.launcher = s.launch.launcher;
      spec.launcher_path = s.launch.launcher_path;
      spec.kernel_exe = s.launch.kernel_exe;
      spec.kernel = kernel;
      spec.kernel_args = c.args;
      spec.kernel_args.push_back("--out=" + c.record_path);
      spec.kernel_args.push_back("--csv=" + c.csv_path);
      try {
        c.command = hk::compose_launch(spec);
      } catch (const hk::UsageError& e) {
        throw hk::UsageError(fmt::format("mix {}: {}", run.mix.label(), e.what()));
      }
      // Beyond the budget asked for, or beyond the cores hwloc sees on this machine (local runs).
      c.oversubscribed = hk::oversubscribed(spec) ||
                         (s.launch.launcher == "mpirun" && s.launch.nodes == 1 && run.mix.cores() > topology.cores);
      configs.push_back(std::move(c));
    }
  }

  Progress progress(static_cast<int>(configs.size()), 0);
  for (const auto& w : plan_warnings) progress.message("hk sweep: WARNING: " + w);
  if (s.launch.dry_run) {
    for (const auto& c : configs) std::cout << c.command.display() << "\n";
    std::cout << std::flush;
    return hk::kExitOk;
  }

  fs::create_directories(work_dir);
  fs::create_directories(log_dir);
  const std::string jsonl = (fs::path(dir) / "runs.jsonl").string();
  const std::string csv = (fs::path(dir) / "runs.csv").string();
  for (const auto& path : {jsonl, csv}) {
    if (const std::size_t cut = hk::repair_partial_tail(path); cut > 0)
      progress.message(fmt::format("hk sweep: WARNING: removed a partial last line ({} bytes) from {}", cut, path));
  }
  std::vector<std::string> read_errors;
  const auto done_keys = s.resume ? hk::sweep::ok_keys(jsonl, &read_errors) : std::unordered_set<std::string>{};
  for (const auto& e : read_errors) progress.message("hk sweep: WARNING: " + e);

  const std::string started_at = hk::utc_timestamp();
  const std::string launcher_version =
      first_line_of(hk::shell_quote(s.launch.launcher_path.empty() ? s.launch.launcher : s.launch.launcher_path) +
                    " --version 2>/dev/null");
  json kernels_json = json::array();
  for (const auto& kernel : kernel_names) {
    const Described d = describe(kernel, base_args, 1.0);
    kernels_json.push_back({{"kernel", kernel}, {"variant", d.variant}, {"params", d.params}});
  }
  json mixes_json = json::array();
  for (const auto& m : full_mixes) mixes_json.push_back(m.label());
  json sweep_json = {
      {"schema", "hybridkit.sweep/1"},
      {"command", join_quoted(command_line)},
      {"started_at", started_at},
      {"finished_at", nullptr},
      {"state", "running"},
      {"resume", s.resume},
      {"machine", hk::topology_json(topology)},
      {"versions",
       {{"hybridkit", hk::build::version},
        {"git_sha", hk::build::git_sha},
        {"compiler", hk::build::compiler},
        {"flags", hk::build::flags},
        {"build_type", hk::build::build_type},
        {"launcher", launcher_version}}},
      {"budget_cores", budget},
      {"nodes", s.launch.nodes},
      {"launcher", s.launch.launcher},
      {"scaling", hk::sweep::scaling_name(scaling)},
      {"family_definition",
       "family T = T threads per rank at full size: 1 x c while c < T, then (c/T) x T; all start at 1 x 1"},
      {"mixes", mixes_json},
      {"timeout_s", s.timeout_s},
      {"kernels", kernels_json},
      {"configurations", configs.size()},
      {"summary", json::object()},
  };
  sweep_json["machine"]["hostname"] = hk::host_name();
  const std::string sweep_json_path = (fs::path(dir) / "sweep.json").string();
  write_json_atomically(sweep_json_path, sweep_json);

  struct sigaction stop_action {}, old_int{}, old_term{};
  stop_action.sa_handler = request_stop;
  sigemptyset(&stop_action.sa_mask);
  sigaction(SIGINT, &stop_action, &old_int);
  sigaction(SIGTERM, &stop_action, &old_term);

  std::map<std::string, int> counts;
  int recorded = 0;
  for (std::size_t i = 0; i < configs.size() && !g_stop; ++i) {
    Config& c = configs[i];
    const std::string what = fmt::format("{} [{}] {}{}", c.kernel, c.variant, c.run.mix.label(),
                                         c.run.weak_factor != 1.0 ? fmt::format(" (weak, x{:.3g})", c.run.weak_factor)
                                                                  : "");
    if (done_keys.count(c.key)) {
      ++counts["skipped_ok"];
      progress.finished(what + ": already recorded ok, skipped (--resume)", 0);
      continue;
    }
    if (c.oversubscribed) {
      progress.message(fmt::format("hk sweep: WARNING: {} = {} cores oversubscribes the {} physical core(s): ranks "
                                   "and threads are unbound and its timings are not representative",
                                   c.run.mix.label(), c.run.mix.cores(), topology.cores));
    }
    std::error_code ignored;
    fs::remove(c.record_path, ignored);
    fs::remove(c.csv_path, ignored);
    const std::string config_started = hk::utc_timestamp();
    hk::sweep::ChildLimits limits;
    limits.timeout_s = s.timeout_s;
    limits.stop = &g_stop;
    limits.on_tick = [&](double elapsed) { progress.running(what, elapsed); };
    progress.running(what, 0);
    const hk::sweep::ChildOutcome outcome = hk::sweep::run_in_group(c.command, c.stdout_path, c.stderr_path, limits);
    if (outcome.interrupted) break;  // not finished: not recorded, rerun by --resume

    json record = read_own_record(c.record_path);
    const std::string tail = hk::sweep::tail_lines(c.stderr_path, 8);
    const auto verdict = hk::sweep::classify(outcome, record, tail, s.timeout_s);
    if (!record.is_object()) record = failure_record(c, common, s.launch.nodes, config_started);
    record["status"] = verdict.status;
    if (!verdict.error.empty()) record["error"] = verdict.error;
    std::vector<std::string> mismatches =
        verdict.status == "ok" ? hk::sweep::placement_mismatches(record["placement"], !c.oversubscribed)
                               : std::vector<std::string>{};
    if (c.oversubscribed)
      record["warnings"].push_back(fmt::format("sweep: mix {} oversubscribes the {} physical core(s)",
                                               c.run.mix.label(), topology.cores));
    for (const auto& m : mismatches) {
      record["warnings"].push_back("sweep: placement does not match the binding asked for: " + m);
      progress.message("hk sweep: WARNING: " + c.run.mix.label() + ": placement does not match the binding asked "
                       "for: " + m);
    }
    json families = json::array();
    for (int f : c.run.families) families.push_back(f);
    record["sweep"] = {{"scaling", hk::sweep::scaling_name(scaling)},
                       {"budget_cores", budget},
                       {"cores", c.run.mix.cores()},
                       {"families", families},
                       {"weak_factor", c.run.weak_factor},
                       {"launcher", s.launch.launcher},
                       {"launch", c.command.display()},
                       {"exit_status", outcome.exited ? json(outcome.exit_status) : json(nullptr)},
                       {"signal", verdict.signal ? json(verdict.signal) : json(nullptr)},
                       {"timeout_s", s.timeout_s},
                       {"wall_s", outcome.seconds},
                       {"oversubscribed", c.oversubscribed},
                       {"placement_ok", mismatches.empty()},
                       {"stdout", c.stdout_path},
                       {"stderr", c.stderr_path},
                       {"key", c.key}};
    // One complete line each, flushed to disk, before the next configuration starts.
    hk::append_record_jsonl(jsonl, record);
    hk::append_record_csv(csv, record);
    ++recorded;
    ++counts[verdict.status];
    fs::remove(c.record_path, ignored);
    fs::remove(c.csv_path, ignored);

    std::string line = fmt::format("{}: {}", what, verdict.status);
    if (verdict.status == "ok") {
      line += fmt::format(", median {:.4g} s", record["time_s"]["median"].get<double>());
      if (!record["rate"]["value"].is_null())
        line += fmt::format(", {:.4g} {}", record["rate"]["value"].get<double>(),
                            record["rate"]["unit"].get<std::string>());
    } else {
      std::string why = verdict.error;
      std::replace(why.begin(), why.end(), '\n', ' ');
      line += " — " + (why.size() > 240 ? why.substr(0, 240) + "..." : why);
    }
    line += fmt::format(" (wall {:.1f} s)", outcome.seconds);
    progress.finished(line, outcome.seconds);
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  std::error_code ignored;
  fs::remove(work_dir, ignored);  // empty unless a run was interrupted

  const bool interrupted = g_stop.load();
  int failed = 0;
  for (const auto& [status, n] : counts)
    if (status != "ok" && status != "skipped_ok") failed += n;
  sweep_json["finished_at"] = hk::utc_timestamp();
  sweep_json["state"] = interrupted ? "interrupted" : "finished";
  sweep_json["summary"] = counts;
  write_json_atomically(sweep_json_path, sweep_json);

  std::string summary;
  for (const auto& [status, n] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, status);
  progress.message(fmt::format("hk sweep: {} of {} configuration(s) done ({}); records in {} and {}", recorded +
                                   counts["skipped_ok"], configs.size(), summary.empty() ? "none" : summary, jsonl, csv));
  if (interrupted) {
    std::vector<std::string> resume = command_line;
    if (std::find(resume.begin(), resume.end(), "--resume") == resume.end()) resume.push_back("--resume");
    progress.message(fmt::format("hk sweep: interrupted by {}; the running configuration was killed, finished ones "
                                 "are kept. Resume with:\n  {}",
                                 g_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT", join_quoted(resume)));
    return 128 + (g_stop_signal ? static_cast<int>(g_stop_signal) : SIGINT);
  }
  if (failed > 0) {
    progress.message(fmt::format("hk sweep: {} configuration(s) not ok; see the error field in {}", failed, jsonl));
    return 1;
  }
  return hk::kExitOk;
}

std::function<int()> setup_sweep(CLI::App& sweep) {
  auto state = std::make_shared<SweepState>();
  sweep.require_subcommand(1);
  state->kernels = hk::add_kernel_subcommands(sweep, /*with_threads=*/false);
  CLI::App* all = sweep.add_subcommand("all", "every registered kernel with its default problem");
  hk::add_common_options(*all, state->all_common, /*with_threads=*/false);
  for (CLI::App* sub : sweep.get_subcommands({})) {
    sub->get_option("--out")->description("directory of the sweep: runs.jsonl, runs.csv, sweep.json, logs/")
        ->type_name("DIR");
    sub->get_option("--csv")->group("");  // hidden: the sweep always writes DIR/runs.csv
    sub->add_option("--mixes", state->mixes_text, "mixes RANKSxTHREADS to run, e.g. 4x1,2x2,1x4")
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
    hk::add_launch_options(*sub, state->launch);
  }
  return [state, &sweep] { return run_sweep(*state, sweep); };
}

HK_REGISTER_COMMAND("sweep",
                    "run a kernel (or all) at every ranks x threads mix of the cores; records to DIR/runs.jsonl",
                    setup_sweep);

}  // namespace
