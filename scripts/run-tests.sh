#!/usr/bin/env bash
# Installs what is missing, builds (Release) and runs the whole test suite with CTest.
# Usage: scripts/run-tests.sh            (from anywhere; build goes to build/release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
# mpirun refuses root (CI, containers) unless told; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs" --timeout 600
