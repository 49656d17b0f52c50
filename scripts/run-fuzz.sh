#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for HK_FUZZ_SECONDS
# (default 60) from the seed corpus in tests/fuzz/corpus. Fails on any crash, leak or timeout;
# the offending input is copied to tests/fuzz/regressions/<target>/ so it becomes a regression
# test (fuzz.replay.<target>) once committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${HK_FUZZ_SECONDS:-60}
build=build/fuzz
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DHK_BUILD_FUZZERS=ON -DHK_BUILD_TESTS=OFF -DHK_BUILD_BENCHMARKS=OFF >/dev/null
targets=(records cli image)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/hk_fuzz_}" hk-kernel
# The cli target starts also from one seed per smoke configuration of every kernel.
smoke_seeds=$(mktemp -d)
bash tests/fuzz/smoke_seeds.sh "$build/drivers/hk-kernel" "$smoke_seeds" >/dev/null
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)   # the run's corpus grows here; the committed seeds stay as they are
  artifacts=$(mktemp -d)
  echo "fuzz: $t for ${seconds} s"
  if ! ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       "$build/tests/fuzz/hk_fuzz_$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
       -max_len=65536 -artifact_prefix="$artifacts/" -print_final_stats=1 "$work" "tests/fuzz/corpus/$t" $([ "$t" = cli ] && echo "$smoke_seeds") \
       >"$work.log" 2>&1; then
    status=1
    tail -40 "$work.log"
    for crash in "$artifacts"/*; do
      [ -e "$crash" ] || continue
      cp "$crash" "tests/fuzz/regressions/$t/$(basename "$crash")"
      echo "fuzz: $t FAILED; input saved as tests/fuzz/regressions/$t/$(basename "$crash")"
    done
  else
    grep -E "stat::number_of_executed_runs|stat::peak_rss_mb" "$work.log" | sed "s/^/fuzz: $t /"
    echo "fuzz: $t ok"
  fi
  rm -rf "$work" "$work.log" "$artifacts"
done
rm -rf "$smoke_seeds"
exit $status
