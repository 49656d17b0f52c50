// hk slurm submit|status|collect|mark: job arrays on Slurm, and the state of every task of a
// results directory without sacct.
//
//   hk slurm submit KERNEL [kernel options] --out DIR --mixes 2x1,1x2 [--nodes N] [--partition P]
//                   [--account A] [--time T] [--max-parallel K] [--sbatch-option OPT]... [--dry-run]
//     one array task per mix (logs DIR/slurm/logs/%A_%a.out), each appending its record to
//     DIR/runs.jsonl; the submission is remembered in DIR/slurm/submissions.jsonl.
//   hk slurm status DIR [--jobs ID,...] [--wait [--wait-timeout S]]: every task's state.
//   hk slurm collect DIR [...]: the same, then checks and tabulates DIR/runs.jsonl.
//   hk slurm mark start|exit DIR: used inside the batch scripts (start/exit markers).
//
// Where the states come from: squeue (pending, running), then the JobComp file of
// jobcomp/filetxt (finished: COMPLETED, FAILED + exit code, TIMEOUT, CANCELLED), then the
// markers the scripts write and slurmstepd's "DUE TO TIME LIMIT" line in the job log.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "command.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "hk_slurm/array_template.hpp"
#include "mix_options.hpp"
#include "slurm_state.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Exit statuses of status/collect beyond the shared ones: 1 some task failed, timed out, was
// cancelled or is unknown; 5 tasks still pending or running (none failed yet).
constexpr int kExitNotFinished = 5;

struct SlurmState {
  // submit
  std::unique_ptr<hk::KernelCli> kernels;
  std::string mixes = "2x1,1x2";
  int nodes = 1;
  int cores = 0;
  int max_parallel = 0;
  std::string partition, account, time_limit;
  std::vector<std::string> sbatch_options;
  bool dry_run = false;
  std::set<std::string> own_options;  // hk slurm submit's options (not forwarded to the kernel)
  // status, collect
  std::string dir;
  std::string jobs;
  std::string jobcomp;
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

// Runs argv (no shell interpretation: every word quoted) and returns its exit status and output.
int capture(const std::vector<std::string>& argv, std::string& output, bool with_stderr = true) {
  std::string line;
  for (const auto& word : argv) line += (line.empty() ? "" : " ") + hk::shell_quote(word);
  line += with_stderr ? " 2>&1" : " 2>/dev/null";
  FILE* pipe = popen(line.c_str(), "r");
  if (!pipe) throw hk::RuntimeError(fmt::format("cannot run '{}'", argv.front()));
  output.clear();
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status == -1) return hk::kExitRuntime;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_file(const fs::path& path, std::size_t max_bytes = 1 << 20) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  in.seekg(size > max_bytes ? static_cast<std::streamoff>(size - max_bytes) : 0);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw hk::RuntimeError(fmt::format("cannot write {}", temporary.string()));
  }
  fs::rename(temporary, path);
}

fs::path slurm_dir(const std::string& dir) { return fs::path(dir) / "slurm"; }

std::string this_program_dir() {
  return fs::canonical("/proc/self/exe").parent_path().string();
}

// Slurm's filename patterns as used in our --output options.
std::string expand_log_pattern(std::string pattern, const std::string& array_job, const std::string& task,
                               const std::string& job) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char c = pattern[++i];
    if (c == 'A') out += array_job.empty() ? job : array_job;
    else if (c == 'a') out += task;
    else if (c == 'j') out += job;
    else if (c == '%') out += '%';
    else out += std::string("%") + c;
  }
  return out;
}

// ---------------------------------------------------------------- mark

