#include "binding.hpp"

#include <fmt/format.h>

namespace hk::topology {

std::string openmpi_object(const std::optional<Level>& level) {
  if (!level) return "node";
  switch (*level) {
    case Level::l3: return "l3cache";
    case Level::numa: return "numa";
    default: return "socket";
  }
}

namespace {

// "0x..." with bit c set for every CPU c.
std::string cpu_mask(const std::vector<int>& cpus) {
  int highest = 0;
  for (int cpu : cpus) highest = std::max(highest, cpu);
  std::vector<int> nibbles(static_cast<std::size_t>(highest / 4 + 1), 0);
  for (int cpu : cpus) nibbles[static_cast<std::size_t>(cpu / 4)] |= 1 << (cpu % 4);
  std::string hex = "0x";
  for (auto it = nibbles.rbegin(); it != nibbles.rend(); ++it) hex += "0123456789abcdef"[*it];
  return hex;
}

}  // namespace

std::vector<std::string> OpenMpiBinding::args() const {
  std::vector<std::string> a = {"--map-by", map_by, "--bind-to", bind_to};
  if (use_hwthread_cpus) a.push_back("--use-hwthread-cpus");
  return a;
}

OpenMpiBinding openmpi_binding(const Layout& layout) {
  OpenMpiBinding b;
  b.map_by = fmt::format("ppr:{}:{}:PE={}", layout.ranks_per_domain, openmpi_object(layout.map_level), layout.threads);
  b.use_hwthread_cpus = layout.unit == CpuUnit::hwthreads;
  b.bind_to = b.use_hwthread_cpus ? "hwthread" : "core";
  return b;
}

std::vector<std::string> SrunBinding::args() const {
  std::vector<std::string> a = {fmt::format("--cpus-per-task={}", cpus_per_task)};
  if (threads_per_core > 0) a.push_back(fmt::format("--threads-per-core={}", threads_per_core));
  a.push_back("--distribution=" + distribution);
  a.push_back("--cpu-bind=" + cpu_bind);
  return a;
}

SrunBinding srun_binding(const Layout& layout) {
  SrunBinding b;
  const bool threads = layout.unit == CpuUnit::hwthreads;
  b.cpus_per_task = layout.threads;
  b.threads_per_core = threads ? 0 : 1;
  b.distribution = "block:block";
  if (layout.packed) {
    b.cpu_bind = threads ? "threads" : "cores";
  } else {
    b.cpu_bind = "mask_cpu:";
    for (std::size_t r = 0; r < layout.rank_cpus.size(); ++r) {
      if (r > 0) b.cpu_bind += ',';
      b.cpu_bind += cpu_mask(layout.rank_cpus[r]);
    }
  }
  return b;
}

std::vector<std::pair<std::string, std::string>> openmp_binding_env(const Layout& layout) {
  return {{"OMP_PLACES", layout.unit == CpuUnit::hwthreads ? "threads" : "cores"}, {"OMP_PROC_BIND", "close"}};
}

}  // namespace hk::topology
