#include "exec_run.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

#include "exec_options.hpp"
#include "exec_record.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"
#include "hk/stats.hpp"
#include "hk/system.hpp"
#include "host_topology.hpp"

namespace hk::pipeline {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool executable_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

// A helper of hk: $ENV when set, else the first candidate next to hk (the build tree keeps the
// exec pieces in exec/, an install its library in ../lib/hybridkit).
std::string kit_file(const char* env, const std::vector<fs::path>& candidates, bool need_exec) {
  if (const char* given = std::getenv(env); given && *given) return given;
  for (const auto& path : candidates) {
    std::error_code error;
    if (need_exec ? executable_file(path) : fs::is_regular_file(path, error)) return path.lexically_normal().string();
  }
  return "";
}

fs::path own_directory() { return fs::path(this_executable()).parent_path(); }

// The path of the libmpi `ldd` resolves for `file` ("" when it links none dynamically or ldd fails).
std::string linked_libmpi(const std::string& file) {
  const std::string command = fmt::format("ldd {} 2>/dev/null", shell_quote(file));
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string found;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    const std::string text(line);
    const std::size_t name = text.find("libmpi.so");
    const std::size_t arrow = text.find("=> ");
    if (name == std::string::npos || arrow == std::string::npos || name > arrow) continue;
    std::string path = text.substr(arrow + 3);
    path = path.substr(0, path.find(' '));
    std::error_code error;
    const fs::path real = fs::canonical(path, error);
    found = error ? path : real.string();
  }
  pclose(pipe);
  return found;
}

// --pmpi auto|on|off: the library to preload, or "" and why not.
void choose_pmpi(const ExecOptions& options, ExecProgram& p) {
  if (options.pmpi == "off") {
    p.pmpi_note = "--pmpi off";
    return;
  }
  const fs::path here = own_directory();
  const std::string library = kit_file("HK_PMPI_LIBRARY",
                                       {here / "exec" / "libhk-pmpi.so", here / "libhk-pmpi.so",
                                        here / ".." / "lib" / "hybridkit" / "libhk-pmpi.so"},
                                       /*need_exec=*/false);
  if (library.empty()) {
    if (options.pmpi == "on") throw UsageError("--pmpi on: libhk-pmpi.so is not next to hk (set HK_PMPI_LIBRARY)");
    p.pmpi_note = "libhk-pmpi.so is not installed next to hk";
    return;
  }
  if (options.pmpi == "on") {
    p.pmpi = library;
    return;
  }
  const std::string ours = linked_libmpi(library), theirs = linked_libmpi(p.path);
  if (theirs.empty())
    p.pmpi_note = fmt::format("{} does not link libmpi dynamically (a static binary, a script, another MPI)", p.path);
  else if (theirs != ours)
    p.pmpi_note = fmt::format("{} links {}, libhk-pmpi.so {}", p.path, theirs, ours.empty() ? "no libmpi" : ours);
  else
    p.pmpi = library;
}

std::uintmax_t size_of(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = path.empty() ? 0 : fs::file_size(path, error);
  return error ? 0 : size;
}

void fresh_directory(const std::string& dir) {
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  fs::create_directories(dir);
}

bool launch_ok(const ChildOutcome& o) { return o.exited && o.exit_status == 0 && !o.timed_out && !o.interrupted; }

}  // namespace

void for_each_line(const OutputSlice& slice, const std::function<bool(const std::string&)>& line) {
  if (slice.path.empty()) return;
  std::ifstream in(slice.path, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(slice.offset));
  std::string text;
  char c = 0;
  bool more = true;
  while (more && in.get(c)) {
    if (c != '\n') {
      if (text.size() < kMaxMatchedLineBytes) text += c;
      continue;
    }
    more = line(text);
    text.clear();
  }
  if (more && !text.empty()) line(text);
}

void copy_slice(const OutputSlice& slice, std::ostream& out) {
  if (slice.path.empty()) return;
  std::ifstream in(slice.path, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(slice.offset));
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) out.write(buffer, in.gcount());
  out.flush();
}