int mark(SlurmState& s, const std::string& what) {
  const std::string job = env_or("SLURM_JOB_ID");
  if (job.empty()) throw hk::UsageError("hk slurm mark: SLURM_JOB_ID: not set (only for use inside a Slurm job)");
  const std::string array_job = env_or("SLURM_ARRAY_JOB_ID");
  const std::string array_task = env_or("SLURM_ARRAY_TASK_ID");
  const std::string key = array_job.empty() ? job : hk::slurm::task_key(array_job, array_task);
  const fs::path tasks = slurm_dir(s.mark_dir) / "tasks";
  fs::create_directories(tasks);
  json marker = {{"key", key}, {"job_id", job}, {"time", hk::utc_timestamp()}};
  if (what == "start") {
    std::string mix = s.mix;
    if (mix.empty())
      mix = fmt::format("{}x{}", env_or("SLURM_NTASKS", "1"), env_or("SLURM_CPUS_PER_TASK", "1"));
    std::string log;
    std::string shown;
    if (capture({"scontrol", "show", "job", "-o", job}, shown, false) == 0) {
      const auto at = shown.find("StdOut=");
      if (at != std::string::npos) {
        log = shown.substr(at + 7, shown.find_first_of(" \n", at) - at - 7);
        log = expand_log_pattern(log, array_job, array_task, job);
      }
    }
    marker.update({{"array_job_id", array_job},
                   {"array_task_id", array_task},
                   {"name", env_or("SLURM_JOB_NAME")},
                   {"mix", mix},
                   {"nodes", env_or("SLURM_JOB_NUM_NODES", "1")},
                   {"nodelist", env_or("SLURM_JOB_NODELIST")},
                   {"host", hk::host_name()},
                   {"log", log}});
  } else {
    marker["exit_code"] = s.exit_code;
  }
  write_atomically(tasks / (key + "." + what), marker.dump() + "\n");
  return hk::kExitOk;
}

// ---------------------------------------------------------------- status

struct Snapshot {
  std::vector<hk::slurm::TaskStatus> tasks;
  bool queue_ok = true;
  std::string note;  // why a source was not available
};

