// hk-kernel: runs one kernel configuration under mpirun/srun. All the work is in the runtime's
// framework loop; kernels are linked in and register themselves.
#include "hk/framework.hpp"

int main(int argc, char** argv) { return hk::kernel_main(argc, argv); }
