#!/usr/bin/env bash
# The MPICH pass of CI (issue 17): hybridkit built a second time, against MPICH
# (-DMPI_CXX_COMPILER=mpicxx.mpich, build/mpich), and its MPI-facing tests run under MPICH's
# launcher, Hydra (mpiexec.hydra). Open MPI stays the default MPI of the release/asan trees.
#
# Which tests: every kernel's mix matrix (<kernel>.smoke.RxT at 1-4 ranks x 1-2 threads, and its
# ok-on-every-mix check), Monte Carlo's bitwise-identical estimate across mixes (montecarlo.pi.*),
# the run checks (launch.*: the world-size check under Hydra and under Open MPI's mpirun, the
# thread-count check), and the unit tests of those checks and of hk-kernel's options.
# Not run here: tests that pass Open MPI's own flags to mpiexec by hand (cli.*, hardening), and
# those driving `hk run`/`hk sweep` (they launch with the default launcher's dialect).
# The whole pass is bounded by HK_MPICH_SECONDS (default 1200 s) so it cannot eat CI's time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
build=${HK_MPICH_BUILD:-build/mpich}
limit=${HK_MPICH_SECONDS:-1200}
hydra=$(command -v mpiexec.hydra || true)
if [ -z "$hydra" ] || ! command -v mpicxx.mpich >/dev/null; then
  echo "run-mpich: mpiexec.hydra or mpicxx.mpich missing (Debian: mpich libmpich-dev)" >&2
  exit 1
fi
start=$(date +%s)
pass() {
  set -euo pipefail
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHK_BUILD_BENCHMARKS=OFF \
    -DMPI_CXX_COMPILER=mpicxx.mpich -DMPI_C_COMPILER=mpicc.mpich -DMPIEXEC_EXECUTABLE="$hydra"
  grep -qi "libmpich" "$build/CMakeCache.txt" || { echo "run-mpich: the build tree did not find MPICH" >&2; return 1; }
  cmake --build "$build" -j "$jobs" --target hk-kernel hk-check-records hk_unit_tests
  # The MPI library hk-kernel really links (not just what CMake says).
  ldd "$build/drivers/hk-kernel" | grep -q libmpich || { echo "run-mpich: hk-kernel is not linked against MPICH" >&2; return 1; }
  ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 300 \
    -R '^([a-z]+\.smoke\.|montecarlo\.pi\.|launch\.|RunChecks\.|Options\.)' -E 'hk_run|^cli\.'
}
export -f pass
export build jobs hydra
timeout --kill-after=30 "$limit" bash -c pass
echo "run-mpich: the MPICH pass took $(( $(date +%s) - start )) s (bound ${limit} s)"