ExecProgram exec_program(const ExecOptions& options) {
  if (options.command.empty())
    throw UsageError("--exec: no program after '--' (hk run --exec [options] -- PROGRAM ARGS...)");
  ExecProgram p;
  p.path = exec::resolve_program(options.command.front());
  p.args.assign(options.command.begin() + 1, options.command.end());
  exec::substitute_placeholders(p.args, 1, 1, 1);  // an unknown {placeholder} is refused before anything runs
  p.name = options.name.empty() ? fs::path(p.path).filename().string() : options.name;
  p.sha256 = exec::file_sha256(p.path);
  p.repeat = options.repeat;
  p.success_text = options.success;
  p.fom_text = options.fom;
  if (!options.success.empty()) p.success = exec::success_pattern(options.success);
  if (!options.fom.empty()) p.fom = exec::fom_pattern(options.fom);
  if (options.fom.empty() && (!options.fom_unit.empty() || options.fom_lower_is_better))
    throw UsageError("--fom-unit / --fom-lower-is-better: only with --fom REGEX");
  p.fom_unit = options.fom_unit.empty() ? "FOM" : options.fom_unit;
  p.fom_lower_is_better = options.fom_lower_is_better;
  p.interval_s = options.interval_s;
  const fs::path here = own_directory();
  p.wrapper = kit_file("HK_EXEC_WRAP", {here / "exec" / "hk-exec-wrap", here / "hk-exec-wrap"}, /*need_exec=*/true);
  if (p.wrapper.empty()) throw UsageError("--exec: hk-exec-wrap is not next to hk (set HK_EXEC_WRAP)");
  choose_pmpi(options, p);
  return p;
}

json exec_params(const ExecProgram& p, const std::vector<std::string>& args) {
  return {{"program", p.path}, {"args", args}, {"sha256", p.sha256}};
}

ConfigurationSet make_exec_configurations(const std::shared_ptr<const ExecProgram>& program,
                                          const std::vector<PlannedRun>& runs, const LaunchSettings& settings) {
  ConfigurationSet set;
  set.warnings = settings.warnings;
  if (program->pmpi.empty())
    set.warnings.push_back(fmt::format("exec: MPI time is not measured ({}): the records' phases say unknown",
                                       program->pmpi_note));
  for (const auto& run : runs) {
    const std::vector<std::string> args =
        exec::substitute_placeholders(program->args, run.mix.ranks, run.mix.threads, run.nodes);
    KernelDescription d;
    d.variant = program->name;
    d.params = exec_params(*program, args);
    d.common.reps = program->repeat;
    d.common.warmup = 0;
    d.common.seed = 0;
    try {
      Configuration c = configuration_from("exec", args, run, d, settings);
      c.exec = program;
      c.spec.program_option = "--exec";
      if (!c.straddle_warning.empty() &&
          std::find(set.warnings.begin(), set.warnings.end(), c.straddle_warning) == set.warnings.end())
        set.warnings.push_back(c.straddle_warning);
      set.list.push_back(std::move(c));
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("mix {}: {}", run.mix.label(), e.what()));
    }
  }
  return set;
}

void compose_exec(Configuration& c) {
  const ExecProgram& p = *c.exec;
  c.observe_dir = c.record_path + ".ranks";
  std::vector<std::string> program = {p.wrapper, "--out", c.observe_dir, "--interval", fmt::format("{}", p.interval_s)};
  if (!p.pmpi.empty()) program.insert(program.end(), {"--pmpi", p.pmpi});
  program.push_back("--");
  program.push_back(p.path);
  program.insert(program.end(), c.args.begin(), c.args.end());
  c.spec.program = program;
  c.command = compose_launch(c.spec);
}

