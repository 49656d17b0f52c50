#!/usr/bin/env bash
# smoke_seeds.sh HK_KERNEL DIR: one CLI fuzz seed per smoke configuration a kernel declares
# (`hk-kernel list --smoke`), in the fuzz target's format (one argument per line), written to
# DIR/smoke-<kernel>-<n>. The cli fuzz target starts from these (scripts/run-fuzz.sh) and replays
# them (fuzz.replay.cli), so a new kernel is fuzzed without a seed written by hand.
set -euo pipefail
kernel_exe=$1 dir=$2
mkdir -p "$dir"
rm -f "$dir"/smoke-*
declare -A count=()
configs=$("$kernel_exe" list --smoke)
while read -r name args; do
  [ -n "$name" ] || continue
  count[$name]=$(( ${count[$name]:-0} + 1 ))
  # shellcheck disable=SC2086  # smoke arguments are words without spaces
  printf '%s\n' "$name" $args >"$dir/smoke-$name-${count[$name]}"
done <<<"$configs"
[ "${#count[@]}" -gt 0 ] || { echo "smoke_seeds: $kernel_exe list --smoke printed nothing" >&2; exit 1; }
echo "smoke_seeds: $(ls "$dir" | wc -l) seed(s) for ${!count[*]} in $dir"
