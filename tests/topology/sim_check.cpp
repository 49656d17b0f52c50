// hk-topology-sim-check NODE.xml MPIRUN [NODES]: for every mix hk plans on the node an hwloc XML
// file describes (every R x T of its cores, and of its hardware threads when it has SMT, plus
// mixes that leave cores idle), asks Open MPI's resource simulator where `mpirun -np R <hk's
// binding>` would bind each rank, and checks that every rank gets exactly the CPUs hk predicted,
// and that ranks of an aligned mix are aligned there too. Nothing is launched: the simulator maps
// and stops (it then reports an internal error, which is expected: its exit status means nothing).
// With NODES > 1 the same node is simulated NODES times, ranks R*n .. R*n+R-1 must be on node n,
// each node holding the layout (cores' mixes only).
// Open MPI 4.1's mpirun itself now and then dies of a signal while printing the map (a
// segmentation fault in hwloc_bitmap_isincluded under opal_hwloc_base_cset2mapstr, on the
// summary it keeps in the simulated topology's root): such a run says nothing about the binding.
// It is run again, up to kSimulatorAttempts times; a mix whose every run crashed is reported
// "CRASHED" (not checked), never as a mismatch, and a mismatch is only ever read from a run that
// ended normally.
// Prints one line per mix; exit status 0 when all match, 1 when one does not, 77 when none
// mismatched but the simulator crashed on every run of some mix (ctest: skipped), 2 on bad input.
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "binding.hpp"
#include "hk/errors.hpp"
#include "hk/system.hpp"
#include "layout.hpp"
#include "node.hpp"

namespace topo = hk::topology;

namespace {

// How often a mix's simulator run is tried when mpirun dies of a signal. Measured here (Open MPI
// 4.1.4, the 56x2 mix of xeon8480-2s-snc4 on 2 simulated nodes, same command 60 times): 4 runs
// crashed; CI saw 5 crashes in a row on one mix, so the rate varies with the machine. Each run
// takes under a second, and only crashed runs are repeated.
constexpr int kSimulatorAttempts = 10;

// The exit status CTest counts as skipped (SKIP_RETURN_CODE in CMakeLists.txt): nothing failed, but
// not everything was checked.
constexpr int kExitNotChecked = 77;

struct SimulatorRun {
  std::string output;  // stdout and stderr
  int signal = 0;      // the signal mpirun died of; 0 when it exited
};

// mpirun's own wait status: the shell execs it, so a crash shows as death by signal, not as the
// shell's exit status 128 + N.
SimulatorRun run_simulator(const std::vector<std::string>& argv) {
  std::string line = "exec";
  for (const auto& word : argv) {
    line += ' ';
    line += hk::shell_quote(word);
  }
  line += " 2>&1";
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) throw hk::RuntimeError("cannot start " + argv.front());
  SimulatorRun run;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof(buffer), pipe)) run.output.append(buffer, n);
  const int status = pclose(pipe);
  if (status != -1 && WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

// The lines of a crashed run that say where it crashed: Open MPI's "Signal:" line and the
// backtrace's first frames ("[ 1]" .. "[ 4]").
std::string crash_excerpt(const std::string& output) {
  std::string excerpt;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = std::min(output.find('\n', start), output.size());
    const std::string line = output.substr(start, end - start);
    for (const char* mark : {"Signal:", "[ 1]", "[ 2]", "[ 3]", "[ 4]"})
      if (line.find(mark) != std::string::npos) {
        excerpt.append("    ").append(line).append("\n");
        break;
      }
    start = end + 1;
  }
  return excerpt;
}

