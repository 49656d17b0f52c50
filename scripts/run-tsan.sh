#!/usr/bin/env bash
# Race checking of the threaded code: hk-kernel built with clang + ThreadSanitizer, OpenMP from
# LLVM's runtime with the Archer tool loaded (it tells TSan about OpenMP's barriers, tasks and
# reductions, so OpenMP synchronisation is not reported as races). Runs every kernel and variant
# at 1 rank x 2 threads and 2 ranks x 2 threads on small problems. Reports inside Open MPI's
# libraries (not built with TSan) are suppressed by library, see tests/tsan/suppressions.supp;
# accesses from other uninstrumented libraries (LLVM's OpenMP runtime itself, libc) are ignored
# (ignore_noninstrumented_modules=1, as Archer asks). A deliberate race (tests/tsan/canary.cpp)
# must be reported first, so options that hid our races would fail the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
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
runs=(
  "montecarlo --problem pi --samples 2000000"
  "montecarlo --problem option --samples 300000"
)
kernels=$("$kernel" list)   # (not piped into grep -q: its early exit would fail the pipeline)
if grep -q '^matmul:' <<<"$kernels"; then
  for v in rowblock summa shared; do runs+=("matmul --n 97 --variant $v --block 16"); done
fi
if grep -q '^filter:' <<<"$kernels"; then
  for v in blocking overlap; do
    runs+=("filter --filter gaussian --sigma 1.5 --size 131x67 --iterations 2 --variant $v")
    runs+=("filter --filter sobel --size 64x61 --variant $v")
  done
fi
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
for ranks in 1 2; do
  for args in "${runs[@]}"; do
    # shellcheck disable=SC2086
    if mpirun -np "$ranks" --oversubscribe --bind-to none -x OMP_TOOL_LIBRARIES -x ARCHER_OPTIONS -x TSAN_OPTIONS \
         "$kernel" $args --threads 2 --reps 2 --warmup 1 >"$build/tsan.log" 2>&1; then
      echo "tsan: ok      ${ranks}x2 $args"
    else
      status=1
      echo "tsan: FAILED  ${ranks}x2 $args"
      grep -A30 "WARNING: ThreadSanitizer" "$build/tsan.log" | head -60 || tail -30 "$build/tsan.log"
    fi
  done
done
exit $status
