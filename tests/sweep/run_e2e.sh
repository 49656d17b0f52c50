#!/bin/bash
# End-to-end tests of hk run's executor and finisher: signals forwarded to the whole launch,
# --timeout, what the launcher's failures become, with the fake kernel of the sweep tests and
# fake launchers. Usage: run_e2e.sh CASE
# Environment: HK, HK_REAL_KERNEL, FAKE_KERNEL, WORK (scratch dir).
set -u
case_name=$1
dir=$WORK/run-$case_name
rm -rf "$dir"
mkdir -p "$dir"
export HK_REAL_KERNEL HK_FAKE_PIDS=$dir/pids
fail() { echo "FAILED: $*" >&2; exit 1; }
alive() { # pids from the fake kernel's file that still run (zombies count as gone)
  local pid state
  for pid in $(cat "$HK_FAKE_PIDS" 2>/dev/null); do
    state=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null) || continue
    [ -n "$state" ] && [ "$state" != Z ] && echo "$pid"
  done
}
wait_for_ranks() {
  for _ in $(seq 300); do [ -s "$HK_FAKE_PIDS" ] && return 0; sleep 0.1; done
  fail "the hanging ranks never started"
}
field() { # python expression over the single record of a JSONL file
  /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): r=json.loads(l); print(eval(sys.argv[2]))' "$1" "$2"
}
small=(--samples 200000 --warmup 0 --reps 1)

case $case_name in
  signals)  # SIGTERM, SIGINT, SIGHUP: the whole launch is killed (ranks ignore SIGTERM), 128 + signal
    for signal in TERM INT HUP; do
      rm -f "$HK_FAKE_PIDS"
      HK_FAKE_MODE="2x1=sleep" "$HK" run montecarlo "${small[@]}" --ranks 2 --threads 1 --cores 2 \
        --kernel-exe "$FAKE_KERNEL" --out "$dir/runs.jsonl" >"$dir/log" 2>&1 &
      run=$!
      wait_for_ranks
      start=$(date +%s)
      kill -$signal $run
      wait $run
      status=$?
      cat "$dir/log"
      want=$((128 + $(kill -l $signal)))
      [ $status = $want ] || fail "SIG$signal: exit status $status, expected $want"
      [ $(( $(date +%s) - start )) -lt 15 ] || fail "SIG$signal: took too long"
      grep -q "interrupted by SIG$signal" "$dir/log" || fail "SIG$signal: no clear line"
      sleep 1
      [ -z "$(alive)" ] || fail "SIG$signal: processes left running: $(alive)"
      [ ! -s "$dir/runs.jsonl" ] || fail "SIG$signal: an interrupted run was recorded"
    done
    ;;
  timeout)  # --timeout: the whole launch killed, status timeout recorded, exit 3, nothing left
    start=$(date +%s)
    HK_FAKE_MODE="1x1=sleep" "$HK" run montecarlo "${small[@]}" --ranks 1 --threads 1 --timeout 2 \
      --kernel-exe "$FAKE_KERNEL" --out "$dir/runs.jsonl" >"$dir/log" 2>&1
    status=$?
    cat "$dir/log"
    [ $status = 3 ] || fail "exit status $status, expected 3"
    [ $(( $(date +%s) - start )) -lt 20 ] || fail "took too long"
    grep -q "exceeded --timeout 2 s" "$dir/log" || fail "no clear line"
    [ "$(field "$dir/runs.jsonl" 'r["status"]')" = timeout ] || fail "status timeout not recorded"
    [ -s "$dir/runs.csv" ] || fail "no CSV row"
    sleep 1
    [ -z "$(alive)" ] || fail "processes left running: $(alive)"
    ;;
  outcomes)  # crash -> 3 (crashed recorded), verification failed -> 1, hk-kernel's bad input -> 2
    HK_FAKE_MODE="2x1=crash" "$HK" run montecarlo "${small[@]}" --ranks 2 --threads 1 --cores 2 \
      --kernel-exe "$FAKE_KERNEL" --out "$dir/crash.jsonl"
    status=$?
    [ $status = 3 ] || fail "crash: exit status $status, expected 3"
    [ "$(field "$dir/crash.jsonl" '(r["status"], r.get("error","")[:30])')" = "('crashed', 'a rank died by signal 11 (Segm')" ] ||
      fail "crash record: $(cat "$dir/crash.jsonl")"
    HK_FAKE_MODE="1x1=verify" "$HK" run montecarlo "${small[@]}" --ranks 1 --threads 1 \
      --kernel-exe "$FAKE_KERNEL" --out "$dir/verify.jsonl"
    status=$?
    [ $status = 1 ] || fail "verify: exit status $status, expected 1"
    [ "$(field "$dir/verify.jsonl" 'r["status"]')" = verify_failed ] || fail "verify record"
    "$HK" run montecarlo --problem option --samples 70368744177664 --ranks 1 --out "$dir/refused.jsonl"
    status=$?
    [ $status = 2 ] || fail "refused: exit status $status, expected 2"
    [ ! -s "$dir/refused.jsonl" ] || fail "bad input refused by hk-kernel must leave no record"
    "$HK" run montecarlo "${small[@]}" --ranks 1 --threads 1 --out "$dir/ok.jsonl" | tee "$dir/log"
    [ "${PIPESTATUS[0]}" = 0 ] || fail "ok run"
    [ "$(field "$dir/ok.jsonl" 'r["status"]')" = ok ] || fail "ok record"
    grep -q "hk: record (ok) appended to $dir/ok.jsonl" "$dir/log" || fail "no record line"
    [ -z "$(ls -A "$dir" | grep hk-run)" ] || fail "private record files left: $(ls -A "$dir")"
    ;;
  launcher_failures)  # the launcher's own failures are errors with its message, exit 3, never crashed/1
    cat >"$dir/no-slots" <<'EOF'
#!/bin/sh
echo "There are not enough slots available in the system to satisfy the 4" >&2
exit 1
EOF
    cat >"$dir/cannot-exec" <<'EOF'
#!/bin/sh
echo "mpirun was unable to launch the specified application as it could not access" >&2
echo "or execute an executable:" >&2
exit 132
EOF
    chmod +x "$dir/no-slots" "$dir/cannot-exec"
    for launcher in no-slots cannot-exec; do
      "$HK" run montecarlo "${small[@]}" --ranks 1 --threads 1 --launcher-path "$dir/$launcher" \
        --out "$dir/$launcher.jsonl" >"$dir/log" 2>&1
      status=$?
      cat "$dir/log"
      [ $status = 3 ] || fail "$launcher: exit status $status, expected 3"
      [ "$(field "$dir/$launcher.jsonl" 'r["status"]')" = error ] || fail "$launcher: not recorded as error"
      grep -q "hk: error: the run failed: " "$dir/log" || fail "$launcher: no clear line"
    done
    field "$dir/cannot-exec.jsonl" 'r["error"]' | grep -q "could not start the program" || fail "launcher message"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
