#include "sweep_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "files.hpp"
#include "hk/errors.hpp"
#include "hk/json_text.hpp"
#include "hk/record_file.hpp"
#include "hk/system.hpp"

namespace hk::pipeline {

namespace fs = std::filesystem;

SweepPaths::SweepPaths(const std::string& directory)
    : dir(directory),
      jsonl((fs::path(directory) / "runs.jsonl").string()),
      csv((fs::path(directory) / "runs.csv").string()),
      sweep_json((fs::path(directory) / "sweep.json").string()),
      work_dir((fs::path(directory) / ".work").string()),
      log_dir((fs::path(directory) / "logs").string()),
      lock((fs::path(directory) / ".lock").string()) {}

std::string SweepPaths::record(const std::string& stem) const { return (fs::path(work_dir) / (stem + ".jsonl")).string(); }
std::string SweepPaths::record_csv(const std::string& stem) const { return (fs::path(work_dir) / (stem + ".csv")).string(); }
std::string SweepPaths::stdout_log(const std::string& stem) const { return (fs::path(log_dir) / (stem + ".out")).string(); }
std::string SweepPaths::stderr_log(const std::string& stem) const { return (fs::path(log_dir) / (stem + ".err")).string(); }

namespace {

void create_directory(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error || !fs::is_directory(dir))
    throw UsageError(fmt::format("--out: cannot create the directory '{}': {}", dir,
                                 error ? error.message() : "a file of that name is in the way"));
}

// A record file we may not append to is found now, not after the first configuration.
void check_appendable(const std::string& path) {
  if (const std::string problem = append_problem(path); !problem.empty())
    throw UsageError(fmt::format("--out: {}; nothing was run", problem));
}

}  // namespace

SweepLock::SweepLock(const SweepPaths& paths) {
  create_directory(paths.dir);
  fd_ = open(paths.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw UsageError(fmt::format("--out: cannot write in '{}': {}", paths.dir, std::strerror(errno)));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string holder = first_line(read_file_tail(paths.lock, 4096));
    close(fd_);
    fd_ = -1;
    throw UsageError(fmt::format("--out: '{}' is in use by another hk sweep ({}); wait for it to finish or give "
                                 "another directory",
                                 paths.dir, holder.empty() ? "its lock is held" : holder));
  }
  const std::string holder = fmt::format("pid {} on {}, started {}\n", getpid(), host_name(), utc_timestamp());
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, holder.data(), holder.size(), 0) < 0) { /* the lock holds anyway */ }
  try {
    for (const auto& path : {paths.jsonl, paths.csv, paths.sweep_json}) check_appendable(path);
    create_directory(paths.work_dir);
    create_directory(paths.log_dir);
  } catch (...) {
    close(fd_);
    throw;
  }
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

void write_sweep_json(const SweepPaths& paths, const nlohmann::json& document) {
  write_atomically(paths.sweep_json, json_text(document, 2) + "\n");
}

}  // namespace hk::pipeline
