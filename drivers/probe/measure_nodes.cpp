// The row "MPI between two nodes vs within a node" of hk probe: the ping-pong of hk-probe-mpi
// with one rank on each of two hosts (--hosts H1,H2, through mpirun's --host), next to the
// ping-pong of two ranks on this node (measure_mpi). Without --hosts the figures are unavailable.
#include <fmt/format.h>

#include <filesystem>

#include "child_launch.hpp"
#include "hk/errors.hpp"
#include "probe.hpp"

namespace hk::probe {

namespace {

const char* const kLatencyKey = "communication.mpi_internode_latency_8B";
const char* const kBandwidthKeys[] = {"communication.mpi_internode_bandwidth_1MiB",
                                      "communication.mpi_internode_bandwidth_16MiB"};

void mark_unavailable(Results& r, const std::string& reason) {
  r.unavailable[kLatencyKey] = reason;
  for (const char* key : kBandwidthKeys) r.unavailable[key] = reason;
}

// Figures from hk-probe-mpi's ping-pong result: the median one-way time of each message size.
void add_figures(const nlohmann::json& result, const std::string& how, Results& r) {
  for (const auto& size : result.at("sizes")) {
    const int bytes = size.at("bytes").get<int>();
    const auto halves = size.at("half_round_trip_s").get<std::vector<double>>();
    const double half = median(halves);
    const int trials = static_cast<int>(halves.size());
    const std::string per_trial = fmt::format("{}, {} round trips per trial", how, size.at("round_trips").get<int>());
    if (bytes == 8) {
      r.figures[kLatencyKey] = {half * 1e6, "us", "one-way time of an 8 B message (half a round trip), " + per_trial,
                                trials};
    } else if (bytes == (1 << 20) || bytes == (16 << 20)) {
      r.figures[kBandwidthKeys[bytes == (1 << 20) ? 0 : 1]] = {
          bytes / half / 1e9, "GB/s",
          fmt::format("{} MiB message / one-way time (1 GB = 1e9 B), {}", bytes >> 20, per_trial), trials};
    }
  }
}

}  // namespace

void measure_mpi_between_nodes(const Settings& s, Results& r) {
  if (s.hosts.empty()) {
    mark_unavailable(r, "needs two hosts: hk probe --hosts NODE1,NODE2");
    return;
  }
  if (!s.mpi) {
    mark_unavailable(r, "skipped (--no-mpi)");
    return;
  }
  const ScratchDir scratch;
  const std::string result_file = scratch.path + "/between_nodes.json";
  const std::string log = scratch.path + "/mpirun_between_nodes.log";
  // One rank on each host; the launcher reaches them as it would for any run (hostfile rules,
  // rsh agent and interfaces from the environment or the site's Open MPI settings).
  const std::vector<std::string> words = {s.mpirun,
                                          "-np",
                                          "2",
                                          "--host",
                                          fmt::format("{}:1,{}:1", s.hosts[0], s.hosts[1]),
                                          "--map-by",
                                          "ppr:1:node",
                                          "--bind-to",
                                          "core",
                                          helper_path(s, "hk-probe-mpi"),
                                          "--mode",
                                          "pingpong",
                                          "--trials",
                                          std::to_string(s.trials),
                                          "--round-trips",
                                          std::to_string(s.round_trips),
                                          "--out",
                                          result_file};
  const LaunchResult run = launch_and_wait(words, log, s.mpi_timeout_s, "--mpi-timeout");
  if (!run.error.empty()) {
    if (run.exit_status == kExitVerifyFailed) r.mpi_check_failure = "MPI ping-pong between nodes: " + run.error;
    mark_unavailable(r, run.error);
    return;
  }
  try {
    add_figures(read_json(result_file, "hk-probe-mpi"),
                fmt::format("ping-pong between a rank on {} and one on {}", s.hosts[0], s.hosts[1]), r);
  } catch (const std::exception& e) {
    mark_unavailable(r, e.what());
  }
}

}  // namespace hk::probe