// "[BB/BB/../..][../../../..]": one bracket per package, one '/'-separated group per core, one
// character per hardware thread ('B' bound). Returns the OS CPU numbers bound. Open MPI prints
// nothing for a rank bound to the whole node.
std::vector<int> parse_binding(const topo::Node& node, const std::string& text) {
  std::vector<int> cpus;
  if (text.empty()) {
    for (const auto& core : node.cores) cpus.insert(cpus.end(), core.pus.begin(), core.pus.end());
    std::sort(cpus.begin(), cpus.end());
    return cpus;
  }
  const auto& packages = node.domains(topo::Level::package);
  std::size_t package = 0, core_in_package = 0, pu = 0;
  for (char ch : text) {
    if (ch == '[') {
      core_in_package = 0;
      pu = 0;
    } else if (ch == ']') {
      ++package;
    } else if (ch == '/') {
      ++core_in_package;
      pu = 0;
    } else if (ch == 'B' || ch == '.') {
      if (package >= packages.size() || core_in_package >= packages[package].cores.size())
        throw hk::RuntimeError("binding wider than the node: " + text);
      const auto& core = node.cores[static_cast<std::size_t>(packages[package].cores[core_in_package])];
      if (pu >= core.pus.size()) throw hk::RuntimeError("binding has more hardware threads than the core: " + text);
      if (ch == 'B') cpus.push_back(core.pus[pu]);
      ++pu;
    }
  }
  std::sort(cpus.begin(), cpus.end());
  return cpus;
}

struct Bound {
  int node = 0;  // which simulated node (the order of its "Data for node:" block)
  std::vector<int> cpus;
};

// Rank -> where it is bound, from --display-devel-map's "Data for node:", "Data for proc:
// [[job,1],RANK]" and "Binding:" lines.
std::map<int, Bound> simulated_bindings(const topo::Node& node, const std::string& output) {
  static const std::regex proc(R"(Data for proc: \[\[\d+,\d+\],(\d+)\])");
  static const std::regex binding(R"(Binding: ?(\S*))");
  std::map<int, Bound> bound;
  int rank = -1, node_index = -1;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = std::min(output.find('\n', start), output.size());
    const std::string line = output.substr(start, end - start);
    std::smatch m;
    if (line.find("Data for node:") != std::string::npos) ++node_index;
    else if (std::regex_search(line, m, proc)) rank = std::stoi(m[1]);
    else if (std::regex_search(line, m, binding) && rank >= 0) bound[rank] = {node_index, parse_binding(node, m[1])};
    start = end + 1;
  }
  return bound;
}

// Empty when the simulator put every rank where the layout says; else what differs.
std::string compare(const topo::Node& node, const topo::Layout& layout, int nodes,
                    const std::map<int, Bound>& bound) {
  if (static_cast<int>(bound.size()) != layout.ranks * nodes)
    return fmt::format("the simulator bound {} ranks, expected {}", bound.size(), layout.ranks * nodes);
  for (const auto& [rank, where] : bound) {
    const auto& cpus = where.cpus;
    if (where.node != rank / layout.ranks)
      return fmt::format("rank {}: on node {}, predicted node {}", rank, where.node, rank / layout.ranks);
    const auto& expected = layout.rank_cpus[static_cast<std::size_t>(rank % layout.ranks)];
    if (cpus != expected)
      return fmt::format("rank {}: bound to CPUs {}, predicted {}", rank, hk::cpu_list_string(cpus),
                         hk::cpu_list_string(expected));
    std::vector<topo::Level> straddled;
    bool splits = false;
    if (layout.aligned && !topo::cpus_aligned(node, cpus, straddled, splits))
      return fmt::format("rank {}: predicted aligned, but CPUs {} are not", rank, hk::cpu_list_string(cpus));
  }
  return "";
}

enum class Verdict { match, mismatch, crashed };

