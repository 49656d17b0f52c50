#include "sweep_runner.hpp"

#include <filesystem>
#include <fmt/format.h>

#include "exec_run.hpp"
#include "executor.hpp"
#include "files.hpp"
#include "hk/system.hpp"

namespace hk::pipeline {

namespace fs = std::filesystem;

int SweepTally::failed() const {
  int n = 0;
  for (const auto& [status, count] : counts)
    if (status != "ok" && status != "skipped_ok") n += count;
  return n;
}

std::string file_stem(std::size_t index, const Configuration& c) {
  return fmt::format("{:03d}-{}-{}-{}{}{}", index + 1, safe_name(c.kernel), safe_name(c.variant), c.run.mix.label(),
                     c.run.nodes > 1 ? fmt::format("-{}n", c.run.nodes) : "",
                     c.run.weak_factor != 1.0 ? fmt::format("-weak{}c", c.run.mix.cores()) : "");
}

namespace {

void remove_work_files(const Configuration& c) {
  std::error_code ignored;
  fs::remove(c.record_path, ignored);
  fs::remove(c.csv_path, ignored);
  if (!c.observe_dir.empty()) fs::remove_all(c.observe_dir, ignored);
}

// Runs one configuration and appends its record. False when a stop signal interrupted it (then
// nothing is recorded: --resume runs it again).
bool run_one(Configuration& c, const SweepPaths& paths, const SweepContext& sweep, Progress& progress,
             SweepTally& tally) {
  if (c.oversubscribed) {
    progress.message(fmt::format("hk sweep: WARNING: {} = {} cores oversubscribes the {} physical core(s): ranks and "
                                 "threads are unbound and its timings are not representative",
                                 c.run.mix.label(), c.run.mix.cores(),
                                 static_cast<long long>(c.spec.cores_per_node) * c.spec.nodes));
  }
  remove_work_files(c);
  const std::string started_at = utc_timestamp();
  ChildLimits limits;
  limits.timeout_s = sweep.timeout_s;
  StopSignals::set_limits(limits);
  limits.on_tick = [&](double elapsed) { progress.running(c.label(), elapsed); };
  progress.running(c.label(), 0);
  const Launched launched = run_configuration(c, ChildIo::to_files(c.stdout_path, c.stderr_path), limits);
  const ChildOutcome& outcome = launched.outcome;
  if (outcome.interrupted) return false;

  Finished finished = finish_launched(c, launched, sweep.timeout_s, started_at, "sweep");
  for (const auto& problem : finished.placement_problems)
    progress.message(fmt::format("hk sweep: WARNING: {}: placement does not match the binding asked for: {}",
                                 c.run.mix.label(), problem));
  finished.record["sweep"] = sweep_block(c, outcome, finished, sweep, c.stdout_path, c.stderr_path);
  // One complete line each, flushed to disk, before the next configuration starts.
  for (const auto& note : append_record(finished.record, paths.jsonl, paths.csv))
    progress.message("hk sweep: WARNING: " + note);
  ++tally.recorded;
  ++tally.counts[finished.verdict.status];
  remove_work_files(c);
  progress.finished(fmt::format("{}: {} (wall {:.1f} s)", c.label(), outcome_line(finished), outcome.seconds),
                    outcome.seconds);
  return true;
}

}  // namespace

SweepTally run_configurations(std::vector<Configuration>& configs, const SweepPaths& paths, const SweepContext& sweep,
                              const std::unordered_set<std::string>& done, Progress& progress) {
  SweepTally tally;
  for (auto& c : configs) {
    if (StopSignals::stop()) break;
    if (done.count(c.key)) {
      ++tally.counts["skipped_ok"];
      progress.finished(c.label() + ": already recorded ok, skipped (--resume)", 0);
      continue;
    }
    if (!run_one(c, paths, sweep, progress, tally)) break;
  }
  tally.interrupted = StopSignals::stop();
  std::error_code ignored;
  fs::remove(paths.work_dir, ignored);  // empty unless a run was interrupted
  return tally;
}

}  // namespace hk::pipeline