Launched run_configuration(const Configuration& c, const ChildIo& io, const ChildLimits& limits,
                           const std::function<void(const Repetition&)>& after_each) {
  Launched launched;
  if (!c.exec) {
    launched.outcome = run_in_group(c.command, io, limits);
    return launched;
  }
  ChildIo each = io;
  each.append = true;
  for (const auto& path : {io.stdout_path, io.stderr_path})
    if (!path.empty()) std::ofstream(path, std::ios::trunc);
  double seconds = 0;
  for (int k = 0; k < c.exec->repeat; ++k) {
    fresh_directory(c.observe_dir);
    const std::uintmax_t out_at = size_of(io.stdout_path), err_at = size_of(io.stderr_path);
    Repetition rep;
    rep.outcome = run_in_group(c.command, each, limits);
    seconds += rep.outcome.seconds;
    exec::RankFiles files = exec::read_rank_files(c.observe_dir);
    rep.ranks = std::move(files.ranks);
    rep.problems = std::move(files.problems);
    rep.stdout_slice = {io.stdout_path, out_at};
    rep.stderr_slice = {io.stderr_path, err_at};
    if (launch_ok(rep.outcome)) rep.check = check_repetition(c, rep);
    launched.reps.push_back(std::move(rep));
    const Repetition& done = launched.reps.back();
    if (after_each) after_each(done);
    if (done.check.status != "ok") break;
  }
  std::error_code ignored;
  fs::remove_all(c.observe_dir, ignored);
  launched.outcome = launched.reps.back().outcome;
  launched.outcome.seconds = seconds;
  return launched;
}

RepetitionCheck check_repetition(const Configuration& c, const Repetition& rep) {
  RepetitionCheck check{"ok", "", std::nullopt};
  const int asked = c.run.mix.ranks;
  auto fail = [&](const char* status, std::string reason) {
    check.status = status;
    check.reason = std::move(reason);
    return check;
  };
  if (!rep.problems.empty()) return fail("error", rep.problems.front());
  if (static_cast<int>(rep.ranks.size()) != asked)
    return fail("error", fmt::format("{} of the {} ranks asked for left an observation (hk-exec-wrap)", rep.ranks.size(),
                                     asked));
  std::set<int> ids;
  for (const auto& rank : rep.ranks) {
    const json world = rank.value("world_size", json());
    if (world.is_number_integer() && world.get<int>() != asked)
      return fail("error", fmt::format("the launcher made a world of {} ranks ({}); {} were asked for", world.get<int>(),
                                       rank.value("rank_source", "?"), asked));
    const json mpi = rank.value("mpi", json());
    if (mpi.is_object() && mpi.value("size", asked) != asked)
      return fail("error", fmt::format("the program's MPI_COMM_WORLD has {} ranks; {} were asked for (an MPI library "
                                       "other than the launcher's starts singletons)",
                                       mpi.value("size", -1), asked));
    if (rank.value("rank", json()).is_number_integer()) ids.insert(rank["rank"].get<int>());
  }
  if (static_cast<int>(ids.size()) != asked)
    return fail("error", fmt::format("the wrappers saw {} distinct rank numbers; {} ranks were asked for", ids.size(),
                                     asked));
  // Line by line, stdout then stderr: --success anywhere, the first line the --fom pattern matches.
  const ExecProgram& p = *c.exec;
  bool success_seen = !p.success, fom_line_seen = !p.fom;
  for (const OutputSlice* slice : {&rep.stdout_slice, &rep.stderr_slice}) {
    for_each_line(*slice, [&](const std::string& line) {
      if (!success_seen && re2::RE2::PartialMatch(line, *p.success)) success_seen = true;
      if (!fom_line_seen && re2::RE2::PartialMatch(line, *p.fom)) {
        fom_line_seen = true;
        check.fom = exec::figure_of_merit(line, *p.fom);
      }
      return !(success_seen && fom_line_seen);
    });
  }
  if (!success_seen)
    return fail("verify_failed", fmt::format("--success '{}' did not match the program's output", p.success_text));
  if (p.fom && !check.fom)
    return fail("error", fmt::format("--fom '{}' found no number in the program's output{}", p.fom_text,
                                     fom_line_seen ? " (the first line it matched has no number in its first group)"
                                                   : ""));
  return check;
}