std::string jobcomp_path(const SlurmState& s, std::string& note) {
  if (!s.jobcomp.empty()) return s.jobcomp;
  const std::string from_env = env_or("HK_SLURM_JOBCOMP");
  if (!from_env.empty()) return from_env;
  std::string config;
  if (capture({"scontrol", "show", "config"}, config, false) != 0) {
    note = "no JobComp file: 'scontrol show config' failed";
    return "";
  }
  std::string type, location;
  std::istringstream lines(config);
  std::string line;
  while (std::getline(lines, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    name.erase(name.find_last_not_of(' ') + 1);
    if (name == "JobCompType") type = line.substr(eq + 3);
    if (name == "JobCompLoc") location = line.substr(eq + 3);
  }
  if (type.find("filetxt") == std::string::npos) {
    note = fmt::format("no JobComp file (JobCompType={}): finished jobs judged by their markers and logs",
                       type.empty() ? "?" : type);
    return "";
  }
  return location;
}

Snapshot gather(const SlurmState& s) {
  Snapshot snap;
  std::map<std::string, hk::slurm::Marker> markers;
  std::map<std::string, std::string> mixes, logs;
  std::vector<std::string> order;
  auto remember = [&](const std::string& key) {
    if (std::find(order.begin(), order.end(), key) == order.end()) order.push_back(key);
  };
  const fs::path dir = slurm_dir(s.dir);
  // Array submissions: every task is known from the moment it was submitted.
  const hk::RecordFile submissions = hk::read_records((dir / "submissions.jsonl").string());
  hk::warn_about_skipped_lines(submissions, "hk slurm");
  for (const auto& submission : submissions.records) {
    const std::string job = submission.value("job", "");
    const auto& task_mixes = submission.at("mixes");
    for (std::size_t i = 0; i < task_mixes.size(); ++i) {
      const std::string key = hk::slurm::task_key(job, std::to_string(i));
      remember(key);
      mixes[key] = task_mixes[i].get<std::string>();
      logs[key] = expand_log_pattern(submission.value("log", ""), job, std::to_string(i), job);
    }
  }
  // Markers: every job that ran one of our scripts.
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir / "tasks", error)) {
    const std::string name = entry.path().filename().string();
    const bool start = name.size() > 6 && name.ends_with(".start");
    const bool end = name.size() > 5 && name.ends_with(".exit");
    if (!start && !end) continue;
    json data;
    try {
      data = json::parse(read_file(entry.path()));
    } catch (const std::exception&) {
      continue;  // being written
    }
    const std::string key = data.value("key", "");
    if (key.empty()) continue;
    auto& marker = markers[key];
    marker.key = key;
    if (start) {
      marker.started_marked = true;
      marker.mix = data.value("mix", "");
      marker.host = data.value("host", "");
      marker.started = data.value("time", "");
      marker.log = data.value("log", "");
    } else {
      marker.ended_marked = true;
      marker.exit_code = data.value("exit_code", 0);
      marker.ended = data.value("time", "");
    }
  }
  std::vector<std::string> marker_keys;
  for (const auto& [key, marker] : markers) marker_keys.push_back(key);
  std::sort(marker_keys.begin(), marker_keys.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(a.size(), a) < std::make_pair(b.size(), b);
  });
  for (const auto& key : marker_keys) remember(key);
  // Jobs named on the command line (submitted by hand, maybe not started yet).
  std::istringstream requested(s.jobs);
  std::string job;
  while (std::getline(requested, job, ',')) {
    if (job.empty()) continue;
    const bool covered = std::any_of(order.begin(), order.end(),
                                     [&](const std::string& key) { return key == job || key.rfind(job + "_", 0) == 0; });
    if (!covered) remember(job);
  }

  // The queue, for the jobs we know.
  std::set<std::string> job_ids;
  for (const auto& key : order) job_ids.insert(key.substr(0, key.find('_')));
  std::map<std::string, hk::slurm::QueueEntry> queue;
  if (!job_ids.empty()) {
    std::string list;
    for (const auto& id : job_ids) list += (list.empty() ? "" : ",") + id;
    std::string output;
    const int status = capture({"squeue", "-h", "-r", "-a", "-j", list, "-o", "%i|%T|%r|%N"}, output);
    if (status == 0) {
      queue = hk::slurm::parse_squeue(output);
    } else if (output.find("Invalid job id") == std::string::npos) {
      snap.queue_ok = false;
      snap.note = "squeue failed: " + output.substr(0, output.find('\n'));
    }
    // An array whose tasks have not been split off yet shows as "A_[0-3]": expand it.
    for (const auto& [key, entry] : std::map<std::string, hk::slurm::QueueEntry>(queue)) {
      const auto open = key.find("_[");
      if (open == std::string::npos) continue;
      for (const auto& known : order)
        if (known.rfind(key.substr(0, open) + "_", 0) == 0 && !queue.count(known)) queue[known] = entry;
    }
  }
  std::map<std::string, hk::slurm::JobCompEntry> jobcomp;
  std::string jobcomp_note;
  const std::string jobcomp_file = jobcomp_path(s, jobcomp_note);
  if (!jobcomp_file.empty()) jobcomp = hk::slurm::parse_jobcomp(read_file(jobcomp_file, 64 << 20));
  if (!jobcomp_note.empty()) snap.note += (snap.note.empty() ? "" : "; ") + jobcomp_note;

  for (const auto& key : order) {
    const auto q = queue.find(key);
    const auto c = jobcomp.find(key);
    const auto m = markers.find(key);
    const hk::slurm::Marker* marker = m == markers.end() ? nullptr : &m->second;
    std::string log = marker && !marker->log.empty() ? marker->log : logs[key];
    const bool need_log = q == queue.end() && c == jobcomp.end();
    auto status = hk::slurm::classify(key, q == queue.end() ? nullptr : &q->second, snap.queue_ok,
                                      c == jobcomp.end() ? nullptr : &c->second, marker,
                                      need_log && !log.empty() ? read_file(log, 1 << 16) : "");
    if (status.mix.empty()) status.mix = mixes.count(key) ? mixes[key] : "?";
    if (status.log.empty()) status.log = log;
    snap.tasks.push_back(status);
  }
  return snap;
}

