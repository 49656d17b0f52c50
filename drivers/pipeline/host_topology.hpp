#pragma once
// The hosts a sweep runs on, as they describe themselves: one process on each node runs
// `hk info --node-json` (its host name and hwloc's summary of its cores, NUMA domains, caches)
// through the sweep's own launcher, host list and --launcher-args, so sweep.json says what each
// host is, not what the launching machine is.
#include <nlohmann/json.hpp>
#include <string>

#include "launch.hpp"

namespace hk::pipeline {

// The most a gather may take before its launch is killed: it starts one small process per node.
inline constexpr double kHostGatherTimeoutS = 60;

// [{hostname, topology}] of the first `nodes` nodes of `launch` (its hosts, or the allocation's
// for srun), ordered by host name. `hk_exe` is hk's path on the nodes; the launch's output goes to
// `log_stem`.out/.err. RuntimeError (exit 3) with the launcher's first message when the launch
// fails or times out, or when not every node answered.
// hk's own path (/proc/self/exe), which the nodes see too on a shared file system.
std::string this_executable();

nlohmann::json gather_host_topologies(const LaunchSpec& launch, int nodes, const std::string& hk_exe,
                                      const std::string& log_stem);

}  // namespace hk::pipeline
