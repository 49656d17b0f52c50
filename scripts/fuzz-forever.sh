#!/usr/bin/env bash
# Open-ended fuzzing, not part of the test command: each target for HK_FUZZ_SECONDS (default 600)
# per round from a random seed, for HK_FUZZ_ROUNDS rounds (default 1; 0: until stopped). The
# corpus grows in build/fuzz/corpus/<target> (kept between runs, never committed as is); every
# crash, leak, timeout or out-of-memory input is copied to tests/fuzz/regressions/<target>/ —
# commit it with the fix, and fuzz.replay.<target> replays it from then on.
#   scripts/fuzz-forever.sh [target...]     targets: records cli image (default: all)
# Runs at low priority (nice) so that it can share a machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${HK_FUZZ_SECONDS:-600}
rounds=${HK_FUZZ_ROUNDS:-1}
build=build/fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(records cli image)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DHK_BUILD_FUZZERS=ON -DHK_BUILD_TESTS=OFF -DHK_BUILD_BENCHMARKS=OFF >/dev/null
nice cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/hk_fuzz_}"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
found=0
round=0
while [ "$rounds" -eq 0 ] || [ "$round" -lt "$rounds" ]; do
  round=$((round + 1))
  for t in "${targets[@]}"; do
    corpus=$build/corpus/$t
    mkdir -p "$corpus"
    artifacts=$(mktemp -d)
    seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    echo "fuzz-forever: round $round, $t for $seconds s, seed $seed"
    if ! nice "$build/tests/fuzz/hk_fuzz_$t" -seed="$seed" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
         -max_len=65536 -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "tests/fuzz/corpus/$t" \
         "tests/fuzz/regressions/$t" >"$artifacts.log" 2>&1; then
      tail -40 "$artifacts.log"
      for crash in "$artifacts"/*; do
        [ -e "$crash" ] || continue
        cp "$crash" "tests/fuzz/regressions/$t/"
        echo "fuzz-forever: $t: new failing input tests/fuzz/regressions/$t/$(basename "$crash") (seed $seed)"
        found=1
      done
    else
      grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" "$artifacts.log" | sed "s/^/fuzz-forever: $t /"
    fi
    rm -rf "$artifacts" "$artifacts.log"
  done
done
exit $found
