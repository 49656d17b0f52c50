#!/usr/bin/env bash
# Installs what is missing, then runs everything CI runs:
#   1. Release build, the whole CTest suite (unit, MPI, CLI, sweep, probe, Slurm, multinode, hardening);
#   2. the MPICH pass: a second build against MPICH, its MPI-facing tests under Hydra
#      (scripts/run-mpich.sh says which; HK_MPICH=0 skips it);
#   3. the `asan` preset (AddressSanitizer + UBSan, halt on the first error), the suite again
#      (the Slurm and multinode labels excepted: they test launches on live clusters, not memory;
#      and structure: it builds its own copy of the tree, without sanitizers);
#   4. the libFuzzer targets: committed inputs replayed, then fixed seeds and a fixed number of
#      runs (scripts/run-fuzz.sh; open-ended fuzzing is scripts/fuzz-forever.sh);
#   5. ThreadSanitizer runs of every kernel's threaded code (scripts/run-tsan.sh).
# Quick local run of step 1 only: HK_MPICH=0 HK_TEST_SANITIZERS=0 HK_FUZZ=0 scripts/run-tests.sh
# (HK_FUZZ_SECONDS=0, the older spelling, also skips step 4.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
# mpirun refuses root (CI, containers) unless told; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }

step "release: build"
cmake --preset release
cmake --build --preset release -j "$jobs"
step "release: tests"
ctest --preset release -j "$jobs" --timeout 600

if [ "${HK_MPICH:-1}" != 0 ]; then
  step "mpich: build and MPI-facing tests under Hydra"
  bash scripts/run-mpich.sh
fi

if [ "${HK_TEST_SANITIZERS:-1}" != 0 ]; then
  step "asan: build"
  cmake --preset asan
  cmake --build --preset asan -j "$jobs"
  step "asan: tests"
  ctest --preset asan -j "$jobs" --timeout 900 -LE "slurm|multinode|structure"
fi

if [ "${HK_FUZZ:-1}" != 0 ] && [ "${HK_FUZZ_SECONDS:-1}" != 0 ]; then
  step "fuzz"
  bash scripts/run-fuzz.sh
fi
if [ "${HK_TEST_SANITIZERS:-1}" != 0 ]; then
  step "tsan"
  bash scripts/run-tsan.sh
fi
step "all tests passed"
