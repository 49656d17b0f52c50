#!/bin/bash
# End-to-end tests of hk sweep / hk plot with real launches (mpirun, the real hk-kernel, and a
# fake kernel that crashes, hangs or fails for chosen mixes). Usage: sweep_e2e.sh CASE
# Environment: HK, HK_REAL_KERNEL, FAKE_KERNEL, CHECK (hk-check-records), WORK (scratch dir), PLOT_PYTHON.
set -u
case_name=$1
dir=$WORK/$case_name
rm -rf "$dir"
mkdir -p "$dir"
export HK_REAL_KERNEL HK_FAKE_PIDS=$dir/pids
small=(--samples 200000 --warmup 0)  # and --reps 1 or 3
fail() { echo "FAILED: $*" >&2; exit 1; }
lines() { [ -f "$1" ] && grep -c '' "$1" || echo 0; }
alive() { # pids from the fake kernel's file that still run (zombies count as gone)
  local pid state
  for pid in $(cat "$HK_FAKE_PIDS" 2>/dev/null); do
    state=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null) || continue
    [ -n "$state" ] && [ "$state" != Z ] && echo "$pid"
  done
}
csv_rows() { # data rows of a CSV file (cells may hold newlines)
  /usr/bin/python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline=""))))-1)' "$1"
}
field() { # field POINTER-ish python expression over each record, one line each
  /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): r=json.loads(l); print(eval(sys.argv[2]))' "$1" "$2"
}

