#!/usr/bin/env bash
# fourth_kernel.sh SOURCE_DIR: "a kernel is one folder". Copies the source tree, adds
# tests/structure/vsum/ as kernels/vsum/ and nothing else, configures a small build (-O0 without
# -g, the fastest to compile; benchmarks off, no -march=native) of hk-kernel and hk only, and
# checks that vsum is
#   - registered:                 hk-kernel list;
#   - swept:                      hk sweep all --dry-run;
#   - mix-tested:                 ctest -N lists vsum.smoke.RxT for the whole 4 x 2 matrix;
#   - race-checked:               scripts/run-tsan.sh --list;
#   - fuzzed:                     its smoke configuration becomes a CLI fuzz seed;
# and that it runs and verifies on 2 ranks. Prints the seconds each step took.
set -u
src=$1
fail() { echo "FAILED: $*"; exit 1; }
work=$(mktemp -d /tmp/hk_fourth_kernel.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# ccache (when the build uses it) hits across runs although the copy's folder changes.
export CCACHE_BASEDIR=$work CCACHE_NOHASHDIR=1
t0=$(date +%s)
# The tree as it is (tracked and untracked files, not the builds or .git).
tar -C "$src" --exclude=./build --exclude=./.git -cf - . | tar -C "$work" -xf - || fail "copying the tree"
tree=$work
[ ! -e "$tree/kernels/vsum" ] || fail "kernels/vsum exists already"
cp -r "$src/tests/structure/vsum" "$tree/kernels/vsum"
build=$tree/build/structure
cmake -S "$tree" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DHK_NATIVE=OFF -DHK_BUILD_BENCHMARKS=OFF >"$work/configure.log" 2>&1 \
  || { tail -30 "$work/configure.log"; fail "configure"; }
t1=$(date +%s)
cmake --build "$build" -j "$(nproc)" --target hk-kernel hk >"$work/build.log" 2>&1 \
  || { grep -E "error" "$work/build.log" | head -20; fail "build"; }
t2=$(date +%s)
kernel=$build/drivers/hk-kernel
hk=$build/drivers/hk

"$kernel" list | grep -q "^vsum: vector sum" || fail "hk-kernel list does not show vsum"
echo "ok: hk-kernel list shows vsum"
"$kernel" list --smoke | grep -qx "vsum --n 100003" || fail "hk-kernel list --smoke: $("$kernel" list --smoke)"
echo "ok: hk-kernel list --smoke has its smoke configuration"
"$hk" sweep all --cores 2 --mixes 2x1,1x2 --dry-run --out "$work/sweep" >"$work/sweep.log" 2>&1 \
  || { cat "$work/sweep.log"; fail "hk sweep all --dry-run"; }
[ "$(grep -c "hk-kernel vsum" "$work/sweep.log")" = 2 ] || { cat "$work/sweep.log"; fail "vsum not in the sweep"; }
echo "ok: hk sweep all --dry-run runs vsum on both mixes"
tests=$(cd "$build" && ctest -N)
for ranks in 1 2 3 4; do
  for threads in 1 2; do
    grep -q "vsum.smoke.${ranks}x${threads}\$" <<<"$tests" || fail "no mix test vsum.smoke.${ranks}x${threads}"
  done
done
grep -q "vsum.smoke.ok_on_every_mix\$" <<<"$tests" || fail "no check of the vsum records"
echo "ok: ctest -N lists the 8 vsum mix tests and their check"
tsan=$(bash "$tree/scripts/run-tsan.sh" --list "$kernel") || fail "run-tsan.sh --list"
grep -q "^1x2 vsum --n 100003\$" <<<"$tsan" && grep -q "^2x2 vsum --n 100003\$" <<<"$tsan" \
  || { echo "$tsan"; fail "vsum not in the TSan runs"; }
echo "ok: scripts/run-tsan.sh --list runs vsum on 1x2 and 2x2"
bash "$tree/tests/fuzz/smoke_seeds.sh" "$kernel" "$work/seeds" || fail "smoke_seeds.sh"
grep -qx "vsum" "$work/seeds/smoke-vsum-1" || fail "no CLI fuzz seed for vsum"
echo "ok: the CLI fuzz seeds include vsum"
OMP_NUM_THREADS=1 mpirun -np 2 --oversubscribe --bind-to none "$kernel" vsum --n 100003 --reps 1 --warmup 0 \
  --out "$work/vsum.jsonl" >"$work/run.log" 2>&1 || { cat "$work/run.log"; fail "vsum on 2 ranks"; }
grep -q "verified yes" "$work/run.log" || fail "vsum did not verify"
echo "ok: vsum runs and verifies on 2 ranks"
t3=$(date +%s)
echo "seconds: copy+configure $((t1 - t0)), build hk-kernel+hk $((t2 - t1)), checks $((t3 - t2)), total $((t3 - t0))"
echo ok
