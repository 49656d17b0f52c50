#pragma once
// Starting a helper program from hk probe (mpirun + hk-probe-mpi, a Python interpreter + the
// Python probe script) with a time limit, and the scratch directory its files go to.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace hk::probe {

struct LaunchResult {
  std::string error;  // empty: it ran and exited 0
  int exit_status = 0;
  double spawn_s = 0;  // CLOCK_MONOTONIC just before posix_spawn
  double wall_s = 0;   // spawn to reaped
};

// Runs argv (PATH search) in its own process group with stdout+stderr in `log`; the whole group
// is killed after `timeout_s`, so a hung launch never hangs the probe. `timeout_option` names the
// option that sets the limit, for the error text.
// `env` is set on top of ours (replacing the same names).
LaunchResult launch_and_wait(const std::vector<std::string>& words, const std::string& log, int timeout_s,
                             const std::string& timeout_option,
                             const std::vector<std::pair<std::string, std::string>>& env = {});

// The first line of a log file that has a letter in it (at most 200 characters), or "no output".
std::string first_message_line(const std::string& path);

// The JSON a helper (`who`) wrote to `path`; RuntimeError naming the helper when it is missing or not JSON.
nlohmann::json read_json(const std::string& path, const std::string& who);

// A private scratch directory under $TMPDIR (else /tmp), removed with everything in it when the
// probe is done. RuntimeError when it cannot be created.
struct ScratchDir {
  std::string path;
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace hk::probe
