// The MPI rows of hk probe: hk-probe-mpi launched through the --mpirun launcher in its own
// dialect (compose_launch, as for hk run). If the launch fails (no launcher, a broken MPI, a
// timeout) the rows are reported unavailable with the reason.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "child_launch.hpp"
#include "dialect.hpp"
#include "launch.hpp"
#include "topology.hpp"
#include "hk/errors.hpp"
#include "hk/system.hpp"
#include "probe.hpp"

namespace hk::probe {

namespace {

// The launch of the probe's MPI helper, as hk run would make it: the launcher named by --mpirun
// (its dialect from its --version, else from its name), one thread per rank, this machine's
// physical cores (hwloc).
LaunchSpec probe_launch_spec(const std::string& mpirun) {
  LaunchSpec spec;
  const std::string name = std::filesystem::path(mpirun).filename().string();
  bool known = false;
  for (const auto& dialect : launch_dialects())
    for (const auto& launcher : dialect.launchers) known = known || launcher == name;
  spec.launcher = known ? name : "mpirun";
  if (mpirun != spec.launcher) spec.launcher_path = mpirun;
  spec.launcher_version = read_launcher_version(spec);
  spec.threads = 1;
  int cores = 0;
  try {
    cores = read_topology().cores;
  } catch (const std::exception&) {
    cores = online_cpus();
  }
  spec.cores_per_node = std::max(1, cores);
  return spec;
}

}  // namespace

void measure_mpi(const Settings& s, Results& r) {
  if (!s.mpi) {
    r.mpi.reason = "skipped (--no-mpi)";
    return;
  }
  std::optional<ScratchDir> scratch;
  try {
    scratch.emplace();
  } catch (const RuntimeError& e) {  // e.g. TMPDIR names a missing directory: these rows only
    r.mpi.reason = e.what();
    return;
  }
  const std::string helper = helper_path(s, "hk-probe-mpi");
  const std::string result_file = scratch->path + "/result.json";
  const std::string log = scratch->path + "/mpirun.log";
  const LaunchSpec base = probe_launch_spec(s.mpirun);
  // Composed like every launch of the kit (the launcher's dialect: Open MPI, MPICH's Hydra, srun):
  // each rank on a core of its own when the node has the cores, otherwise unbound and sharing.
  auto launch = [&](int ranks, std::vector<std::string> helper_args) {
    LaunchSpec spec = base;
    spec.ranks = ranks;
    spec.oversubscribe = spec.cores_per_node < ranks;
    spec.program = {helper};
    spec.program.insert(spec.program.end(), helper_args.begin(), helper_args.end());
    spec.program.insert(spec.program.end(), {"--out", result_file});
    return compose_launch(spec);
  };
  auto launch_and_wait_for = [&](int ranks, std::vector<std::string> helper_args) {
    LaunchCommand command;
    try {
      command = launch(ranks, std::move(helper_args));
    } catch (const UsageError& e) {
      LaunchResult refused;
      refused.error = fmt::format("--mpirun: {}", e.what());
      refused.exit_status = kExitUsage;
      return refused;
    }
    return launch_and_wait(command.argv, log, s.mpi_timeout_s, "--mpi-timeout", command.env);
  };

  // Rank start-up: separate launches of `mpirun -np 1`; the first is a warm-up (page cache).
  std::vector<double> init, wall, to_main, vmhwm, vmsize;
  for (int launch = 0; launch < 1 + s.mpi_trials; ++launch) {
    std::filesystem::remove(result_file);
    const LaunchResult run = launch_and_wait_for(1, {"--mode", "startup"});
    if (!run.error.empty()) {
      r.mpi.reason = run.error;
      return;
    }
    try {
      const nlohmann::json j = read_json(result_file, "hk-probe-mpi");
      if (launch == 0) {
        r.mpi.library = j.at("library").get<std::string>();
        r.mpi.thread_level = j.at("thread_level_provided").get<std::string>();
        continue;
      }
      init.push_back(j.at("init_s").get<double>());
      wall.push_back(run.wall_s);
      to_main.push_back(j.at("main_entry_monotonic_s").get<double>() - run.spawn_s);
      vmhwm.push_back(j.at("vmhwm_bytes").get<double>());
      vmsize.push_back(j.at("vmsize_bytes").get<double>());
    } catch (const std::exception& e) {
      r.mpi.reason = e.what();
      return;
    }
  }
  r.mpi.available = true;
  const int n = s.mpi_trials;
  const std::string launched = fmt::format("{} (1 rank) {}", s.mpirun, "hk-probe-mpi");
  r.figures["creation.mpi_init_thread"] = {median(init) * 1e6, "us",
                                           "MPI_Init_thread(MPI_THREAD_FUNNELED) inside a rank started by " + launched, n};
  r.figures["creation.mpirun_np1_wall"] = {median(wall) * 1e6, "us",
                                           "wall time of the whole `" + launched + "` (launch, init, finalize, exit)", n};
  r.figures["creation.mpirun_to_rank_main"] = {median(to_main) * 1e6, "us",
                                               "from starting mpirun until the rank's main() runs", n};
  r.figures["memory.mpi_rank_vmhwm"] = {median(vmhwm) / 1024, "KiB", "peak resident memory (VmHWM) of one MPI rank after MPI_Init_thread", n};
  r.figures["memory.mpi_rank_vmsize"] = {median(vmsize) / 1024, "KiB", "address space (VmSize) of one MPI rank after MPI_Init_thread", n};

  // Ping-pong between two ranks on this node.
  std::filesystem::remove(result_file);
  const LaunchResult run = launch_and_wait_for(
      2, {"--mode", "pingpong", "--trials", std::to_string(s.trials), "--round-trips", std::to_string(s.round_trips)});
  const char* keys[] = {"communication.mpi_latency_8B", "communication.mpi_bandwidth_1MiB",
                        "communication.mpi_bandwidth_16MiB"};
  if (!run.error.empty()) {
    if (run.exit_status == kExitVerifyFailed) r.mpi_check_failure = "MPI ping-pong: " + run.error;
    for (const char* key : keys) r.unavailable[key] = run.error;
    return;
  }
  try {
    const nlohmann::json j = read_json(result_file, "hk-probe-mpi");
    for (const auto& size : j.at("sizes")) {
      const int bytes = size.at("bytes").get<int>();
      const int round_trips = size.at("round_trips").get<int>();
      const double half = median(size.at("half_round_trip_s").get<std::vector<double>>());
      const int trials = static_cast<int>(size.at("half_round_trip_s").size());
      const std::string how = fmt::format("ping-pong between 2 ranks on this node, {} round trips per trial", round_trips);
      if (bytes == 8)
        r.figures[keys[0]] = {half * 1e6, "us", "one-way time of an 8 B message (half a round trip), " + how, trials};
      else
        r.figures[bytes == (1 << 20) ? keys[1] : keys[2]] = {
            bytes / half / 1e9, "GB/s",
            fmt::format("{} MiB message / one-way time (1 GB = 1e9 B), {}", bytes >> 20, how), trials};
    }
  } catch (const std::exception& e) {
    for (const char* key : keys) r.unavailable[key] = e.what();
  }
}

}  // namespace hk::probe
