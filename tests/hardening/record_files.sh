#!/usr/bin/env bash
# record_files.sh CASE HK HK_KERNEL: the record file, from hk-kernel's side (issue 13).
#   unwritable  a missing directory, a directory, /dev/full, a dangling link into a missing
#               directory, a read-only mount (root only): exit 2 with the reason within seconds,
#               before any work (the run asked for would take minutes), nothing created
#   torn_tail   `printf 'garbage\n{"half' > h.jsonl`, then `hk run --out h.jsonl`: the torn tail
#               is cut, the new record is whole and parses, the reader names the garbage line
#   non_utf8    a record file and an --input named with a byte that is not UTF-8: the run
#               records, and the bytes are escaped as \xNN in the record
set -u
case_name=$1 hk=$2 kernel=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
dir=$(mktemp -d /tmp/hk_record_files.XXXXXX)
trap 'umount "$dir/ro" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
# Minutes of Monte Carlo if it ever started.
long=(montecarlo --samples 4000000000000 --reps 1 --warmup 0)

refused() {  # refused WHAT OUT-PATH PATTERN [extra args]
  local what=$1 out=$2 pattern=$3
  shift 3
  local output status
  output=$(timeout 30 mpirun -np 2 --oversubscribe --bind-to none "$kernel" "${long[@]}" --out "$out" "$@" 2>&1)
  status=$?
  [ "$status" -eq 2 ] || fail "$what: exit status $status, expected 2: $output"
  grep -Eq -- "$pattern" <<<"$output" || fail "$what: no clear reason in: $output"
  echo "ok: $what -> $(grep -m1 'error' <<<"$output")"
}

case $case_name in
  unwritable)
    refused "missing directory" "$dir/missing/runs.jsonl" \
      "--out: cannot append the record to '.*/missing/runs.jsonl': the directory '.*/missing' cannot be used: No such file"
    mkdir "$dir/a_directory"
    refused "a directory" "$dir/a_directory" "--out: cannot append the record to '.*a_directory': it is a directory"
    refused "/dev/full" /dev/full "--out: cannot append the record to '/dev/full': it is not a regular file"
    ln -s "$dir/nowhere/runs.jsonl" "$dir/dangling.jsonl"
    refused "dangling link" "$dir/dangling.jsonl" "--out: .*the directory '.*/nowhere' cannot be used: No such file"
    refused "csv in a missing directory" "$dir/ok.jsonl" "--csv: cannot append the record to '.*/missing/x.csv'" \
      --csv "$dir/missing/x.csv"
    [ ! -e "$dir/ok.jsonl" ] || fail "a record file was created for a refused run"
    mkdir "$dir/ro"
    if mount -t tmpfs -o ro,size=64k tmpfs "$dir/ro" 2>/dev/null; then
      refused "read-only mount" "$dir/ro/runs.jsonl" "the directory '.*/ro' is not writable: Read-only file system"
    else
      echo "(read-only mount not tested: mounting needs root)"
    fi
    ;;
  torn_tail)
    printf 'garbage\n{"half' >"$dir/h.jsonl"
    "$hk" run montecarlo --samples 100000 --reps 1 --warmup 0 --ranks 1 --threads 1 --out "$dir/h.jsonl" \
      >"$dir/run.log" 2>&1 || { cat "$dir/run.log"; fail "hk run"; }
    grep -q "removed a torn last line (6 bytes)" "$dir/run.log" || fail "no warning about the torn line"
    [ "$(wc -l <"$dir/h.jsonl")" -eq 2 ] || fail "expected 2 lines: $(cat "$dir/h.jsonl")"
    [ "$(head -1 "$dir/h.jsonl")" = garbage ] || fail "the first line changed"
    grep -q '"half' "$dir/h.jsonl" && fail "the torn tail is still there"
    tail -1 "$dir/h.jsonl" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["status"]=="ok", r' \
      || fail "the new record does not parse"
    ;;
  non_utf8)
    name=$(printf 'caf\xe9')
    out="$dir/$name.jsonl"
    mpirun -np 1 --bind-to none "$kernel" filter --size 16x16 --reps 1 --warmup 0 --output "$dir/$name.png" \
      --out "$out" >"$dir/run.log" 2>&1 || { cat "$dir/run.log"; fail "the run"; }
    [ -s "$dir/$name.png" ] || fail "no output image"
    /usr/bin/python3 - "$out" <<'PY' || fail "record"
import json, sys
lines = open(sys.argv[1], "rb").read().decode("utf-8").splitlines()   # valid UTF-8 throughout
r = json.loads(lines[-1])
assert r["status"] == "ok", r["status"]
assert "caf\\xe9.png" in r["params"]["output"], r["params"]
assert "caf\\xe9.jsonl" in r["provenance"]["command"], r["provenance"]["command"]
print("ok: escaped as", r["params"]["output"])
PY
    [ -s "$dir/$name.csv" ] || fail "no CSV"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo ok
