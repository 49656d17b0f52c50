#include "host_topology.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "executor.hpp"
#include "hk/errors.hpp"

namespace hk::pipeline {

namespace {

// One process of `hk info --node-json` on each node, bound to one core there.
LaunchSpec gather_spec(const LaunchSpec& launch, int nodes, const std::string& hk_exe) {
  LaunchSpec spec = launch;
  spec.ranks = nodes;
  spec.threads = 1;
  spec.nodes = nodes;
  spec.oversubscribe = false;
  if (static_cast<int>(spec.hosts.size()) > nodes) spec.hosts.resize(nodes);
  spec.program = {hk_exe, "info", "--node-json"};
  spec.program_option = "hk";
  return spec;
}

// The launcher's last lines as one line (an error is one line), at most 400 characters.
std::string one_line(const std::string& text) {
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      if (!line.empty() && line.back() != ' ') line += " | ";
    } else {
      line += c;
    }
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '|')) line.pop_back();
  if (line.size() > 400) line = line.substr(0, 397) + "...";
  return line.empty() ? "no message" : line;
}

// The lines of `path` that are JSON objects with a host name, one per host.
nlohmann::json read_answers(const std::string& path) {
  nlohmann::json hosts = nlohmann::json::array();
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line.front() != '{') continue;
    const nlohmann::json answer = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object() || !answer.contains("hostname") || !answer["hostname"].is_string()) continue;
    const bool seen = std::any_of(hosts.begin(), hosts.end(),
                                  [&](const nlohmann::json& h) { return h["hostname"] == answer["hostname"]; });
    if (!seen) hosts.push_back(answer);
  }
  std::sort(hosts.begin(), hosts.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["hostname"].get<std::string>() < b["hostname"].get<std::string>();
  });
  return hosts;
}

}  // namespace

std::string this_executable() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "hk" : self.string();
}

nlohmann::json gather_host_topologies(const LaunchSpec& launch, int nodes, const std::string& hk_exe,
                                      const std::string& log_stem) {
  const LaunchCommand command = compose_launch(gather_spec(launch, nodes, hk_exe));
  ChildLimits limits;
  limits.timeout_s = kHostGatherTimeoutS;
  const ChildOutcome outcome = run_in_group(command, ChildIo::to_files(log_stem + ".out", log_stem + ".err"), limits);
  std::string names;
  for (int i = 0; i < nodes && i < static_cast<int>(launch.hosts.size()); ++i) names += (i ? ", " : "") + launch.hosts[i].name;
  const std::string what = fmt::format("gathering the topology of the {} host(s) ({}) with {}", nodes,
                                       names.empty() ? "of the allocation" : names, launch.launcher);
  if (outcome.timed_out)
    throw RuntimeError(fmt::format("{}: no answer within {:.0f} s; are the hosts reachable?", what,
                                   kHostGatherTimeoutS));
  if (!outcome.exited || outcome.exit_status != 0)
    throw RuntimeError(fmt::format("{}: the launch failed ({}): {}", what,
                                   outcome.exited ? fmt::format("exit status {}", outcome.exit_status)
                                                  : fmt::format("signal {}", outcome.signal),
                                   one_line(outcome.stderr_tail)));
  nlohmann::json hosts = read_answers(log_stem + ".out");
  if (static_cast<int>(hosts.size()) != nodes)
    throw RuntimeError(fmt::format("{}: {} of them answered (see {}.out)", what, hosts.size(), log_stem));
  return hosts;
}

}  // namespace hk::pipeline
