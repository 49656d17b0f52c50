// hk-probe-mpi: the MPI side of `hk probe`, launched by mpirun.
//   --mode startup  (any ranks): how long MPI_Init_thread took and how much memory a rank holds.
//   --mode pingpong (2 ranks):   ping-pong half round trip for 8 B, 1 MiB and 16 MiB messages.
// Rank 0 writes the raw trial figures as JSON to --out; hk probe takes the medians.
#include <fmt/format.h>
#include <mpi.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hk/cli.hpp"
#include "hk/errors.hpp"
#include "hk/json_text.hpp"
#include "hk/mpi_env.hpp"
#include "hk/system.hpp"

namespace {

double monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the clock hk probe reads before it launches mpirun
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Address space of this process (VmSize of /proc/self/status), in bytes.
std::uint64_t vm_size_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

struct Options {
  std::string mode;
  std::string out;
  int trials = 5;
  int round_trips = 1000;
};

double max_over_ranks(double value) {
  double result = 0;
  HK_MPI_CHECK(MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
  return result;
}

nlohmann::json startup(const hk::MpiEnvironment& env, double init_seconds) {
  // Memory is read once MPI is up: the cost of a rank includes the library's buffers.
  const double vmhwm = max_over_ranks(static_cast<double>(hk::peak_rss_bytes()));
  const double vmsize = max_over_ranks(static_cast<double>(vm_size_bytes()));
  const double init = max_over_ranks(init_seconds);
  HK_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  return {{"mode", "startup"}, {"ranks", env.size()}, {"init_s", init}, {"vmhwm_bytes", vmhwm},
          {"vmsize_bytes", vmsize}};
}

// Rank 0 sends, rank 1 echoes what it received; rank 0 checks the echo byte for byte.
nlohmann::json pingpong(const hk::MpiEnvironment& env, const Options& o, bool& verified) {
  constexpr int kWarmup = 1;
  const int rank = env.rank();
  nlohmann::json sizes = nlohmann::json::array();
  for (const int bytes : {8, 1 << 20, 16 << 20}) {
    const int round_trips = bytes == 8 ? o.round_trips : std::max(2, o.round_trips / (bytes == (1 << 20) ? 20 : 200));
    std::vector<unsigned char> sent(static_cast<std::size_t>(bytes)), received(static_cast<std::size_t>(bytes));
    for (int i = 0; i < bytes; ++i) sent[static_cast<std::size_t>(i)] = static_cast<unsigned char>(i * 131 + bytes);
    std::vector<double> half_round_trip;
    for (int trial = 0; trial < kWarmup + o.trials; ++trial) {
      std::fill(received.begin(), received.end(), 0);
      HK_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
      const double t0 = MPI_Wtime();
      for (int k = 0; k < round_trips; ++k) {
        if (rank == 0) {
          HK_MPI_CHECK(MPI_Send(sent.data(), bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD));
          HK_MPI_CHECK(MPI_Recv(received.data(), bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        } else {
          HK_MPI_CHECK(MPI_Recv(received.data(), bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
          HK_MPI_CHECK(MPI_Send(received.data(), bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD));
        }
      }
      const double seconds = max_over_ranks(MPI_Wtime() - t0);
      HK_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
      if (rank == 0 && std::memcmp(sent.data(), received.data(), sent.size()) != 0) verified = false;
      if (trial >= kWarmup) half_round_trip.push_back(seconds / (2.0 * round_trips));
    }
    sizes.push_back({{"bytes", bytes}, {"round_trips", round_trips}, {"half_round_trip_s", half_round_trip}});
  }
  int ok = verified ? 1 : 0;
  HK_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  verified = ok == 1;
  return {{"mode", "pingpong"}, {"ranks", env.size()}, {"sizes", sizes}, {"verified", verified}};
}

}  // namespace

int main(int argc, char** argv) {
  const double main_entry = monotonic_seconds();
  const bool root = hk::launcher_rank() == 0;
  Options o;
  CLI::App app{"hk-probe-mpi: rank start-up, rank memory and ping-pong figures for hk probe", "hk-probe-mpi"};
  app.add_option("--mode", o.mode, "startup or pingpong")->required()->check(CLI::IsMember({"startup", "pingpong"}));
  app.add_option("--out", o.out, "JSON file rank 0 writes")->required();
  hk::add_int_option(app, "--trials", o.trials, 1, 1000, "timed trials per message size");
  hk::add_int_option(app, "--round-trips", o.round_trips, 2, 10000000, "8 B round trips per trial");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return root ? app.exit(e) : 0;
    if (root) std::cerr << fmt::format("hk-probe-mpi: error: {}\n", e.what());
    return hk::kExitUsage;
  }

  const double init_start = monotonic_seconds();
  std::optional<hk::MpiEnvironment> env;
  try {
    env.emplace(argc, argv, MPI_THREAD_FUNNELED);  // what hybridkit's kernels request by default
  } catch (const std::exception& e) {
    if (root) std::cerr << fmt::format("hk-probe-mpi: error: {}\n", e.what());
    return hk::kExitRuntime;
  }
  const double init_seconds = monotonic_seconds() - init_start;

  try {
    if (o.mode == "pingpong" && env->size() != 2)
      throw hk::UsageError(fmt::format("--mode pingpong: needs exactly 2 ranks (got {})", env->size()));
    bool verified = true;
    nlohmann::json result = o.mode == "startup" ? startup(*env, init_seconds) : pingpong(*env, o, verified);
    result["main_entry_monotonic_s"] = main_entry;
    result["thread_level_provided"] = hk::thread_level_name(env->provided());
    result["library"] = hk::MpiEnvironment::library_version();
    if (env->rank() == 0) {
      std::ofstream out(o.out);
      out << hk::json_text(result, 2) << "\n";
      if (!out.flush()) throw hk::RuntimeError(fmt::format("--out: cannot write '{}'", o.out));
    }
    if (!verified) {
      if (env->rank() == 0) std::cerr << "hk-probe-mpi: ping-pong payload came back different\n";
      return hk::kExitVerifyFailed;
    }
  } catch (const hk::UsageError& e) {
    if (env->rank() == 0) std::cerr << fmt::format("hk-probe-mpi: error: {}\n", e.what());
    return hk::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << fmt::format("hk-probe-mpi: rank {}: error: {}\n", env->rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, hk::kExitRuntime);
    return hk::kExitRuntime;
  }
  return hk::kExitOk;
}
