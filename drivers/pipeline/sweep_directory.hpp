#pragma once
// A sweep's results directory: DIR/runs.jsonl and runs.csv (one line per finished
// configuration), sweep.json (what was asked, the machine, the summary), logs/ (each launch's
// stdout and stderr), .work/ (the record hk-kernel writes before the finisher appends it), and
// DIR/.lock, held (flock) by the hk sweep writing DIR for its whole life.
#include <nlohmann/json.hpp>
#include <string>

namespace hk::pipeline {

struct SweepPaths {
  explicit SweepPaths(const std::string& dir);
  std::string dir, jsonl, csv, sweep_json, work_dir, log_dir, lock;
  // Per configuration, from its stem "001-montecarlo-pi-2x1": .work/STEM.jsonl, .work/STEM.csv,
  // logs/STEM.out, logs/STEM.err.
  std::string record(const std::string& stem) const;
  std::string record_csv(const std::string& stem) const;
  std::string stdout_log(const std::string& stem) const;
  std::string stderr_log(const std::string& stem) const;
};

// Takes DIR for this sweep: creates it with logs/ and .work/, checks that its record files can be
// written, and locks DIR/.lock until destroyed (the lock goes with the process, even on SIGKILL).
// UsageError (exit 2) when DIR cannot be written or another hk sweep holds it.
class SweepLock {
 public:
  explicit SweepLock(const SweepPaths& paths);
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};

// sweep.json, replaced at once (a reader sees the old or the new one).
void write_sweep_json(const SweepPaths& paths, const nlohmann::json& document);

}  // namespace hk::pipeline