void print_snapshot(const std::string& dir, const Snapshot& snap) {
  std::map<std::string, int> counts;
  for (const auto& task : snap.tasks) ++counts[hk::slurm::state_name(task.state)];
  std::string summary;
  for (const auto& [name, count] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, name);
  std::cout << fmt::format("hk slurm: {}: {} task(s): {}\n", dir, snap.tasks.size(), summary);
  std::cout << fmt::format("  {:<12} {:<8} {:<10} {:>4}  {}\n", "TASK", "MIX", "STATE", "EXIT", "DETAIL / LOG");
  for (const auto& t : snap.tasks) {
    std::cout << fmt::format("  {:<12} {:<8} {:<10} {:>4}  {}{}\n", t.key, t.mix, hk::slurm::state_name(t.state),
                             t.exit_code ? std::to_string(*t.exit_code) : "-", t.detail,
                             t.log.empty() ? "" : "  [" + t.log + "]");
  }
  if (!snap.note.empty()) std::cout << "  note: " << snap.note << "\n";
  std::cout << std::flush;
}

int verdict(const Snapshot& snap) {
  bool pending = false, bad = false;
  for (const auto& t : snap.tasks) {
    if (!hk::slurm::finished(t.state)) pending = true;
    else if (t.state != hk::slurm::State::ok) bad = true;
  }
  return bad ? hk::kExitVerifyFailed : pending ? kExitNotFinished : hk::kExitOk;
}

Snapshot observe(const SlurmState& s) {
  if (!fs::is_directory(s.dir))
    throw hk::UsageError(fmt::format("DIR: '{}' is not a directory (the --out of hk slurm submit or HK_OUT)", s.dir));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(s.wait_timeout);
  for (;;) {
    Snapshot snap = gather(s);
    if (snap.tasks.empty())
      throw hk::UsageError(fmt::format(
          "DIR: no Slurm jobs known under '{}' (none submitted with hk slurm submit, none started by "
          "slurm/*.sbatch yet; name jobs submitted by hand with --jobs ID,...)",
          s.dir));
    const bool all_done = snap.queue_ok && std::all_of(snap.tasks.begin(), snap.tasks.end(), [](const auto& t) {
      return hk::slurm::finished(t.state);
    });
    if (!s.wait || all_done || std::chrono::steady_clock::now() >= deadline) {
      if (s.wait && !all_done) snap.note += (snap.note.empty() ? "" : "; ") + fmt::format(
                                                "--wait-timeout {} s reached", s.wait_timeout);
      return snap;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(s.poll));
  }
}

int status_command(const SlurmState& s) {
  const Snapshot snap = observe(s);
  print_snapshot(s.dir, snap);
  return verdict(snap);
}

// ---------------------------------------------------------------- collect

