// Open MPI's mpirun: ranks mapped per domain of the node's topology with PE=T cores each and bound
// to them (--map-by ppr:K:l3cache|numa|socket|node:PE=T --bind-to core, topology/binding.hpp; per
// node when the topology is not known), or a slot map without binding when oversubscribed;
// the environment reaches every rank on every node through -x NAME.
#include <unistd.h>

#include <fmt/format.h>

#include "binding.hpp"
#include "dialect.hpp"

namespace hk {

namespace {

class OpenMpiDialect : public LaunchDialect {
 public:
  std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                          const Environment& rank_env) const override {
    std::vector<std::string> words = {launcher_executable(spec), "-np", std::to_string(spec.ranks)};
    if (!spec.hosts.empty()) words.insert(words.end(), {"--host", host_slots_list(spec)});
    if (placement.layout) {
      const auto binding = topology::openmpi_binding(*placement.layout).args();
      words.insert(words.end(), binding.begin(), binding.end());
    } else if (placement.bound) {
      const bool hwthreads = spec.cpus == topology::CpuUnit::hwthreads;
      words.insert(words.end(), {"--map-by", map_by(spec, placement), "--bind-to", hwthreads ? "hwthread" : "core"});
      if (hwthreads) words.push_back("--use-hwthread-cpus");
    } else {
      words.insert(words.end(), {"--oversubscribe", "--map-by", map_by(spec, placement), "--bind-to", "none"});
    }
    for (const auto& [name, value] : rank_env) words.insert(words.end(), {"-x", name});
    return words;
  }
  Environment launcher_environment() const override {
    // Open MPI refuses to run as root (CI, containers) unless told twice.
    if (geteuid() != 0) return {};
    return {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
  }
};

}  // namespace

std::unique_ptr<LaunchDialect> make_openmpi_dialect() { return std::make_unique<OpenMpiDialect>(); }

}  // namespace hk
