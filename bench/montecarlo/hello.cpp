// The bare MPI hello world hybridkit's overhead is measured against: init, rank, finalize.
// With an argument, rank 0 writes its peak RSS (VmHWM, bytes) to that file.
#include <mpi.h>

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0 && argc > 1) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) {
        std::ofstream(argv[1]) << std::stoull(line.substr(6)) * 1024 << "\n";
      }
    }
  }
  MPI_Finalize();
  return 0;
}
