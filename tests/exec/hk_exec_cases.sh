#!/usr/bin/env bash
# hk_exec_cases.sh CASE: `hk run --exec` and `hk sweep --exec` around hybrid_pi, the tests' own
# MPI+OpenMP program (not linked to the kit). Environment: HK, PROGRAM, CHECK (hk-check-records),
# WORK, PLOT_PYTHON. Verdicts come from the records (statuses, counts, CPU sets, exit statuses),
# never from timings.
set -u
case_name=$1
dir="$WORK/$case_name"
rm -rf "$dir" && mkdir -p "$dir"
fail() { echo "hk_exec_cases $case_name: FAILED: $*" >&2; exit 1; }
# expect FILE JQ-EXPRESSION VALUE (FILE: one JSON document; -s for a JSONL file)
expect() {
  local got
  got=$(jq -c "$2" "$1") || fail "cannot read $1"
  [ "$got" = "$3" ] || fail "$(basename "$1"): $2 is $got, expected $3"
}
last_record() { tail -n 1 "$1" > "$1.last" && echo "$1.last"; }
# run_status EXPECTED COMMAND...: runs it, output to $dir/out and $dir/err, checks its exit status
run_status() {
  local expected=$1
  shift
  "$@" > "$dir/out" 2> "$dir/err"
  local status=$?
  [ "$status" = "$expected" ] || { cat "$dir/out" "$dir/err" >&2; fail "exit status $status, expected $expected: $*"; }
}
pi=(-- "$PROGRAM" --threads "{threads}" --intervals 4000000 --steps 3)
fom=(--fom 'FOM: ([0-9.]+)' --fom-unit Mintervals/s --success 'check passed')

case $case_name in
sweep_two_mixes)  # 2x1 and 1x2: ok records, two distinct CPUs per mix, memory, MPI time, FOM; then --resume
  run_status 0 "$HK" sweep --exec --mixes 2x1,1x2 --out "$dir/s" --name hybrid_pi "${fom[@]}" --sample-interval 0.005 \
    "${pi[@]}"
  "$CHECK" "$dir/s/runs.jsonl" --count 2 --status ok --complete || fail "records"
  jq -s -c '.[]' "$dir/s/runs.jsonl" | while read -r record; do
    echo "$record" > "$dir/r.json"
    mix=$(jq -r '"\(.ranks)x\(.threads)"' "$dir/r.json")
    expect "$dir/r.json" '[.kernel, .variant, .reps]' '["exec","hybrid_pi",1]'
    expect "$dir/r.json" '.params.args[1]' "\"$(jq -r .threads "$dir/r.json")\""
    expect "$dir/r.json" '.params.sha256 | length' 64
    expect "$dir/r.json" '[.placement[] | select(.helper | not) | .cpu] | unique | length' 2
    expect "$dir/r.json" '.memory.rss_max_bytes > 1000000' true
    expect "$dir/r.json" '.phases_s.source' '"pmpi"'
    expect "$dir/r.json" '.phases_s.comm > 0' true
    expect "$dir/r.json" '.rate.value > 0' true
    expect "$dir/r.json" '.rate.unit' '"Mintervals/s"'
    expect "$dir/r.json" '.verification.passed' true
    expect "$dir/r.json" '.sweep.placement_ok' true
    grep -q "check passed" "$(jq -r .sweep.stdout "$dir/r.json")" || fail "$mix: the program's output is not in its log"
  done
  run_status 0 "$HK" sweep --exec --mixes 2x1,1x2 --out "$dir/s" --name hybrid_pi "${fom[@]}" --sample-interval 0.005 \
    --resume "${pi[@]}"
  [ "$(grep -c 'already recorded ok, skipped' "$dir/out" "$dir/err" | awk -F: '{s+=$2} END {print s}')" = 2 ] \
    || fail "--resume did not skip both mixes"
  "$CHECK" "$dir/s/runs.jsonl" --count 2 --status ok || fail "--resume ran a mix again"
  # Another argument is another configuration: not skipped.
  run_status 0 "$HK" sweep --exec --mixes 2x1 --out "$dir/s" --name hybrid_pi "${fom[@]}" --resume \
    -- "$PROGRAM" --threads "{threads}" --intervals 2000000 --steps 3
  "$CHECK" "$dir/s/runs.jsonl" --count 3 --status ok || fail "a changed argument must run again"
  if "$PLOT_PYTHON" -c 'import matplotlib' 2>/dev/null; then
    run_status 0 "$HK" plot "$dir/s" --python "$PLOT_PYTHON"
  fi
  ;;
