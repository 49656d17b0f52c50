#include "dialect.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "hk/errors.hpp"

namespace hk {

const std::vector<DialectInfo>& launch_dialects() {
  static const std::vector<DialectInfo> dialects = {
      {"openmpi", {"mpirun", "mpiexec", "prterun", "orterun", "mpirun.openmpi", "mpiexec.openmpi"},
       &make_openmpi_dialect},
      {"hydra", {"mpiexec.hydra", "mpirun.mpich", "mpiexec.mpich"}, &make_hydra_dialect},
      {"srun", {"srun"}, &make_srun_dialect},
  };
  return dialects;
}

const DialectInfo& find_dialect(const std::string& name) {
  std::string known;
  for (const auto& dialect : launch_dialects()) {
    if (dialect.name == name) return dialect;
    known += (known.empty() ? "" : ", ") + dialect.name;
  }
  throw UsageError(fmt::format("--launcher-dialect: must be one of {} (got '{}')", known, name));
}

std::string host_slots_list(const LaunchSpec& spec) {
  std::string list;
  for (int i = 0; i < spec.nodes && i < static_cast<int>(spec.hosts.size()); ++i)
    list += fmt::format("{}{}:{}", i > 0 ? "," : "", spec.hosts[i].name, spec.hosts[i].slots);
  return list;
}

std::string detect_dialect(const std::string& version_line) {
  if (version_line.find("Open MPI") != std::string::npos || version_line.find("OpenRTE") != std::string::npos ||
      version_line.find("PRRTE") != std::string::npos)
    return "openmpi";
  if (version_line.find("HYDRA") != std::string::npos) return "hydra";
  if (version_line.rfind("slurm", 0) == 0) return "srun";
  return "";
}

std::string dialect_name(const LaunchSpec& spec) {
  if (!spec.dialect.empty()) return spec.dialect;
  if (std::string detected = detect_dialect(spec.launcher_version); !detected.empty()) return detected;
  std::string known;
  for (const auto& dialect : launch_dialects()) {
    for (const auto& launcher : dialect.launchers) {
      if (launcher == spec.launcher) return dialect.name;
      known += (known.empty() ? "" : " or ") + launcher;
    }
  }
  throw UsageError(fmt::format("--launcher: must be {} (got '{}')", known, spec.launcher));
}

std::string choose_srun_mpi(const std::string& requested, const std::vector<std::string>& offered) {
  const char* env = std::getenv("HK_SRUN_MPI");
  const std::string source = !requested.empty() ? "--srun-mpi" : env && *env ? "HK_SRUN_MPI" : "";
  const std::string plugin = !requested.empty() ? requested : env && *env ? env : "pmix";
  if (offered.empty() || std::find(offered.begin(), offered.end(), plugin) != offered.end()) return plugin;
  std::string list;
  for (const auto& name : offered) list += (list.empty() ? "" : ", ") + name;
  throw UsageError(fmt::format("{}: srun offers no MPI plugin '{}' (srun --mpi=list: {}){}",
                               source.empty() ? "srun's default --mpi" : source, plugin, list,
                               source.empty() ? "; name one with --srun-mpi or HK_SRUN_MPI" : ""));
}

}  // namespace hk