int collect_command(const SlurmState& s) {
  const Snapshot snap = observe(s);
  print_snapshot(s.dir, snap);
  int result = verdict(snap);

  json states = json::array();
  for (const auto& t : snap.tasks) {
    json entry = {{"task", t.key}, {"mix", t.mix}, {"state", hk::slurm::state_name(t.state)},
                  {"detail", t.detail}, {"log", t.log}};
    entry["exit_code"] = t.exit_code ? json(*t.exit_code) : json(nullptr);
    states.push_back(entry);
  }
  write_atomically(slurm_dir(s.dir) / "status.json", states.dump(2) + "\n");

  const std::string runs = (fs::path(s.dir) / "runs.jsonl").string();
  const hk::RecordFile file = hk::read_records(runs);
  int problems = 0;
  for (const auto& error : file.errors) {
    std::cout << "  record error: " << error << "\n";
    ++problems;
  }
  std::cout << fmt::format("records in {}: {}\n", runs, file.records.size());
  std::cout << fmt::format("  {:<12} {:<8} {:>5} {:>6}  {:>12}  {:<8} {:<9} {}\n", "KERNEL", "MIX", "NODES", "REPS",
                           "MEDIAN [s]", "STATUS", "VERIFIED", "HOSTS");
  std::multiset<std::string> recorded_mixes;
  for (const auto& record : file.records) {
    const std::string mix = fmt::format("{}x{}", record.value("ranks", 0), record.value("threads", 0));
    std::set<std::string> hosts;
    for (const auto& p : record.value("placement", json::array())) hosts.insert(p.value("host", "?"));
    std::string host_list;
    for (const auto& h : hosts) host_list += (host_list.empty() ? "" : ",") + h;
    const json& median = record["time_s"]["median"];
    const bool verified = hk::true_field(record, "verification.passed");
    const std::string status = record.value("status", "?");
    std::cout << fmt::format("  {:<12} {:<8} {:>5} {:>6}  {:>12}  {:<8} {:<9} {}\n", record.value("kernel", "?"), mix,
                             record.value("nodes", 0), record.value("reps", 0),
                             median.is_number() ? fmt::format("{:.6f}", median.get<double>()) : "-", status,
                             verified ? "yes" : "NO", host_list);
    if (status != "ok" || !verified) ++problems;
    if (status == "ok") recorded_mixes.insert(mix);
  }
  // Every task that ended ok ran one mix and must have left its record.
  for (const auto& t : snap.tasks) {
    if (t.state != hk::slurm::State::ok || t.mix.find('x') == std::string::npos || t.mix == "?") continue;
    const auto found = recorded_mixes.find(t.mix);
    if (found == recorded_mixes.end()) {
      std::cout << fmt::format("  task {} ({}) ended ok but left no ok record\n", t.key, t.mix);
      ++problems;
    } else {
      recorded_mixes.erase(found);
    }
  }
  std::cout << fmt::format("collect: {} problem(s); task states in {}; records as CSV in {}\n", problems,
                           (slurm_dir(s.dir) / "status.json").string(), hk::csv_path_for(runs));
  if (problems > 0 && result != hk::kExitVerifyFailed) result = hk::kExitVerifyFailed;
  return result;
}

// ---------------------------------------------------------------- submit

