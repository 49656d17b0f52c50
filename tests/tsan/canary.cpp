// A deliberate data race in an OpenMP region, built with the same flags as hk-kernel in the
// ThreadSanitizer build. scripts/run-tsan.sh runs it first and requires TSan to report it: a
// harness whose options or suppressions hid OpenMP races would otherwise pass silently.
#include <omp.h>

#include <cstdio>

int main() {
  long counter = 0;  // shared, updated without synchronisation
#pragma omp parallel num_threads(2)
  for (int i = 0; i < 100000; ++i) counter = counter + 1;
  std::printf("canary: counter %ld\n", counter);
  return 0;
}
