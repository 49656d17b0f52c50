#pragma once
// Launcher dialects: how one launcher family says "R ranks, T cores each, bound, this
// environment on every rank". compose_launch validates and places once (launch.hpp) and adds the
// environment and the program; a dialect only writes the launcher's words. Adding a launcher
// family is one class in its own file (dialect_NAME.cpp) and one row in
// launch_dialects() (dialect.cpp).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "launch.hpp"

namespace hk {

using Environment = std::vector<std::pair<std::string, std::string>>;

class LaunchDialect {
 public:
  virtual ~LaunchDialect() = default;
  // The launcher (launcher_executable(spec)) and its options for `placement`, up to the program:
  // ranks, mapping, binding, and how `rank_env` (set for the launcher) reaches every rank.
  virtual std::vector<std::string> launcher_words(const LaunchSpec& spec, const Placement& placement,
                                                  const Environment& rank_env) const = 0;
  // Environment only the launcher itself reads (Open MPI run as root), not passed to the ranks.
  virtual Environment launcher_environment() const { return {}; }
};

struct DialectInfo {
  std::string name;                    // "openmpi"
  std::vector<std::string> launchers;  // launcher names it is the default for: "mpirun"
  std::unique_ptr<LaunchDialect> (*make)();
};
// Every dialect hk knows, in one table.
const std::vector<DialectInfo>& launch_dialects();
// The dialect named `name` (UsageError listing the known ones).
const DialectInfo& find_dialect(const std::string& name);
// h1:S1,h2:S2: the hosts of the launch's nodes with their slots (their cores), in the syntax
// both Open MPI's --host and Hydra's -hosts read.
std::string host_slots_list(const LaunchSpec& spec);
// The dialect a launcher's --version first line names ("" when it names none): "mpirun (Open
// MPI) 4.1.4" and "prterun (PRRTE) 3.0" are openmpi, "HYDRA build details:" hydra, "slurm 22.05.8" srun.
std::string detect_dialect(const std::string& version_line);
// The dialect of a launch: spec.dialect (--launcher-dialect), else the one its version names, else
// the default of spec.launcher's name (UsageError when none).
std::string dialect_name(const LaunchSpec& spec);
// srun's --mpi plugin: `requested` (--srun-mpi), else $HK_SRUN_MPI, else pmix (the one Debian's
// Open MPI speaks). When `offered` (srun --mpi=list, empty where it cannot be read) lacks it:
// UsageError naming the offered plugins.
std::string choose_srun_mpi(const std::string& requested, const std::vector<std::string>& offered);
// The plugins `srun --mpi=list` offers (empty when srun is missing or cannot reach Slurm).
std::vector<std::string> srun_mpi_plugins(const LaunchSpec& spec);

// One factory per dialect file.
std::unique_ptr<LaunchDialect> make_openmpi_dialect();
std::unique_ptr<LaunchDialect> make_srun_dialect();
std::unique_ptr<LaunchDialect> make_hydra_dialect();

}  // namespace hk
