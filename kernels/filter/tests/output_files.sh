#!/usr/bin/env bash
# output_files.sh HK_KERNEL HK IMAGE CHECK_RECORDS: where the filter's --output may point.
#  - the --input file itself, by the same name, through a symbolic link or a hard link: refused
#    (exit 2, one line) by hk-kernel and by hk run before anything starts; the input is untouched;
#  - a FIFO: refused at once (opening it for writing would wait for a reader forever);
#  - a link to /dev/full: the run completes, then the write fails: the record says `error` with
#    the reason and keeps the timings and the verification; exit 3 (it was MPI_ABORT, no record).
set -u
kernel=$1 hk=$2 image=$3 check=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$image" "$dir/in.png"
ln -s "$dir/in.png" "$dir/symlink.png"
ln "$dir/in.png" "$dir/hardlink.png"
fail() { echo "FAILED: $*"; exit 1; }

expect() {  # expect STATUS REGEX command...
  local want=$1 pattern=$2
  shift 2
  local output status
  output=$(timeout 60 "$@" 2>&1)
  status=$?
  [ "$status" -eq "$want" ] || fail "status $status (expected $want) from: $* -> $output"
  grep -Eq -- "$pattern" <<<"$output" || fail "no /$pattern/ in the output of: $* -> $output"
  echo "ok: $want from ${*:2}"
}

for out in in.png symlink.png hardlink.png; do
  expect 2 "--output $dir/$out: is the same file as --input $dir/in.png" \
    "$kernel" filter --input "$dir/in.png" --output "$dir/$out" --reps 1 --warmup 0
  expect 2 "--output $dir/$out: is the same file as --input" \
    "$hk" run filter --input "$dir/in.png" --output "$dir/$out" --ranks 1 --threads 1
done
cmp -s "$image" "$dir/in.png" || fail "the input image was changed"

mkfifo "$dir/fifo.png"
expect 2 "--output $dir/fifo.png: cannot be written: is a FIFO" \
  "$kernel" filter --size 16x16 --output "$dir/fifo.png" --reps 1 --warmup 0

ln -s /dev/full "$dir/full.png"
expect 3 "No space left on device" \
  "$kernel" filter --size 64x64 --output "$dir/full.png" --reps 2 --warmup 0 --out "$dir/runs.jsonl"
"$check" "$dir/runs.jsonl" --count 1 --status error --true /verification/passed || fail "record"
grep -q '"error":"[^"]*full.png: write failed: No space left on device"' "$dir/runs.jsonl" || fail "no reason in the record"
grep -q '"median":[0-9]' "$dir/runs.jsonl" || fail "the record lost the timings"
echo ok
