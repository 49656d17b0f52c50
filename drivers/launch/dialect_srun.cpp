// Slurm's srun (--mpi= the plugin choose_srun_mpi picked): one task per rank with T CPUs each,
// bound to cores (--cpu-bind=cores), or unbound and overcommitted when oversubscribed. With the node's topology (--topology): the
// layout's words (topology/binding.hpp: consecutive cores, or one CPU mask per rank when the
// layout leaves gaps). srun passes our whole environment to the tasks.
#include <fmt/format.h>

#include <sstream>

#include "binding.hpp"
#include "dialect.hpp"
#include "files.hpp"

namespace hk {

namespace {

class SrunDialect : public LaunchDialect {
 public:
  std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                          const Environment&) const override {
    std::vector<std::string> words = {launcher_executable(spec), "--mpi=" + spec.srun_mpi, fmt::format("--nodes={}", spec.nodes),
                                      fmt::format("--ntasks={}", spec.ranks)};
    if (placement.layout) {
      const auto binding = topology::srun_binding(*placement.layout).args();
      words.insert(words.end(), binding.begin(), binding.end());
      return words;
    }
    const bool threads = spec.cpus == topology::CpuUnit::hwthreads;
    words.push_back(fmt::format("--cpus-per-task={}", placement.threads_per_rank));
    words.push_back(!placement.bound ? "--cpu-bind=none" : threads ? "--cpu-bind=threads" : "--cpu-bind=cores");
    if (!placement.bound) words.push_back("--overcommit");
    return words;
  }
};

}  // namespace

std::vector<std::string> srun_mpi_plugins(const LaunchSpec& spec) {
  const std::string srun = find_executable(launcher_executable(spec));
  std::vector<std::string> plugins;
  if (srun.empty()) return plugins;
  std::string output;
  if (capture({srun, "--mpi=list"}, output, /*with_stderr=*/true) != 0) return plugins;
  // "MPI plugin types are...\n\tnone\n\tpmi2\n\tpmix\nspecific pmix plugin versions available: pmix_v4"
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t");
    if (first == 0 || first == std::string::npos) continue;  // headings start at the margin
    const std::string name = line.substr(first);
    if (name.find_first_of(" :") == std::string::npos) plugins.push_back(name);
  }
  return plugins;
}

std::unique_ptr<LaunchDialect> make_srun_dialect() { return std::make_unique<SrunDialect>(); }

}  // namespace hk