Verdict check(const std::string& xml, const std::string& mpirun, const topo::Node& node, const topo::Layout& layout,
              int nodes) {
  const topo::OpenMpiBinding binding = topo::openmpi_binding(layout);
  std::vector<std::string> argv = {mpirun, "--mca", "ras_simulator_num_nodes", std::to_string(nodes),
                                   "--mca", "ras_simulator_topo_files", xml,
                                   "--mca", "ras_simulator_have_cpubind", "1",
                                   "--display-devel-map", "-np", std::to_string(layout.ranks * nodes)};
  for (const auto& arg : binding.args()) argv.push_back(arg);
  argv.push_back("true");
  SimulatorRun run;
  int attempts = 0;
  do {
    run = run_simulator(argv);
    ++attempts;
  } while (run.signal != 0 && attempts < kSimulatorAttempts);
  const std::string mix = fmt::format("{:>7} {:<9} x{} nodes {:<9} --map-by {}", layout.label(),
                                      topo::cpu_unit_name(layout.unit), nodes,
                                      layout.aligned ? "aligned" : "straddles", binding.map_by);
  if (run.signal != 0) {
    std::cout << fmt::format("CRASHED  {}: not checked: Open MPI's mpirun died of signal {} ({}) in all {} runs\n{}",
                             mix, run.signal, strsignal(run.signal), attempts, crash_excerpt(run.output))
              << std::flush;
    return Verdict::crashed;
  }
  const std::string problem = compare(node, layout, nodes, simulated_bindings(node, run.output));
  const std::string retried = attempts > 1 ? fmt::format(" (after {} crashed run(s) of mpirun)", attempts - 1) : "";
  std::cout << fmt::format("{} {}{}{}\n", problem.empty() ? "ok      " : "MISMATCH", mix,
                           problem.empty() ? "" : ": " + problem, retried);
  if (!problem.empty()) std::cout << run.output << std::flush;
  return problem.empty() ? Verdict::match : Verdict::mismatch;
}

// Mixes that leave units idle so that every rank stays in one domain of size S: one rank of S - 1
// threads per domain, and floor(S / 3) ranks of 3 threads per domain (when 3 does not divide S).
std::vector<topo::Layout> idle_unit_layouts(const topo::Node& node, topo::CpuUnit unit) {
  std::vector<topo::Layout> layouts;
  std::set<std::pair<int, int>> seen;
  const int per_core = unit == topo::CpuUnit::hwthreads ? static_cast<int>(node.cores[0].pus.size()) : 1;
  for (topo::Level level : topo::kLevels) {
    const auto& domains = node.domains(level);
    const int size = domains.empty() ? 0 : static_cast<int>(domains[0].cores.size()) * per_core;
    if (domains.size() < 2 || size < 3) continue;
    const int count = static_cast<int>(domains.size());
    for (auto [ranks, threads] : {std::pair{count, size - 1}, std::pair{count * (size / 3), size % 3 ? 3 : 0}}) {
      if (threads < 2 || unit_count(node, unit) % (ranks * threads) == 0 || !seen.insert({ranks, threads}).second)
        continue;
      layouts.push_back(topo::plan_layout(node, ranks, threads, unit));
    }
  }
  return layouts;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: hk-topology-sim-check NODE.xml MPIRUN [NODES]\n";
    return hk::kExitUsage;
  }
  const std::string xml = argv[1], mpirun = argv[2];
  const int nodes = argc == 4 ? std::atoi(argv[3]) : 1;
  try {
    const topo::Node node = topo::read_node_xml(xml);
    std::cout << fmt::format("{}: {}\n", xml, topo::node_summary(node));
    std::map<Verdict, int> verdicts;
    for (topo::CpuUnit unit : {topo::CpuUnit::cores, topo::CpuUnit::hwthreads}) {
      // Several nodes: the cores' mixes (hardware threads are the same map, checked on one node).
      if (unit == topo::CpuUnit::hwthreads && (!node.has_smt() || nodes > 1)) continue;
      auto layouts = topo::budget_layouts(node, unit_count(node, unit), unit);
      for (auto& extra : idle_unit_layouts(node, unit)) layouts.push_back(std::move(extra));
      for (const auto& layout : layouts) ++verdicts[check(xml, mpirun, node, layout, nodes)];
    }
    std::cout << fmt::format("{} mixes: {} match, {} mismatch, {} not checked (the simulator crashed)\n",
                             verdicts[Verdict::match] + verdicts[Verdict::mismatch] + verdicts[Verdict::crashed],
                             verdicts[Verdict::match], verdicts[Verdict::mismatch], verdicts[Verdict::crashed]);
    if (verdicts[Verdict::mismatch] > 0) return hk::kExitVerifyFailed;
    return verdicts[Verdict::crashed] > 0 ? kExitNotChecked : hk::kExitOk;
  } catch (const hk::UsageError& e) {
    std::cerr << fmt::format("hk-topology-sim-check: error: {}\n", e.what());
    return hk::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << fmt::format("hk-topology-sim-check: error: {}\n", e.what());
    return hk::kExitRuntime;
  }
}
