#!/usr/bin/env bash
# Race checking of the threaded code: hk-kernel built with clang + ThreadSanitizer, OpenMP from
# LLVM's runtime with the Archer tool loaded (it tells TSan about OpenMP's barriers, tasks and
# reductions, so OpenMP synchronisation is not reported as races). Runs every smoke configuration
# every kernel declares (`hk-kernel list --smoke`: each kernel's variants on small problems) at
# 1 rank x 2 threads and 2 ranks x 2 threads, so a new kernel is checked without a line here.
# Reports inside Open MPI's libraries (not built with TSan) are suppressed by library, see
# tests/tsan/suppressions.supp; accesses from other uninstrumented libraries (LLVM's OpenMP
# runtime itself, libc) are ignored (ignore_noninstrumented_modules=1, as Archer asks). A
# deliberate race (tests/tsan/canary.cpp) must be reported first, so options that hid our races
# would fail the run.
#   scripts/run-tsan.sh                     build build/tsan and run everything
#   scripts/run-tsan.sh --list [HK_KERNEL]  only print the runs ("RxT KERNEL ARGS"), from the
#                                           given hk-kernel (default build/release's); no build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mixes=(1 2)    # ranks; every run has 2 threads per rank

# "RxT kernel args..." for every smoke configuration and mix.
tsan_runs() {
  local configs
  configs=$("$1" list --smoke)
  for ranks in "${mixes[@]}"; do
    while read -r line; do
      [ -n "$line" ] && echo "${ranks}x2 $line"
    done <<<"$configs"
  done
}

if [ "${1:-}" = --list ]; then
  tsan_runs "${2:-$root/build/release/drivers/hk-kernel}"
  exit 0
fi

cd "$root"
build=build/tsan
archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$archer" ]; then
  echo "tsan: error: LLVM's Archer (libarcher.so, package libomp-dev) is not installed; scripts/install-deps.sh installs it" >&2
  exit 2
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DHK_TSAN=ON -DHK_BUILD_TESTS=OFF -DHK_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target hk-kernel hk_tsan_canary
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_TOOL_LIBRARIES="$archer" ARCHER_OPTIONS="verbose=0"
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$root/tests/tsan/suppressions.supp report_signal_unsafe=0 ignore_noninstrumented_modules=1"
kernel="$build/drivers/hk-kernel"
runs=$(tsan_runs "$kernel")
status=0
if "$build/hk_tsan_canary" >"$build/canary.log" 2>&1; then
  status=1
  echo "tsan: FAILED  the deliberate race in tests/tsan/canary.cpp was not reported"
elif grep -q "WARNING: ThreadSanitizer: data race" "$build/canary.log"; then
  echo "tsan: ok      canary: the deliberate race is reported"
else
  status=1
  echo "tsan: FAILED  canary exited without a race report:"; tail -20 "$build/canary.log"
fi
while read -r mix args; do
  # shellcheck disable=SC2086  # smoke arguments are words without spaces
  if mpirun -np "${mix%x*}" --oversubscribe --bind-to none -x OMP_TOOL_LIBRARIES -x ARCHER_OPTIONS -x TSAN_OPTIONS \
       "$kernel" $args --threads "${mix#*x}" --reps 2 --warmup 1 </dev/null >"$build/tsan.log" 2>&1; then
    echo "tsan: ok      $mix $args"
  else
    status=1
    echo "tsan: FAILED  $mix $args"
    grep -A30 "WARNING: ThreadSanitizer" "$build/tsan.log" | head -60 || tail -30 "$build/tsan.log"
  fi
done <<<"$runs"
exit $status
