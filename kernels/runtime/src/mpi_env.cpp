#include "hk/mpi_env.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <cstdlib>
#include <string>

namespace hk {

namespace {
std::string error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return fmt::format("MPI error code {}", code);
  return std::string(text, static_cast<std::size_t>(length));
}
}  // namespace

MpiError::MpiError(const char* call, int code, const char* file, int line)
    : RuntimeError(fmt::format("MPI call failed: {} returned {} ({}:{})", call, error_text(code), file, line)) {}

void mpi_check(int code, const char* call, const char* file, int line) {
  if (code != MPI_SUCCESS) throw MpiError(call, code, file, line);
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
    default: return "unknown";
  }
}

std::vector<std::string> gather_strings(MPI_Comm comm, const std::string& mine) {
  int rank = 0, size = 1;
  HK_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  HK_MPI_CHECK(MPI_Comm_size(comm, &size));
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank == 0 ? size : 0), offsets(rank == 0 ? size : 0);
  HK_MPI_CHECK(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm));
  std::string all;
  if (rank == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[r] = total;
      total += lengths[r];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  HK_MPI_CHECK(MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                           comm));
  std::vector<std::string> texts;
  for (int r = 0; rank == 0 && r < size; ++r) texts.push_back(all.substr(offsets[r], lengths[r]));
  return texts;
}

MpiEnvironment::MpiEnvironment(int& argc, char**& argv, int required) : requested_(required) {
  int initialized = 0;
  HK_MPI_CHECK(MPI_Initialized(&initialized));
  if (initialized) throw RuntimeError("MPI is already initialised: only one MpiEnvironment may exist");
  // Before MPI_Init_thread errors are fatal by default; afterwards we switch to MPI_ERRORS_RETURN.
  HK_MPI_CHECK(MPI_Init_thread(&argc, &argv, required, &provided_));
  HK_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  HK_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  HK_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  if (provided_ < required) {
    const std::string message =
        fmt::format("the MPI library provides {} but this kernel needs {}", thread_level_name(provided_),
                    thread_level_name(required));
    MPI_Finalize();
    throw RuntimeError(message);
  }
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string MpiEnvironment::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string version(text, static_cast<std::size_t>(length));
  version.erase(std::find(version.begin(), version.end(), '\0'), version.end());  // some libraries count the NUL
  // Open MPI's string spans several lines; the first names library and version.
  const auto newline = version.find_first_of("\r\n");
  if (newline != std::string::npos) version.resize(newline);
  while (!version.empty() && (version.back() == ',' || version.back() == ' ')) version.pop_back();
  return version;
}

int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

}  // namespace hk