int submit_command(SlurmState& s, CLI::App& submit) {
  CLI::App* sub = submit.get_subcommands().front();
  const std::string kernel_name = sub->get_name();
  for (const auto& [name, kernel] : s.kernels->kernels)
    if (name == kernel_name) kernel->check_options();
  const CLI::Option* out_option = sub->get_option("--out");
  if (out_option->count() == 0)
    throw hk::UsageError("--out: required: the results directory (records go to DIR/runs.jsonl)");
  const fs::path out = fs::absolute(out_option->as<std::string>()).lexically_normal();
  const auto mixes = hk::slurm::parse_mixes(s.mixes);
  for (const auto& [ranks, threads] : mixes) {
    if (ranks % s.nodes != 0)
      throw hk::UsageError(fmt::format("--mixes: {}x{}: the ranks must be a multiple of --nodes {}", ranks, threads,
                                       s.nodes));
    if (s.cores > 0 && static_cast<long long>(ranks) * threads > static_cast<long long>(s.cores) * s.nodes)
      throw hk::UsageError(fmt::format("--mixes: {}x{} needs {} cores, but --nodes {} x --cores {} = {}", ranks,
                                       threads, ranks * threads, s.nodes, s.cores, s.nodes * s.cores));
  }
  if (!s.time_limit.empty() && !hk::slurm::valid_time_limit(s.time_limit))
    throw hk::UsageError(fmt::format(
        "--time: must be a Slurm time limit: MINUTES, M:S, H:M:S, D-H, D-H:M or D-H:M:S (got '{}')", s.time_limit));
  // The records go where the array says, not to the kernel's own --out/--csv.
  std::vector<std::string> kernel_args;
  for (const auto& arg : hk::forwarded_args(*sub)) {
    const std::string name = arg.substr(0, arg.find('='));
    if (!s.own_options.count(name) && name != "--out" && name != "--csv") kernel_args.push_back(arg);
  }

  const fs::path dir = out / "slurm";
  int index = 1;
  while (fs::exists(dir / fmt::format("array-{}.tasks", index))) ++index;
  const fs::path tasks = dir / fmt::format("array-{}.tasks", index);
  const fs::path script = dir / fmt::format("array-{}.sbatch", index);
  const std::string log_pattern = (dir / "logs" / "%A_%a.out").string();

  hk::LaunchCommand sbatch;
  sbatch.env = {{"HK_BIN", this_program_dir()}, {"HK_OUT", out.string()}};
  auto& a = sbatch.argv;
  a = {"sbatch", "--parsable",
       fmt::format("--array=0-{}{}", mixes.size() - 1, s.max_parallel > 0 ? "%" + std::to_string(s.max_parallel) : ""),
       "--exclusive", fmt::format("--nodes={}", s.nodes), "--job-name=hk-" + kernel_name, "--output=" + log_pattern};
  if (!s.partition.empty()) a.push_back("--partition=" + s.partition);
  if (!s.account.empty()) a.push_back("--account=" + s.account);
  if (!s.time_limit.empty()) a.push_back("--time=" + s.time_limit);
  a.insert(a.end(), s.sbatch_options.begin(), s.sbatch_options.end());
  a.insert(a.end(), {script.string(), tasks.string(), kernel_name});
  a.insert(a.end(), kernel_args.begin(), kernel_args.end());
  std::cout << "hk: " << sbatch.display() << "\n";
  std::string mix_list;
  for (std::size_t i = 0; i < mixes.size(); ++i)
    mix_list += fmt::format("  task {}: {}x{}\n", i, mixes[i].first, mixes[i].second);
  std::cout << mix_list << std::flush;
  if (s.dry_run) return hk::kExitOk;

  fs::create_directories(dir / "logs");
  fs::create_directories(dir / "tasks");
  std::string table;
  json mix_names = json::array();
  for (const auto& [ranks, threads] : mixes) {
    table += fmt::format("{} {}\n", ranks, threads);
    mix_names.push_back(fmt::format("{}x{}", ranks, threads));
  }
  write_atomically(tasks, table);
  write_atomically(script, hk::slurm::kArraySbatch);
  fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);

  // sbatch with our environment plus HK_BIN/HK_OUT (exported to the job: --export=ALL default).
  for (const auto& [name, value] : sbatch.env) setenv(name.c_str(), value.c_str(), 1);
  std::string output;
  const int status = capture(sbatch.argv, output);
  if (status != 0) {
    std::cerr << output;
    throw hk::RuntimeError(fmt::format("sbatch failed with exit status {}", status));
  }
  // --parsable: "JOBID" or "JOBID;CLUSTER" (the last line; warnings may come first).
  std::string line, last;
  std::istringstream lines(output);
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  const std::string job = last.substr(0, last.find(';'));
  if (job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw hk::RuntimeError(fmt::format("sbatch printed no job id: {}", output));
  const json submission = {{"job", job},
                           {"kernel", kernel_name},
                           {"args", kernel_args},
                           {"mixes", mix_names},
                           {"nodes", s.nodes},
                           {"log", log_pattern},
                           {"tasks_file", tasks.string()},
                           {"script", script.string()},
                           {"submitted", hk::utc_timestamp()},
                           {"command", sbatch.display()}};
  hk::append_line((dir / "submissions.jsonl").string(), submission.dump() + "\n");
  std::cout << fmt::format("hk: submitted array job {} ({} task(s)); logs {}; follow with: hk slurm status {}\n", job,
                           mixes.size(), log_pattern, out.string());
  return hk::kExitOk;
}

// Adds an option unless the kernel already has one of that name (its own then wins).
template <typename Add>
void add_if_free(CLI::App& app, std::set<std::string>& owned, const std::string& name, Add add) {
  if (app.get_option_no_throw(name) == nullptr) {
    add();
    owned.insert(name);
  }
}

