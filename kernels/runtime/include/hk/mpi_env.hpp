#pragma once
#include <mpi.h>

#include <string>
#include <vector>

#include "hk/errors.hpp"

namespace hk {

// Thrown by HK_MPI_CHECK when an MPI call returns an error code (the runtime sets
// MPI_ERRORS_RETURN on every communicator it uses, so errors come back to us).
class MpiError : public RuntimeError {
 public:
  MpiError(const char* call, int code, const char* file, int line);
};

void mpi_check(int code, const char* call, const char* file, int line);
#define HK_MPI_CHECK(call) ::hk::mpi_check((call), #call, __FILE__, __LINE__)

const char* thread_level_name(int level);

// Every rank's `mine`, in rank order, on rank 0 (empty elsewhere). Collective.
std::vector<std::string> gather_strings(MPI_Comm comm, const std::string& mine);

// Scoped owner of MPI_Init_thread/MPI_Finalize. Requests `required` and throws RuntimeError if the
// library provides less. Only one may exist per process.
class MpiEnvironment {
 public:
  MpiEnvironment(int& argc, char**& argv, int required);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  int requested() const { return requested_; }
  int provided() const { return provided_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  static std::string library_version();

 private:
  int requested_ = 0;
  int provided_ = 0;
  int rank_ = 0;
  int size_ = 1;
};

// The rank this process will have, read from the launcher's environment before MPI_Init
// (Open MPI, PMIx, Slurm). Used so that only rank 0 prints errors found while parsing options.
int launcher_rank();

}  // namespace hk
