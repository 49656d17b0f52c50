#include "launcher_rank.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace hk::exec {

namespace {

// The first of `names` holding a non-negative integer: {value, name}; {-1, ""} when none does.
std::pair<int, std::string> first_number(const std::function<const char*(const char*)>& lookup,
                                         std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* text = lookup(name);
    if (text == nullptr) continue;
    const std::string_view word(text);
    int value = -1;
    const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (error == std::errc() && end == word.data() + word.size() && value >= 0) return {value, name};
  }
  return {-1, ""};
}

}  // namespace

LauncherRank launcher_rank(const std::function<const char*(const char*)>& lookup) {
  LauncherRank found;
  std::tie(found.rank, found.rank_source) =
      first_number(lookup, {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"});
  found.world_size = first_number(lookup, {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"}).first;
  found.local_rank =
      first_number(lookup, {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"}).first;
  return found;
}

LauncherRank launcher_rank_from_environment() {
  return launcher_rank([](const char* name) { return static_cast<const char*>(std::getenv(name)); });
}

}  // namespace hk::exec
