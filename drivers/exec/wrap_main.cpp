// hk-exec-wrap: the per-rank observer of `hk run --exec`. The launcher starts it once per rank in
// place of the user's program; it starts the program, samples where each of its threads runs
// while it runs, and writes this rank's observations (docs/exec.md, "What the wrapper sees") as
// DIR/rank-<rank>.json. Its exit status is the program's (128 + signal when a signal ended it,
// 127 when it could not be started), so the launcher reports failures as it would without it.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hk/json_text.hpp"
#include "hk/system.hpp"
#include "launcher_rank.hpp"
#include "supervised_child.hpp"
#include "thread_sampler.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The environment variable through which libhk-pmpi.so learns where to write its figures.
constexpr const char* kMpiFileEnv = "HK_EXEC_MPI_FILE";

struct WrapOptions {
  std::string out_dir;
  std::string pmpi_library;
  hk::exec::SupervisorSettings supervisor;
  std::vector<std::string> command;
};

std::string rank_file_stem(const hk::exec::LauncherRank& rank) {
  return rank.rank >= 0 ? fmt::format("rank-{}", rank.rank) : fmt::format("rank-unknown-{}", getpid());
}

std::vector<std::string> child_environment(const WrapOptions& options, const std::string& mpi_file) {
  std::vector<std::string> environment{fmt::format("{}={}", kMpiFileEnv, mpi_file)};
  if (!options.pmpi_library.empty()) {
    const char* preload = std::getenv("LD_PRELOAD");
    environment.push_back(preload && *preload ? fmt::format("LD_PRELOAD={}:{}", options.pmpi_library, preload)
                                              : fmt::format("LD_PRELOAD={}", options.pmpi_library));
  }
  return environment;
}

// What libhk-pmpi.so wrote at MPI_Finalize (then removed: the rank file holds it), null without it.
json take_mpi_figures(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::remove(path.c_str());
  json figures = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  return figures.is_discarded() ? json(nullptr) : figures;
}

// CPU time of the wrapper itself (sampling /proc), seconds: what observing cost.
double own_cpu_seconds() {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  return static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
         static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) * 1e-6;
}

json optional_number(const std::optional<int>& value) { return value ? json(*value) : json(nullptr); }
json known_or_null(int value) { return value >= 0 ? json(value) : json(nullptr); }

json observations(const WrapOptions& options, const hk::exec::LauncherRank& rank,
                  const hk::exec::ChildOutcome& outcome, const hk::exec::ThreadSampler& sampler,
                  const std::vector<int>& rank_cpus, json mpi) {
  return {{"schema", "hybridkit.exec-rank/1"},
          {"host", hk::host_name()},
          {"host_cpus", hk::online_cpus()},
          {"rank", known_or_null(rank.rank)},
          {"rank_source", rank.rank_source},
          {"world_size", known_or_null(rank.world_size)},
          {"local_rank", known_or_null(rank.local_rank)},
          {"rank_cpus", hk::cpu_list_string(rank_cpus)},
          {"command", options.command},
          {"pid", outcome.pid},
          {"wall_s", outcome.wall_s},
          {"exit_status", optional_number(outcome.exit_status)},
          {"signal", optional_number(outcome.signal)},
          {"timed_out", outcome.timed_out},
          {"received_signal", outcome.received_signal == 0 ? json(nullptr) : json(outcome.received_signal)},
          {"exec_error", outcome.exec_error.empty() ? json(nullptr) : json(outcome.exec_error)},
          {"leftovers_killed", outcome.leftovers_killed},
          {"rss_peak_bytes", outcome.rss_peak_bytes},
          {"user_cpu_s", outcome.user_cpu_s},
          {"system_cpu_s", outcome.system_cpu_s},
          {"sample_interval_s", options.supervisor.interval_s},
          {"samples", sampler.samples()},
          {"wrapper_cpu_s", own_cpu_seconds()},
          {"threads", sampler.to_json()},
          {"mpi", std::move(mpi)}};
}

// Written whole under a temporary name, then renamed: a reader never sees half a file.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << text << '\n';
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", partial.string()));
  }
  fs::rename(partial, path);
}

int parse_options(int argc, char** argv, WrapOptions& options) {
  CLI::App app{"hk-exec-wrap: runs one rank of a program and records where its threads ran"};
  app.add_option("--out", options.out_dir, "Directory for rank-<rank>.json")->required()->check(CLI::ExistingDirectory);
  app.add_option("--interval", options.supervisor.interval_s, "Seconds between samples of the threads")
      ->check(CLI::Range(0.001, 10.0));
  app.add_option("--timeout", options.supervisor.timeout_s, "Seconds before the program is stopped (0: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--grace", options.supervisor.grace_s, "Seconds from SIGTERM to SIGKILL")
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--pmpi", options.pmpi_library, "libhk-pmpi.so, preloaded into the program")
      ->check(CLI::ExistingFile);
  app.add_option("command", options.command, "-- PROGRAM ARGS...")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    const std::string line = fmt::format("hk-exec-wrap: error: {}\n", e.what());
    std::fputs(line.c_str(), stderr);
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  WrapOptions options;
  if (const int status = parse_options(argc, argv, options); status >= 0) return status;
  const hk::exec::LauncherRank rank = hk::exec::launcher_rank_from_environment();
  const std::vector<int> rank_cpus = hk::allowed_cpus();  // the launcher's binding of this rank
  const fs::path stem = fs::path(options.out_dir) / rank_file_stem(rank);
  const std::string mpi_file = stem.string() + ".mpi.json";
  std::optional<hk::exec::ThreadSampler> sampler;
  const auto outcome = hk::exec::run_supervised(
      options.command, child_environment(options, mpi_file), options.supervisor, [&](pid_t pid, double at_s) {
        if (!sampler) sampler.emplace(pid);
        sampler->sample(at_s);
      });
  if (!sampler) sampler.emplace(outcome.pid);
  try {
    const json seen = observations(options, rank, outcome, *sampler, rank_cpus, take_mpi_figures(mpi_file));
    write_atomically(stem.string() + ".json", hk::json_text(seen));
  } catch (const std::exception& e) {
    const std::string line = fmt::format("hk-exec-wrap: error: {}\n", e.what());
    std::fputs(line.c_str(), stderr);
    return outcome.shell_status() == 0 ? 3 : outcome.shell_status();
  }
  if (!outcome.exec_error.empty()) {
    const std::string line = fmt::format("hk-exec-wrap: error: cannot run {}: {}\n", options.command[0], outcome.exec_error);
    std::fputs(line.c_str(), stderr);
  }
  return outcome.shell_status();
}
