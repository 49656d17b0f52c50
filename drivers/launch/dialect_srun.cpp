// Slurm's srun: one task per rank with T CPUs each, bound to cores (--cpu-bind=cores), or
// unbound and overcommitted when oversubscribed. srun passes our whole environment to the tasks.
#include <fmt/format.h>

#include "dialect.hpp"

namespace hk {

namespace {

class SrunDialect : public LaunchDialect {
 public:
  std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                          const Environment&) const override {
    std::vector<std::string> words = {launcher_executable(spec),
                                      "--mpi=pmix",
                                      fmt::format("--nodes={}", spec.nodes),
                                      fmt::format("--ntasks={}", spec.ranks),
                                      fmt::format("--cpus-per-task={}", placement.threads_per_rank),
                                      placement.bound ? "--cpu-bind=cores" : "--cpu-bind=none"};
    if (!placement.bound) words.push_back("--overcommit");
    return words;
  }
};

}  // namespace

std::unique_ptr<LaunchDialect> make_srun_dialect() { return std::make_unique<SrunDialect>(); }

}  // namespace hk
