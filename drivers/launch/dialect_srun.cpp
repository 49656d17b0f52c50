// Slurm's srun: one task per rank with T CPUs each, bound to cores (--cpu-bind=cores), or
// unbound and overcommitted when oversubscribed. With the node's topology (--topology): the
// layout's words (topology/binding.hpp: consecutive cores, or one CPU mask per rank when the
// layout leaves gaps). srun passes our whole environment to the tasks.
#include <fmt/format.h>

#include "binding.hpp"
#include "dialect.hpp"

namespace hk {

namespace {

class SrunDialect : public LaunchDialect {
 public:
  std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                          const Environment&) const override {
    std::vector<std::string> words = {launcher_executable(spec), "--mpi=pmix", fmt::format("--nodes={}", spec.nodes),
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

std::unique_ptr<LaunchDialect> make_srun_dialect() { return std::make_unique<SrunDialect>(); }

}  // namespace hk