namespace {

json exec_metrics(const ExecProgram& p, const Configuration& c) {
  return {{"name", p.name},
          {"program", p.path},
          {"args", c.args},
          {"args_template", p.args},
          {"sha256", p.sha256},
          {"success", p.success_text.empty() ? json(nullptr) : json(p.success_text)},
          {"fom", p.fom_text.empty() ? json(nullptr) : json(p.fom_text)},
          {"fom_unit", p.fom_text.empty() ? json(nullptr) : json(p.fom_unit)},
          {"fom_lower_is_better", p.fom_lower_is_better},
          {"pmpi", p.pmpi.empty() ? json(nullptr) : json(p.pmpi)},
          {"pmpi_note", p.pmpi_note.empty() ? json(nullptr) : json(p.pmpi_note)},
          {"sample_interval_s", p.interval_s},
          {"wrapper", p.wrapper}};
}

// Each repetition's slowest rank (the launch's time when no rank file says it).
double repetition_seconds(const Repetition& rep) {
  return exec::slowest_wall_s(rep.ranks).value_or(rep.outcome.seconds);
}

}  // namespace

Finished finish_launched(const Configuration& c, const Launched& launched, double timeout_s,
                         const std::string& started_at, const std::string& who) {
  if (!c.exec) return finish(c, launched.outcome, timeout_s, started_at, who);
  const ExecProgram& p = *c.exec;
  Finished f;
  f.record = expected_record(c, started_at);
  // The launch ended as a kernel's would have: timeout, a dead rank or launcher, an exit status.
  f.verdict = classify(launched.outcome, json{{"status", "ok"}}, timeout_s);
  std::vector<double> times;
  json reps = json::array();
  for (const auto& rep : launched.reps) {
    const RepetitionCheck& check = rep.check;
    reps.push_back({{"wall_s", repetition_seconds(rep)},
                    {"launch_s", rep.outcome.seconds},
                    {"exit_status", rep.outcome.exited ? json(rep.outcome.exit_status) : json(nullptr)},
                    {"fom", check.fom ? json(*check.fom) : json(nullptr)}});
    if (check.status == "ok") {
      times.push_back(repetition_seconds(rep));
    } else if (f.verdict.status == "ok" && !check.status.empty()) {
      f.verdict.status = check.status;
      f.verdict.reason = f.verdict.error = fmt::format("repetition {}: {}", reps.size(), check.reason);
    }
  }
  const Repetition& last = launched.reps.back();
  if (!last.ranks.empty()) exec::record_observations(f.record, last.ranks, c.run.mix.ranks, c.run.mix.threads);
  f.record["metrics"]["exec"] = exec_metrics(p, c);
  f.record["metrics"]["repetitions"] = reps;
  if (!p.pmpi_note.empty()) add_warning(f.record, "exec: MPI time not measured: " + p.pmpi_note);
  f.record["verification"]["method"] =
      p.success ? fmt::format("exit status 0 and the output matches --success '{}'", p.success_text)
                : std::string("exit status 0 of every rank (no --success pattern)");
  f.record["verification"]["passed"] = f.verdict.status == "ok" ? json(true)
                                       : f.verdict.status == "verify_failed" ? json(false)
                                                                             : json(nullptr);
  if (f.verdict.status == "ok") {
    f.record["time_s"] = time_json(times);
    const double median = f.record["time_s"]["median"].get<double>();
    if (p.fom) {
      std::vector<double> foms;
      for (const auto& rep : reps) foms.push_back(rep["fom"].get<double>());
      f.record["rate"] = {{"value", summarize(foms).median}, {"unit", p.fom_unit}};
    } else {
      f.record["rate"] = {{"value", median > 0 ? json(1.0 / median) : json(nullptr)}, {"unit", "runs/s"}};
    }
    // The working threads on distinct cores, as for a kernel (helper threads are only recorded).
    json working = json::array();
    for (const auto& entry : f.record["placement"])
      if (!entry.value("helper", false)) working.push_back(entry);
    f.placement_problems = placement_mismatches(working, !c.oversubscribed);
  }
  f.record["status"] = f.verdict.status;
  if (!f.verdict.error.empty()) f.record["error"] = f.verdict.error;
  add_launch_warnings(f, c, who);
  return f;
}

}  // namespace hk::pipeline
