#include "hk/placement.hpp"

#include <omp.h>
#include <sched.h>

#include <fmt/format.h>
#include <map>
#include <set>

#include "hk/json_text.hpp"
#include "hk/mpi_env.hpp"
#include "hk/system.hpp"

namespace hk {

using nlohmann::json;

std::vector<ThreadPlacement> local_placement(int rank, int threads) {
  std::vector<ThreadPlacement> placement(static_cast<std::size_t>(threads));
  const std::string host = host_name();
  const int cpus = online_cpus();
#pragma omp parallel num_threads(threads)
  {
    // Read inside the region: with OMP_PROC_BIND the initial thread's mask before the first
    // region is not yet the one it runs with.
    const int t = omp_get_thread_num();
    if (t < threads) {
      auto& entry = placement[static_cast<std::size_t>(t)];
      entry.host = host;
      entry.rank = rank;
      entry.thread = t;
      entry.cpu = sched_getcpu();
      entry.allowed_cpus = allowed_cpus();
      entry.host_cpus = cpus;
    }
  }
  // Fewer threads than asked (OMP_THREAD_LIMIT: hk-kernel records that run as an error) leave
  // entries unfilled: they are no thread, and no other host.
  std::erase_if(placement, [](const ThreadPlacement& entry) { return entry.host.empty(); });
  return placement;
}

namespace {
json to_json(const ThreadPlacement& p) {
  return {{"host", p.host}, {"rank", p.rank}, {"thread", p.thread}, {"cpu", p.cpu},
          {"allowed_cpus", p.allowed_cpus}, {"host_cpus", p.host_cpus}};
}
ThreadPlacement from_json(const json& j) {
  ThreadPlacement p;
  p.host = j.at("host").get<std::string>();
  p.rank = j.at("rank").get<int>();
  p.thread = j.at("thread").get<int>();
  p.cpu = j.at("cpu").get<int>();
  p.allowed_cpus = j.at("allowed_cpus").get<std::vector<int>>();
  p.host_cpus = j.value("host_cpus", 0);
  return p;
}
}  // namespace

std::vector<ThreadPlacement> gather_placement(MPI_Comm comm, const std::vector<ThreadPlacement>& local) {
  json mine = json::array();
  for (const auto& p : local) mine.push_back(to_json(p));
  std::vector<ThreadPlacement> placement;
  for (const std::string& text : gather_strings(comm, json_text(mine)))
    for (const auto& entry : json::parse(text)) placement.push_back(from_json(entry));
  return placement;
}

json placement_json(const std::vector<ThreadPlacement>& all) {
  json list = json::array();
  for (const auto& p : all) {
    list.push_back({{"host", p.host}, {"rank", p.rank}, {"thread", p.thread}, {"cpu", p.cpu},
                    {"allowed_cpus", cpu_list_string(p.allowed_cpus)}});
  }
  return list;
}

std::vector<std::string> placement_warnings(const std::vector<ThreadPlacement>& all) {
  std::vector<std::string> warnings;
  std::map<std::string, std::pair<int, int>> per_host;  // host -> (threads, cpus)
  std::map<std::pair<std::string, int>, std::vector<std::pair<int, int>>> single_cpu;  // (host,cpu) -> (rank,thread)
  for (const auto& p : all) {
    auto& [threads, cpus] = per_host[p.host];
    ++threads;
    cpus = p.host_cpus;
    if (p.allowed_cpus.size() == 1) single_cpu[{p.host, p.allowed_cpus[0]}].push_back({p.rank, p.thread});
  }
  for (const auto& [host, counts] : per_host) {
    if (counts.second > 0 && counts.first > counts.second) {
      warnings.push_back(fmt::format("oversubscribed: {} threads on host {} which has {} CPUs; timings are not "
                                     "representative",
                                     counts.first, host, counts.second));
    }
  }
  for (const auto& [where, owners] : single_cpu) {
    if (owners.size() < 2) continue;
    std::string who;
    for (const auto& [rank, thread] : owners) who += fmt::format("{}rank {} thread {}", who.empty() ? "" : ", ", rank, thread);
    warnings.push_back(fmt::format("{} threads pinned to the same single CPU {} on host {} ({})", owners.size(),
                                   where.second, where.first, who));
  }
  return warnings;
}

int count_nodes(const std::vector<ThreadPlacement>& all) {
  std::set<std::string> hosts;
  for (const auto& p : all) hosts.insert(p.host);
  return static_cast<int>(hosts.size());
}

json ranks_per_node(const std::vector<ThreadPlacement>& all) {
  std::map<std::string, std::set<int>> ranks;  // host -> its ranks
  for (const auto& p : all) ranks[p.host].insert(p.rank);
  if (ranks.empty()) return nullptr;
  const std::size_t first = ranks.begin()->second.size();
  for (const auto& [host, on_host] : ranks)
    if (on_host.size() != first) return nullptr;
  return static_cast<int>(first);
}

}  // namespace hk
