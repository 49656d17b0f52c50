#!/usr/bin/env bash
# expect_exit.sh CODE REGEX SECONDS command...: the command must exit with CODE within SECONDS,
# and its combined output must match the extended REGEX (empty: anything). With EXPECT_OUR_LINES=N
# in the environment, exactly N lines of the output must be ours (start "hk: " or "hk-kernel: ";
# mpirun's and qemu's own lines are not counted): a refusal is one clear line, not one per rank.
set -u
want=$1 pattern=$2 limit=$3
shift 3
output=$(timeout --kill-after=5 "$limit" "$@" 2>&1)
got=$?
printf '%s\n' "$output"
if [ "$got" -eq 124 ] || [ "$got" -eq 137 ]; then
  echo "expect_exit: FAILED: did not finish within ${limit} s" >&2
  exit 1
fi
if [ "$got" -ne "$want" ]; then
  echo "expect_exit: FAILED: exit status $got, expected $want" >&2
  exit 1
fi
ours=$(grep -cE '^(hk|hk-kernel): ' <<<"$output")
if [ -n "${EXPECT_OUR_LINES:-}" ] && [ "$ours" -ne "$EXPECT_OUR_LINES" ]; then
  echo "expect_exit: FAILED: $ours lines of ours, expected exactly $EXPECT_OUR_LINES" >&2
  exit 1
fi
if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "expect_exit: FAILED: output does not match /$pattern/" >&2
  exit 1
fi
echo "expect_exit: ok (status $got)"