run_repeat)  # hk run --exec --repeat 2: every repetition's time kept, the FOM the median
  run_status 0 "$HK" run --exec --ranks 2 --threads 1 --repeat 2 --out "$dir/runs.jsonl" "${fom[@]}" "${pi[@]}"
  grep -q "check passed" "$dir/out" || fail "the program's output was not printed"
  f=$(last_record "$dir/runs.jsonl")
  expect "$f" '[.status, .reps, (.time_s.reps | length), (.metrics.repetitions | length)]' '["ok",2,2,2]'
  expect "$f" '.params.args[1]' '"1"'
  expect "$f" '.launch.expected_ranks' 2
  ;;
crash)  # rank 0 dies of SIGSEGV: crashed, exit 3, the record kept
  run_status 3 "$HK" run --exec --ranks 2 --threads 1 --out "$dir/runs.jsonl" -- "$PROGRAM" --threads 1 --crash
  expect "$(last_record "$dir/runs.jsonl")" .status '"crashed"'
  ;;
timeout)  # a hang past --timeout: status timeout, exit 3, nothing of it left running
  run_status 3 "$HK" run --exec --ranks 2 --threads 1 --timeout 4 --out "$dir/runs.jsonl" \
    -- "$PROGRAM" --threads 1 --hang --steps 1
  expect "$(last_record "$dir/runs.jsonl")" .status '"timeout"'
  sleep 1
  ! pgrep -f "$PROGRAM --threads 1 --hang" > /dev/null || fail "a hybrid_pi rank outlived the timeout"
  ;;
wrong_output)  # exits 0 but its output fails --success: verify_failed, exit 1
  run_status 1 "$HK" run --exec --ranks 1 --threads 2 --out "$dir/runs.jsonl" --success 'check passed' \
    -- "$PROGRAM" --threads "{threads}" --wrong
  f=$(last_record "$dir/runs.jsonl")
  expect "$f" '[.status, .verification.passed]' '["verify_failed",false]'
  expect "$f" '.error | test("--success")' true
  ;;
no_fom)  # never prints the figure of merit: error naming --fom, exit 3
  run_status 3 "$HK" run --exec --ranks 2 --threads 1 --out "$dir/runs.jsonl" "${fom[@]}" \
    -- "$PROGRAM" --threads 1 --no-fom
  f=$(last_record "$dir/runs.jsonl")
  expect "$f" .status '"error"'
  expect "$f" '.error | test("--fom")' true
  ;;
bad_input)  # one clear line, exit 2, nothing run, for each
  touch "$dir/not-executable"
  while IFS='|' read -r what expected; do
    read -r -a words <<< "$what"
    "$HK" run --exec --ranks 1 --threads 1 --out "$dir/runs.jsonl" "${words[@]}" > "$dir/out" 2> "$dir/err"
    status=$?
    [ "$status" = 2 ] || fail "'$what': exit status $status, expected 2"
    [ "$(wc -l < "$dir/err")" = 1 ] || { cat "$dir/err" >&2; fail "'$what': not one line"; }
    grep -q -- "$expected" "$dir/err" || { cat "$dir/err" >&2; fail "'$what': no '$expected'"; }
  done <<EOF
--|no program after '--'
-- /nonexistent/app|does not exist
-- $dir/not-executable|not an executable file
-- no-such-program-in-path-hk|not an executable file in PATH
--fom ([0-9 -- $PROGRAM|not a valid regular expression
--fom [0-9]+ -- $PROGRAM|has no group
--success ( -- $PROGRAM|--success
-- $PROGRAM --threads {thread}|unknown placeholder {thread}
--fom-unit s -- $PROGRAM|only with --fom
--repeat 0 -- $PROGRAM|--repeat
EOF
  [ ! -e "$dir/runs.jsonl" ] || fail "bad input left a record"
  ;;
*) fail "unknown case" ;;
esac
echo "hk_exec_cases $case_name: ok"