case $case_name in
  real)  # the real kernel: strong scaling on 2 cores, records complete, resume skips everything
    "$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 2 --scaling strong --out "$dir" || fail "sweep exit $?"
    "$CHECK" "$dir/runs.jsonl" --count 3 --status ok --same /result/estimate_bits || fail "records"
    [ "$(csv_rows "$dir/runs.csv")" = 3 ] || fail "runs.csv should have a header and 3 rows"
    [ "$(field "$dir/runs.jsonl" '"%dx%d:%s" % (r["ranks"], r["threads"], r["sweep"]["families"])' | tr '\n' ' ')" = \
      "1x1:[1, 2] 2x1:[1] 1x2:[2] " ] || fail "mixes/families"
    /usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["machine"]["cores"]>=1 and s["state"]=="finished" and s["summary"]["ok"]==3 and "hk sweep montecarlo" in s["command"], s' \
      "$dir/sweep.json" || fail "sweep.json"
    out=$("$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 2 --scaling strong --out "$dir" --resume 2>&1) || fail "resume exit"
    echo "$out"
    [ "$(grep -c 'already recorded ok' <<<"$out")" = 3 ] || fail "resume should skip all 3"
    [ "$(lines "$dir/runs.jsonl")" = 3 ] || fail "resume added records"
    ;;
  failures)  # crash, error and verify_failed are recorded, the sweep goes on, exit status 1
    HK_FAKE_MODE="3x1=crash,1x3=fail,1x1=verify" "$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 3 --oversubscribe \
      --mixes 3x1,1x3,1x1 --kernel-exe "$FAKE_KERNEL" --out "$dir" 2>&1 | tee "$dir/log"
    [ "${PIPESTATUS[0]}" = 1 ] || fail "exit status should be 1 when a configuration is not ok"
    got=$(field "$dir/runs.jsonl" '"%dx%d:%s:%s" % (r["ranks"], r["threads"], r["status"], r["sweep"]["signal"])' | tr '\n' ' ')
    [ "$got" = "1x1:verify_failed:None 3x1:crashed:11 1x3:error:None " ] || fail "statuses: $got"
    field "$dir/runs.jsonl" 'r.get("error","")' | grep "giving up" >/dev/null || fail "stderr tail missing from the error"
    [ "$(csv_rows "$dir/runs.csv")" = 3 ] || fail "runs.csv rows"
    "$CHECK" "$dir/runs.jsonl" --count 3 --complete || fail "a failure record lacks a field of the schema"
    grep -q "WARNING: 3x1 = 3 cores oversubscribes" "$dir/log" || fail "no oversubscription warning"
    field "$dir/runs.jsonl" 'r["sweep"]["oversubscribed"]' | grep True >/dev/null || fail "oversubscription not recorded"
    ;;
  timeout)  # a hanging configuration (ranks ignore SIGTERM) is killed whole at the limit, the next one runs
    start=$(date +%s)
    HK_FAKE_MODE="2x1=sleep" "$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 2 --timeout 3 \
      --kernel-exe "$FAKE_KERNEL" --out "$dir"
    [ $? = 1 ] || fail "exit status should be 1"
    [ $(( $(date +%s) - start )) -lt 30 ] || fail "took too long"
    got=$(field "$dir/runs.jsonl" '"%dx%d:%s" % (r["ranks"], r["threads"], r["status"])' | tr '\n' ' ')
    [ "$got" = "2x1:timeout 1x2:ok " ] || fail "statuses: $got"
    [ -s "$HK_FAKE_PIDS" ] || fail "the fake ranks did not start"
    sleep 1
    [ -z "$(alive)" ] || fail "orphans left: $(alive)"
    ;;
  sigint)  # SIGINT: the running configuration is killed, finished ones kept, resume finishes the rest
    HK_FAKE_MODE="1x2=sleep" "$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 2 --kernel-exe "$FAKE_KERNEL" \
      --out "$dir" >"$dir/log" 2>&1 &
    sweep=$!
    for _ in $(seq 300); do [ -s "$HK_FAKE_PIDS" ] && break; sleep 0.1; done
    [ -s "$HK_FAKE_PIDS" ] || fail "the hanging configuration never started"
    kill -INT $sweep
    wait $sweep
    status=$?
    cat "$dir/log"
    [ $status = 130 ] || fail "exit status $status, expected 130"
    grep -q -- "Resume with:" "$dir/log" && grep -q -- "--resume" "$dir/log" || fail "no resume command printed"
    "$CHECK" "$dir/runs.jsonl" --count 1 --status ok || fail "the finished 2x1 must be kept, the killed 1x2 not recorded"
    sleep 1
    [ -z "$(alive)" ] || fail "orphans left: $(alive)"
    "$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 2 --kernel-exe "$FAKE_KERNEL" --out "$dir" --resume 2>&1 | tee "$dir/log2"
    "$CHECK" "$dir/runs.jsonl" --count 2 --status ok || fail "after resume"
    grep -q "2x1: already recorded ok" "$dir/log2" || fail "2x1 not skipped"
    ;;
  sigkill)  # SIGKILL of the sweep loses nothing finished and leaves no partial line; resume completes
    "$HK" sweep montecarlo "${small[@]}" --reps 3  --cores 2 --scaling strong --out "$dir" >"$dir/log" 2>&1 &
    sweep=$!
    for _ in $(seq 300); do [ "$(lines "$dir/runs.jsonl")" -ge 1 ] && break; sleep 0.05; done
    kill -KILL $sweep
    wait $sweep 2>/dev/null
    done_before=$(lines "$dir/runs.jsonl")
    [ "$done_before" -ge 1 ] || fail "nothing finished before the kill"
    "$CHECK" "$dir/runs.jsonl" --count "$done_before" --status ok || fail "records damaged by SIGKILL"
    sleep 1
    "$HK" sweep montecarlo "${small[@]}" --reps 3  --cores 2 --scaling strong --out "$dir" --resume || fail "resume"
    "$CHECK" "$dir/runs.jsonl" --count 3 --status ok --same /result/estimate_bits || fail "after resume"
    [ "$(field "$dir/runs.jsonl" 'r["sweep"]["key"]' | sort -u | wc -l)" = 3 ] || fail "a configuration ran twice"
    ;;
  lock)  # a second sweep into a directory another sweep is writing is refused (exit 2), the first goes on
    HK_FAKE_MODE="1x1=sleep" "$HK" sweep montecarlo "${small[@]}" --reps 1 --mixes 1x1,2x1 --cores 2 \
      --kernel-exe "$FAKE_KERNEL" --out "$dir" >"$dir/log" 2>&1 &
    sweep=$!
    for _ in $(seq 300); do [ -s "$HK_FAKE_PIDS" ] && break; sleep 0.1; done
    [ -s "$HK_FAKE_PIDS" ] || fail "the first sweep never started"
    out=$("$HK" sweep montecarlo "${small[@]}" --reps 1 --mixes 2x1 --cores 2 --out "$dir" 2>&1)
    status=$?
    echo "$out"
    [ $status = 2 ] || fail "second sweep: exit status $status, expected 2"
    grep -q "is in use by another hk sweep (pid $sweep " <<<"$out" || fail "no clear line naming the first sweep"
    kill -INT $sweep
    wait $sweep
    [ -z "$(alive)" ] || fail "orphans left: $(alive)"
    [ ! -e "$dir/runs.jsonl" ] || [ "$(lines "$dir/runs.jsonl")" = 0 ] || fail "the refused sweep recorded something"
    "$HK" sweep montecarlo "${small[@]}" --reps 1 --mixes 2x1 --cores 2 --out "$dir" || fail "the lock was not released"
    ;;
  resume_key)  # --resume reruns what another --reps, --warmup or --seed would change, and skips the rest
    "$HK" sweep montecarlo "${small[@]}" --reps 1 --mixes 2x1 --cores 2 --out "$dir" || fail "first sweep"
    for options in "--reps 2 --warmup 0" "--reps 2 --warmup 0" "--reps 2 --warmup 0 --seed 7" "--reps 2 --seed 7 --warmup 1"; do
      # shellcheck disable=SC2086
      "$HK" sweep montecarlo --samples 200000 $options --mixes 2x1 --cores 2 --out "$dir" --resume ||
        fail "resume with $options"
    done
    [ "$(lines "$dir/runs.jsonl")" = 4 ] || fail "expected 4 records (reps 1; reps 2; seed 7; warm-up 1), got $(lines "$dir/runs.jsonl")"
    [ "$(field "$dir/runs.jsonl" '(r["reps"], r["seed"], r["warmup"])' | tr '\n' ' ')" = \
      "(1, 20261123, 0) (2, 20261123, 0) (2, 7, 0) (2, 7, 1) " ] || fail "records: $(field "$dir/runs.jsonl" '(r["reps"], r["seed"], r["warmup"])')"
    ;;
  dry_run)  # exact commands, hybrid binding as hk run, srun too, nothing run
    out=$("$HK" sweep all --reps 1 --cores 4 --out "$dir" --dry-run) || fail "dry run exit"
    echo "$out"
    grep -q "mpirun -np 4 --map-by ppr:4:node:PE=1 --bind-to core" <<<"$out" || fail "4x1 line"
    grep -q "OMP_NUM_THREADS=2 OMP_PLACES=cores OMP_PROC_BIND=close.*mpirun -np 2 --map-by ppr:2:node:PE=2" <<<"$out" || fail "2x2 line"
    grep -q "montecarlo.*--reps=1" <<<"$out" || fail "kernel options not passed"
    [ ! -e "$dir/runs.jsonl" ] || fail "dry run wrote records"
    out=$("$HK" sweep montecarlo --cores 4 --mixes 2x2 --launcher srun --out "$dir" --dry-run) || fail "srun dry run"
    grep -q "srun --mpi=pmix --nodes=1 --ntasks=2 --cpus-per-task=2 --cpu-bind=cores" <<<"$out" || fail "srun line: $out"
    out=$("$HK" sweep montecarlo --cores 4 --scaling strong --out "$dir" --dry-run) || fail "strong dry run"
    [ "$(grep -c mpirun <<<"$out")" = 6 ] || fail "strong scaling on 4 cores is 6 launches"
    out=$("$HK" sweep montecarlo --samples 4000000 --cores 4 --scaling weak --mixes 4x1 --out "$dir" --dry-run) || fail "weak"
    grep -q "mpirun -np 1 .*--samples=1000000 " <<<"$out" && grep -q "mpirun -np 4 .*--samples=4000000 " <<<"$out" ||
      fail "weak scaling must grow the samples with the cores: $out"
    ;;
  plot)  # a small recorded sweep with a failed configuration gives every figure, PNG and SVG
    if ! "$PLOT_PYTHON" -c 'import matplotlib' 2>/dev/null; then
      echo "SKIPPED: $PLOT_PYTHON has no matplotlib (apt-get install python3-matplotlib)"
      exit 77
    fi
    HK_FAKE_MODE="1x2=fail" "$HK" sweep montecarlo "${small[@]}" --reps 1 --cores 2 --scaling strong \
      --kernel-exe "$FAKE_KERNEL" --out "$dir"
    "$HK" plot "$dir" --python "$PLOT_PYTHON" || fail "hk plot exit $?"
    for name in time_per_mix strong_scaling memory rate_heatmap; do
      for ext in png svg; do
        [ -s "$dir/$name.$ext" ] || fail "$name.$ext missing"
      done
    done
    head -c 8 "$dir/time_per_mix.png" | grep -q PNG || fail "not a PNG"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
