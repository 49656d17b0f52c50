#!/usr/bin/env bash
# run_checks.sh CASE DIR HK_KERNEL CHECK_RECORDS: one case of the world-size and thread-count
# checks. HK_TEST_LAUNCHER is the launcher of this build with its flags (words), and
# HK_TEST_FOREIGN_LAUNCHER the other MPI's.
set -u
case_name=$1 dir=$2 kernel=$3 check=$4
read -r -a launcher <<<"$HK_TEST_LAUNCHER"
read -r -a foreign <<<"${HK_TEST_FOREIGN_LAUNCHER:-}"
rm -rf "$dir" && mkdir -p "$dir"
out=$dir/records.jsonl
small=(montecarlo --samples 200000 --reps 1 --warmup 0 --out "$out")

fail() { echo "run_checks: FAILED ($case_name): $*" >&2; exit 1; }
# run EXPECTED_STATUS command...: runs it (60 s at most), keeps its output in $dir/output.
run() {
  local want=$1
  shift
  timeout --kill-after=5 50 "$@" >"$dir/output" 2>&1
  local got=$?
  cat "$dir/output"
  [ "$got" -eq "$want" ] || fail "exit status $got, expected $want: $*"
}
# lines REGEX COUNT: the output has exactly COUNT lines matching REGEX.
lines() {
  local n
  n=$(grep -Ec -- "$1" "$dir/output")
  [ "$n" -eq "$2" ] || fail "$n line(s) match /$1/, expected $2"
}
no_record() { [ ! -s "$out" ] || fail "a record was written: $(cat "$out")"; }

case $case_name in
  world_size_agrees)
    run 0 "${launcher[@]}" -n 2 "$kernel" "${small[@]}" --expect-ranks 2
    "$check" "$out" --count 1 --status ok || fail "no ok record of 2 ranks"
    ;;
  world_size_differs)  # more ranks than asked: rank 0 says so once; every process exits 3
    run 3 "${launcher[@]}" -n 2 "$kernel" "${small[@]}" --expect-ranks 3
    lines '^hk-kernel: error: asked for 3 ranks, MPI_COMM_WORLD has 2; ' 1
    no_record
    ;;
  foreign_launcher)  # the other MPI's launcher: two singletons, each says it and exits 3
    run 3 "${foreign[@]}" -n 2 "$kernel" "${small[@]}" --expect-ranks 2
    lines '^hk-kernel: error: asked for 2 ranks, MPI_COMM_WORLD has 1; each process is a singleton' 2
    no_record
    ;;
  hk_run_foreign_launcher)  # hk run with the other MPI's launcher: its dialect, then exit 3 and an error record
    "$HK_TEST_HK" run montecarlo --samples 200000 --reps 1 --warmup 0 --ranks 2 --threads 1 \
      --launcher-path "${foreign[0]}" --dry-run >"$dir/dry" 2>&1 || fail "dry run: $(cat "$dir/dry")"
    grep -q -- "-n 2 -ppn 2 -bind-to user:0,1 -genv OMP_NUM_THREADS 1 " "$dir/dry" || fail "not Hydra's words: $(cat "$dir/dry")"
    grep -q -- "--expect-ranks=2" "$dir/dry" || fail "hk does not pass --expect-ranks: $(cat "$dir/dry")"
    run 3 "$HK_TEST_HK" run montecarlo --samples 200000 --reps 1 --warmup 0 --ranks 2 --threads 1 \
      --launcher-path "${foreign[0]}" --out "$out"
    grep -q "asked for 2 ranks, MPI_COMM_WORLD has 1" "$dir/output" || fail "no world-size line"
    "$check" "$out" --count 1 --status error || fail "not recorded as one error"
    grep -q '"dialect":"hydra"' "$out" || fail "the record does not name the hydra dialect: $(cat "$out")"
    ;;
  thread_limit)  # OMP_THREAD_LIMIT=1 caps --threads 2: an error record, never ok
    OMP_THREAD_LIMIT=1 run 3 "${launcher[@]}" -n 1 "$kernel" "${small[@]}" --threads 2
    lines '^hk-kernel: error: asked for 2 OpenMP threads per rank, the parallel region runs 1; OMP_THREAD_LIMIT=1' 1
    "$check" "$out" --count 1 --status error || fail "no error record"
    ;;
  *) fail "unknown case" ;;
esac
echo "run_checks: ok ($case_name)"
