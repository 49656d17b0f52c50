#!/usr/bin/env bash
# The fuzz step of the test command: the same inputs on every run, so the same verdict.
# Builds the libFuzzer targets with clang (ASan + UBSan), then for each target:
#   1. replays every committed input (tests/fuzz/corpus/<target>, tests/fuzz/regressions/<target>;
#      for cli also one seed per smoke configuration of every kernel, tests/fuzz/smoke_seeds.sh);
#   2. fuzzes from fixed seeds for a fixed number of inputs (-seed=N -runs=M), starting from the
#      committed corpus (new inputs go to a temporary directory; nothing is written back).
# Same seed, same inputs, same verdict: measured with two runs of each target giving identical
# logs and corpora. That needs the seed corpus in one order (-seed_inputs, sorted: a directory is
# read in the file system's order), no corpus reloads on a timer (-reload=0), no mutations from
# compared values (-use_cmp=0: heap addresses compared inside stb differ between runs) and no
# address randomisation (setarch -R: the coverage of some paths depends on addresses).
# Fails on any crash, leak, timeout or out-of-memory; the offending input is copied to
# tests/fuzz/regressions/<target>/ so that, once committed, it is replayed by fuzz.replay.<target>.
# The number of inputs does not depend on the machine's speed (no time limit decides it); the
# runs were sized for about a minute and a half on 2 cores (see docs/testing.md).
# HK_FUZZ_RUNS_SCALE multiplies the runs (e.g. 0.1 for a quick check). Open-ended fuzzing with
# random seeds: scripts/fuzz-forever.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build/fuzz
seeds=(1 2 3)
declare -A runs=([records]=8000 [cli]=3000 [image]=20000 [exec]=20000)  # per seed
scale=${HK_FUZZ_RUNS_SCALE:-1}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DHK_BUILD_FUZZERS=ON -DHK_BUILD_TESTS=OFF -DHK_BUILD_BENCHMARKS=OFF >/dev/null
targets=(records cli image exec)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/hk_fuzz_}" hk-kernel
# The cli target starts also from one seed per smoke configuration of every kernel (`hk-kernel
# list --smoke`: the same seeds for the same tree).
smoke_seeds=$(mktemp -d)
trap 'rm -rf "$smoke_seeds"' EXIT
bash tests/fuzz/smoke_seeds.sh "$build/drivers/hk-kernel" "$smoke_seeds/cli" >/dev/null
mkdir -p "$smoke_seeds/records" "$smoke_seeds/image" "$smoke_seeds/exec"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
options=(-timeout=25 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -reload=0 -use_cmp=0)
fixed=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  fixed=(setarch "$(uname -m)" -R)
else
  echo "fuzz: WARNING: setarch -R is not allowed here: addresses are random, runs may differ slightly"
fi

# Runs the fuzzer with "$@"; on failure prints its log and keeps the crashing input.
fuzz() {
  local target=$1 what=$2
  shift 2
  local artifacts log
  artifacts=$(mktemp -d)
  log=$(mktemp)
  if "${fixed[@]}" "$build/tests/fuzz/hk_fuzz_$target" "${options[@]}" -artifact_prefix="$artifacts/" "$@" \
       >"$log" 2>&1; then
    echo "fuzz: $target $what: ok ($(grep -aE 'stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" |
      sed -E 's/stat::number_of_executed_units: */inputs /; s/stat::new_units_added: */new coverage units /;
              s/stat::peak_rss_mb: *([0-9]+)/peak RSS \1 MiB/' | paste -sd, -))"
    rm -rf "$artifacts" "$log"
    return 0
  fi
  tail -40 "$log"
  for crash in "$artifacts"/*; do
    [ -e "$crash" ] || continue
    cp "$crash" "tests/fuzz/regressions/$target/$(basename "$crash")"
    echo "fuzz: $target $what FAILED; input saved as tests/fuzz/regressions/$target/$(basename "$crash")"
  done
  rm -rf "$artifacts" "$log"
  return 1
}

status=0
for t in "${targets[@]}"; do
  start=$SECONDS
  shopt -s nullglob
  seeds_of_t=(tests/fuzz/corpus/"$t"/* "$smoke_seeds/$t"/*)
  committed=("${seeds_of_t[@]}" tests/fuzz/regressions/"$t"/*)
  shopt -u nullglob
  fuzz "$t" "replay of ${#committed[@]} committed inputs" -runs=1 "${committed[@]}" || status=1
  n=$(awk -v r="${runs[$t]}" -v s="$scale" 'BEGIN { n = int(r * s); print (n < 1 ? 1 : n) }')
  seeds_file=$(mktemp)
  printf '%s\n' "${seeds_of_t[@]/#tests/$root/tests}" | LC_ALL=C sort | paste -sd, - >"$seeds_file"
  for seed in "${seeds[@]}"; do
    work=$(mktemp -d)
    fuzz "$t" "seed $seed, $n runs" -seed="$seed" -runs="$n" -seed_inputs=@"$seeds_file" "$work" || status=1
    rm -rf "$work"
  done
  rm -f "$seeds_file"
  echo "fuzz: $t took $((SECONDS - start)) s"
done
exit $status
