#pragma once
#include <string>

namespace hk {

// The run must be the run that was asked for. These checks compare what hk asked for with what
// the MPI library and the OpenMP runtime actually gave; each returns "" when they agree, else the
// one line hk-kernel prints before it exits 3 (nothing is recorded as ok).

// `expected` ranks (hk-kernel --expect-ranks; 0: not checked) against MPI_COMM_WORLD's size:
// "asked for 2 ranks, MPI_COMM_WORLD has 1; ...". A size of 1 under a launcher that started more
// processes is the usual sign of a binary built against one MPI started by another MPI's launcher
// (or srun with a PMI plugin the library does not speak): every process is a singleton.
std::string world_size_problem(int expected, int world_size);

// The number of OpenMP threads running in a parallel region opened the way the kernels open theirs
// (no num_threads clause: omp_set_num_threads(--threads) is in force).
int threads_in_parallel_region();

// `asked` threads per rank (--threads) against `running` in the parallel region:
// "asked for 4 OpenMP threads per rank, the parallel region runs 2; ...".
std::string thread_count_problem(int asked, int running);

}  // namespace hk
