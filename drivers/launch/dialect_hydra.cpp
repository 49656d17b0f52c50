// MPICH's Hydra (mpiexec.hydra, mpirun.mpich): R processes, K per node (on -hosts h1:S,h2:S
// when hosts are given), each bound to the CPUs the node's layout gives it (-bind-to user:...),
// without a known topology to T consecutive cores (-bind-to core:T -map-by core), or unbound
// when oversubscribed; the environment reaches every rank through -genv NAME VALUE (Hydra has
// no -x).
#include <fmt/format.h>

#include "dialect.hpp"

namespace hk {

namespace {

// The node's layout as Hydra's user binding: each local rank's OS CPUs, "+" within a rank, ","
// between ranks (-bind-to user:0+1,2+3), so per-domain and gapped layouts bind as planned.
std::string user_binding(const topology::Layout& layout) {
  std::string text = "user:";
  for (std::size_t r = 0; r < layout.rank_cpus.size(); ++r) {
    if (r > 0) text.push_back(',');
    for (std::size_t i = 0; i < layout.rank_cpus[r].size(); ++i) {
      if (i > 0) text.push_back('+');
      text.append(std::to_string(layout.rank_cpus[r][i]));
    }
  }
  return text;
}

class HydraDialect : public LaunchDialect {
 public:
  std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                          const Environment& rank_env) const override {
    std::vector<std::string> words = {launcher_executable(spec), "-n", std::to_string(spec.ranks), "-ppn",
                                      std::to_string(placement.ranks_per_node)};
    if (!spec.hosts.empty()) words.insert(words.end(), {"-hosts", host_slots_list(spec)});
    if (placement.layout)
      words.insert(words.end(), {"-bind-to", user_binding(*placement.layout)});
    else if (placement.bound)
      words.insert(words.end(), {"-bind-to", fmt::format("core:{}", placement.threads_per_rank), "-map-by", "core"});
    else
      words.insert(words.end(), {"-bind-to", "none"});
    for (const auto& [name, value] : rank_env) words.insert(words.end(), {"-genv", name, value});
    return words;
  }
};

}  // namespace

std::unique_ptr<LaunchDialect> make_hydra_dialect() { return std::make_unique<HydraDialect>(); }

}  // namespace hk
