#include "hk/run_checks.hpp"

#include <omp.h>

#include <cstdlib>
#include <fmt/format.h>

namespace hk {

std::string world_size_problem(int expected, int world_size) {
  if (expected <= 0 || expected == world_size) return "";
  const char* why = world_size == 1
                        ? "each process is a singleton: is hk-kernel built against another MPI than the "
                          "launcher's, or does srun's --mpi plugin (--srun-mpi, HK_SRUN_MPI) not match the library?"
                        : "the launcher started another number of processes than asked";
  return fmt::format("asked for {} ranks, MPI_COMM_WORLD has {}; {}", expected, world_size, why);
}

int threads_in_parallel_region() {
  int running = 0;
#pragma omp parallel
  {
#pragma omp single
    running = omp_get_num_threads();
  }
  return running;
}

std::string thread_count_problem(int asked, int running) {
  if (asked == running) return "";
  const char* limit = std::getenv("OMP_THREAD_LIMIT");
  return fmt::format("asked for {} OpenMP threads per rank, the parallel region runs {}; {}", asked, running,
                     limit != nullptr ? fmt::format("OMP_THREAD_LIMIT={} caps them", limit)
                                      : std::string("the OpenMP runtime gave fewer (OMP_THREAD_LIMIT, a nested "
                                                    "region, or a resource limit)"));
}

}  // namespace hk
