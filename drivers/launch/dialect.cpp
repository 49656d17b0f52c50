#include "dialect.hpp"

#include <fmt/format.h>

#include "hk/errors.hpp"

namespace hk {

const std::vector<DialectInfo>& launch_dialects() {
  static const std::vector<DialectInfo> dialects = {
      {"openmpi", {"mpirun"}, &make_openmpi_dialect},
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

std::string dialect_name(const LaunchSpec& spec) {
  if (!spec.dialect.empty()) return spec.dialect;
  std::string known;
  for (const auto& dialect : launch_dialects()) {
    for (const auto& launcher : dialect.launchers) {
      if (launcher == spec.launcher) return dialect.name;
      known += (known.empty() ? "" : " or ") + launcher;
    }
  }
  throw UsageError(fmt::format("--launcher: must be {} (got '{}')", known, spec.launcher));
}

}  // namespace hk
