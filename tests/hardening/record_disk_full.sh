#!/usr/bin/env bash
# record_disk_full.sh HK_KERNEL CHECK_RECORDS: when the disk holding the record file is full
# (a 16 KiB tmpfs filled up), the run fails with a clear error and exit status 3, the records
# already written stay intact and readable (the half-written line is cut back), and appending
# works again once space is back. Needs root to mount; otherwise skipped (status 77) with why.
set -u
kernel=$1 check=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fs=$(mktemp -d /tmp/hk_disk_full.XXXXXX)
if ! mount -t tmpfs -o size=16k tmpfs "$fs" 2>/dev/null; then
  echo "SKIPPED: cannot mount a small tmpfs here (needs root): the disk-full guarantee is untested"
  rmdir "$fs"; exit 77
fi
cleanup() { umount "$fs" 2>/dev/null; rmdir "$fs" 2>/dev/null; }
trap cleanup EXIT
file=$fs/runs.jsonl
run() { mpirun -np 1 --bind-to none "$kernel" montecarlo --samples 100000 --reps 1 --warmup 0 --out "$file" "$@"; }
run >/dev/null || { echo "FAILED: first run"; exit 1; }
run >/dev/null || { echo "FAILED: second run"; exit 1; }
size=$(stat -c %s "$file")
# Fill the filesystem: the next record finds only the rest of its file's last page.
dd if=/dev/zero of="$fs/filler" bs=1024 count=64 2>/dev/null
output=$(run 2>&1); status=$?
grep -E "error" <<<"$output" | head -3
if [ "$status" -ne 3 ]; then echo "FAILED: status $status on a full disk, expected 3"; exit 1; fi
grep -q "the record was not written: cannot append to '$file': No space left on device" <<<"$output" \
  || { echo "FAILED: no clear message"; exit 1; }
"$check" "$file" --count 2 --status ok || { echo "FAILED: records damaged"; exit 1; }
[ "$(stat -c %s "$file")" -eq "$size" ] || { echo "FAILED: a partial line was left ($(stat -c %s "$file") bytes, was $size)"; exit 1; }
rm -f "$fs/filler"
run >/dev/null || { echo "FAILED: run after space came back"; exit 1; }
"$check" "$file" --count 3 --status ok || exit 1
echo ok
