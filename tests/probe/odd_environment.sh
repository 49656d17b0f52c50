#!/usr/bin/env bash
# odd_environment.sh HK: hk probe where the system is odd (issue 13).
#  - TMPDIR names a missing directory: only the MPI rows need a scratch directory, so they are
#    unavailable with the reason and everything else runs (it failed the whole probe);
#  - --mpirun holds a byte that is not UTF-8 (a legal path): the JSON is still written, the byte
#    as the text \xNN (it threw after every measurement and wrote nothing).
set -u
hk=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
odd=$(printf '/nonexistent/mpirun\xe9')
output=$(TMPDIR=/nonexistent timeout 300 "$hk" probe --quick --timing-verdicts report --mpirun "$odd" --json "$dir/probe.json" 2>&1)
status=$?
[ "$status" -eq 0 ] || fail "exit status $status: $output"
grep -q "MPI rows unavailable: cannot create a scratch directory '/nonexistent/hk-probe-" <<<"$output" ||
  fail "no reason for the missing MPI rows: $output"
/usr/bin/python3 - "$dir/probe.json" <<'PY' || fail "probe.json"
import json, sys
probe = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))  # valid UTF-8 throughout
assert probe["settings"]["mpirun"] == "/nonexistent/mpirun\\xe9", probe["settings"]["mpirun"]
assert probe["mpi"]["available"] is False, probe["mpi"]
print("ok: settings.mpirun written as", probe["settings"]["mpirun"])
PY
echo ok
