// Open MPI's mpirun: ranks mapped per node with PE=T cores each and bound to them
// (--map-by ppr:K:node:PE=T --bind-to core), or a slot map without binding when oversubscribed;
// the environment reaches every rank on every node through -x NAME.
#include <unistd.h>

#include <fmt/format.h>

#include "dialect.hpp"

namespace hk {

namespace {

class OpenMpiDialect : public LaunchDialect {
 public:
  std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                          const Environment& rank_env) const override {
    std::vector<std::string> words = {launcher_executable(spec), "-np", std::to_string(spec.ranks)};
    if (placement.bound) {
      words.insert(words.end(), {"--map-by",
                                 fmt::format("ppr:{}:{}:PE={}", placement.ranks_per_domain, placement.map_domain,
                                             placement.threads_per_rank),
                                 "--bind-to", "core"});
    } else {
      words.insert(words.end(), {"--oversubscribe", "--map-by", "slot", "--bind-to", "none"});
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