std::function<int()> setup_slurm(CLI::App& slurm) {
  auto s = std::make_shared<SlurmState>();
  slurm.require_subcommand(1);

  CLI::App* submit = slurm.add_subcommand("submit", "submit a job array, one task per ranks x threads mix");
  submit->require_subcommand(1);
  s->kernels = hk::add_kernel_subcommands(*submit, /*with_threads=*/false);
  for (CLI::App* sub : submit->get_subcommands({})) {
    auto& app = *sub;
    add_if_free(app, s->own_options, "--mixes", [&] {
      app.add_option("--mixes", s->mixes, "RANKSxTHREADS list, one array task each")->capture_default_str()->group(
          "Slurm");
    });
    add_if_free(app, s->own_options, "--nodes", [&] {
      hk::add_int_option(app, "--nodes", s->nodes, 1, 1 << 16, "nodes per task (ranks spread over them)")
          ->group("Slurm");
    });
    add_if_free(app, s->own_options, "--cores", [&] {
      hk::add_int_option(app, "--cores", s->cores, 1, 1 << 20, "physical cores per node, to check the mixes fit")
          ->group("Slurm");
    });
    add_if_free(app, s->own_options, "--partition", [&] { app.add_option("--partition", s->partition, "sbatch --partition")->group("Slurm"); });
    add_if_free(app, s->own_options, "--account", [&] { app.add_option("--account", s->account, "sbatch --account")->group("Slurm"); });
    add_if_free(app, s->own_options, "--time", [&] {
      app.add_option("--time", s->time_limit, "time limit per task (sbatch --time, e.g. 10 or 1:00:00)")->group("Slurm");
    });
    add_if_free(app, s->own_options, "--max-parallel", [&] {
      hk::add_int_option(app, "--max-parallel", s->max_parallel, 1, 1 << 20, "at most this many tasks at once (%K)")
          ->group("Slurm");
    });
    add_if_free(app, s->own_options, "--sbatch-option", [&] {
      app.add_option("--sbatch-option", s->sbatch_options, "extra sbatch option, e.g. --sbatch-option=--qos=debug")
          ->allow_extra_args(false)
          ->group("Slurm");
    });
    add_if_free(app, s->own_options, "--dry-run", [&] { app.add_flag("--dry-run", s->dry_run, "print the sbatch command only"); });
  }
  for (const char* name : {"status", "collect"}) {
    CLI::App* sub = slurm.add_subcommand(
        name, std::string(name) == "status"
                  ? "state of every task of DIR: pending, running, ok, failed (exit code), timed out, cancelled"
                  : "task states, then check and tabulate DIR/runs.jsonl; writes DIR/slurm/status.json");
    sub->add_option("DIR", s->dir, "results directory")->required();
    sub->add_option("--jobs", s->jobs, "also these job ids (comma-separated), e.g. jobs submitted by hand");
    sub->add_option("--jobcomp", s->jobcomp, "the JobComp file (default: JobCompLoc from scontrol show config)");
    sub->add_flag("--wait", s->wait, "wait until no task is pending or running");
    hk::add_real_option(*sub, "--wait-timeout", s->wait_timeout, 0, 1e7, false, "give up waiting after S seconds")
        ->capture_default_str();
    hk::add_real_option(*sub, "--poll", s->poll, 0.1, 3600, false, "seconds between queue polls")->capture_default_str();
  }
  CLI::App* mark_app = slurm.add_subcommand("mark", "");  // hidden: used by the batch scripts
  mark_app->group("");
  mark_app->require_subcommand(1);
  for (const char* what : {"start", "exit"}) {
    CLI::App* sub = mark_app->add_subcommand(what, std::string("write this job's ") + what + " marker");
    sub->add_option("DIR", s->mark_dir, "results directory")->required();
    if (std::string(what) == "start") sub->add_option("--mix", s->mix, "what the job runs (default NTASKSxCPUS)");
    else hk::add_int_option(*sub, "--exit-code", s->exit_code, 0, 255, "the job's exit status")->required();
  }

  return [s, &slurm, submit, mark_app] {
    if (submit->parsed()) return submit_command(*s, *submit);
    if (slurm.got_subcommand("status")) return status_command(*s);
    if (slurm.got_subcommand("collect")) return collect_command(*s);
    if (mark_app->parsed()) return mark(*s, mark_app->get_subcommands().front()->get_name());
    return hk::kExitUsage;
  };
}

HK_REGISTER_COMMAND("slurm", "Slurm job arrays: submit one task per mix; status and collect of a results directory",
                    setup_slurm);

}  // namespace
