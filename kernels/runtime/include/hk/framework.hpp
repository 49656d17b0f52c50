#pragma once

namespace hk {
// The whole of hk-kernel: parse, MPI_Init_thread, setup, warm-up, timed repetitions, verify,
// gather placement and memory, write the record, print a summary. Returns the exit status.
int kernel_main(int argc, char** argv);
}  // namespace hk
