#pragma once
// hk sweep's executor loop: each configuration in turn, in a process group of its own with the
// time limit (executor.hpp), finished and appended (finisher.hpp) before the next one starts;
// configurations already recorded ok are skipped (--resume); a stop signal ends the loop with the
// running configuration killed and not recorded.
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "configuration.hpp"
#include "finisher.hpp"
#include "progress.hpp"
#include "sweep_directory.hpp"

namespace hk::pipeline {

struct SweepTally {
  std::map<std::string, int> counts;  // by status, plus "skipped_ok"
  int recorded = 0;
  bool interrupted = false;
  int failed() const;  // configurations recorded not ok
};

// The stem of the files of configuration `index` (0-based): "001-montecarlo-pi-2x1".
std::string file_stem(std::size_t index, const Configuration& config);

SweepTally run_configurations(std::vector<Configuration>& configs, const SweepPaths& paths, const SweepContext& sweep,
                              const std::unordered_set<std::string>& done, Progress& progress);

}  // namespace hk::pipeline
