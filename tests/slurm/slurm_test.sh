#!/usr/bin/env bash
# tests/slurm/slurm_test.sh CASE: one CTest case against the local single-node Slurm
# (slurm/local-cluster.sh). Exit 77 (CTest SKIP_RETURN_CODE) with the reason when Slurm is not
# installed or the cluster did not start; every skip says why.
#
# Environment (set by tests/slurm/CMakeLists.txt): HK_SOURCE_DIR, HK_BIN (hk, hk-kernel),
# HK_CHECK (hk-check-records), HK_SLURM_DIR (the cluster), HK_TEST_DIR (results of the tests).
set -uo pipefail
case_name=${1:?usage: slurm_test.sh CASE}
cluster=$HK_SOURCE_DIR/slurm/local-cluster.sh
export SLURM_CONF=$HK_SLURM_DIR/etc/slurm.conf
export HK_BIN
skip_reason_file=$HK_SLURM_DIR/skip-reason
samples=2000000

fail() { echo "FAILED: $*" >&2; exit 1; }

require_cluster() {
  if [ -s "$skip_reason_file" ]; then
    echo "SKIP: $(cat "$skip_reason_file")"
    exit 77
  fi
  "$cluster" status >/dev/null 2>&1 || { echo "SKIP: the local Slurm is not running (the slurm.cluster.start test did not start it)"; exit 77; }
}

# sbatch --parsable ... -> the job id
submit() {
  local id
  id=$(sbatch --parsable "$@") || fail "sbatch $* failed"
  echo "${id%%;*}"
}

# The job's results directory, emptied.
fresh_dir() {
  local dir=$HK_TEST_DIR/$1
  rm -rf "$dir" && mkdir -p "$dir" && echo "$dir"
}

show_logs() {
  local dir=$1
  for log in "$dir"/*.out "$dir"/slurm/logs/*.out; do
    [ -f "$log" ] && { echo "---- $log"; tail -n 30 "$log"; }
  done
}

run_mix() {  # RANKS THREADS: run.sbatch, wait for the verdict, check the record and the binding
  local ranks=$1 threads=$2 dir job
  dir=$(fresh_dir "run-${ranks}x${threads}")
  job=$(cd "$dir" && HK_OUT=$dir submit --nodes=1 --ntasks-per-node="$ranks" --cpus-per-task="$threads" \
        --time=5 --output="$dir/hk-run-%j.out" "$HK_SOURCE_DIR/slurm/run.sbatch" montecarlo --samples $samples --reps 2)
  echo "submitted run.sbatch ${ranks}x${threads}: job $job"
  "$HK_BIN/hk" slurm status "$dir" --jobs "$job" --wait --wait-timeout 120 --poll 0.5
  local verdict=$?
  show_logs "$dir"
  [ $verdict -eq 0 ] || fail "hk slurm status: exit $verdict, expected 0 (job ok)"
  "$HK_CHECK" "$dir/runs.jsonl" --count 1 --status ok --true /verification/passed --pinned-distinct \
    || fail "records"
  # The record says what Slurm gave: R ranks x T threads on one node, every thread on a CPU of its own.
  /usr/bin/python3 - "$dir/runs.jsonl" "$ranks" "$threads" <<'EOF' || fail "placement"
import json, sys
record = json.loads(open(sys.argv[1]).readline())
ranks, threads = int(sys.argv[2]), int(sys.argv[3])
assert record["ranks"] == ranks and record["threads"] == threads, (record["ranks"], record["threads"])
assert record["nodes"] == 1, record["nodes"]
cpus = {(p["host"], p["cpu"]) for p in record["placement"]}
assert len(record["placement"]) == ranks * threads and len(cpus) == ranks * threads, record["placement"]
print(f"placement: {ranks} rank(s) x {threads} thread(s) on {len(cpus)} distinct CPU(s):",
      " ".join(f'r{p["rank"]}.t{p["thread"]}@{p["host"]}:cpu{p["cpu"]}' for p in record["placement"]))
EOF
}

case $case_name in
  start)
    rm -f "$skip_reason_file"
    mkdir -p "$HK_SLURM_DIR"
    output=$("$cluster" start 2>&1)
    status=$?
    echo "$output"
    if [ $status -eq 77 ]; then
      grep -m1 'SKIP:' <<<"$output" | sed 's/.*SKIP: //' >"$skip_reason_file"
      echo "SKIP: $(cat "$skip_reason_file")"
      exit 77
    fi
    if [ $status -ne 0 ]; then
      echo "local Slurm did not start (exit $status); see $HK_SLURM_DIR/log" >"$skip_reason_file"
      fail "slurm/local-cluster.sh start: exit $status"
    fi
    ;;
  stop)
    [ -s "$skip_reason_file" ] && { echo "SKIP: $(cat "$skip_reason_file")"; exit 77; }
    "$cluster" stop || fail "slurm/local-cluster.sh stop"
    ;;
  run_2x1) require_cluster; run_mix 2 1 ;;
  run_1x2) require_cluster; run_mix 1 2 ;;
  sweep)
    require_cluster
    if ! "$HK_BIN/hk" sweep --help >/dev/null 2>&1; then
      echo "SKIP: 'hk sweep' is not built yet (issue: hk sweep), so slurm/sweep.sbatch cannot run"
      exit 77
    fi
    dir=$(fresh_dir sweep)
    job=$(cd "$dir" && HK_OUT=$dir submit --nodes=1 --time=5 --output="$dir/hk-sweep-%j.out" \
          "$HK_SOURCE_DIR/slurm/sweep.sbatch" montecarlo --samples $samples --reps 2 --mixes 2x1,1x2)
    echo "submitted sweep.sbatch: job $job"
    "$HK_BIN/hk" slurm status "$dir" --jobs "$job" --wait --wait-timeout 150 --poll 0.5
    verdict=$?
    show_logs "$dir"
    [ $verdict -eq 0 ] || fail "hk slurm status: exit $verdict, expected 0"
    "$HK_CHECK" "$dir/runs.jsonl" --count 2 --status ok --true /verification/passed --pinned-distinct \
      --same /result/estimate_bits || fail "records"
    ;;
  array)
    require_cluster
    dir=$(fresh_dir array)
    "$HK_BIN/hk" slurm submit montecarlo --samples $samples --reps 2 --mixes 2x1,1x2 --time 5 --out "$dir" \
      || fail "hk slurm submit"
    "$HK_BIN/hk" slurm collect "$dir" --wait --wait-timeout 150 --poll 0.5
    verdict=$?
    show_logs "$dir"
    [ $verdict -eq 0 ] || fail "hk slurm collect: exit $verdict, expected 0"
    job=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["job"])' \
          "$dir/slurm/submissions.jsonl")
    for task in 0 1; do
      [ -s "$dir/slurm/logs/${job}_${task}.out" ] || fail "no log $dir/slurm/logs/${job}_${task}.out (%A_%a)"
    done
    "$HK_CHECK" "$dir/runs.jsonl" --count 2 --status ok --true /verification/passed --pinned-distinct \
      --same /result/estimate_bits --same /nodes || fail "records"
    ;;
  array_exec)  # a user's own MPI+OpenMP program (tests/exec/hybrid_pi.cpp) through the same array
    require_cluster
    dir=$(fresh_dir array_exec)
    "$HK_BIN/hk" slurm submit --exec --name hybrid_pi --success 'check passed' --fom 'FOM: ([0-9.]+)' \
      --fom-unit Mintervals/s --mixes 2x1,1x2 --time 5 --out "$dir" \
      -- "$HK_PI" --threads '{threads}' --intervals 2000000 --steps 3 || fail "hk slurm submit --exec"
    "$HK_BIN/hk" slurm collect "$dir" --wait --wait-timeout 150 --poll 0.5
    verdict=$?
    show_logs "$dir"
    [ $verdict -eq 0 ] || fail "hk slurm collect: exit $verdict, expected 0"
    "$HK_CHECK" "$dir/runs.jsonl" --count 2 --status ok --true /verification/passed || fail "records"
    # Each task ran the mix it was given, through srun, the program under its name, a figure of
    # merit found, every working thread on a CPU of its own.
    /usr/bin/python3 - "$dir/runs.jsonl" <<'EOF' || fail "exec records"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
assert sorted((r["ranks"], r["threads"]) for r in records) == [(1, 2), (2, 1)], [(r["ranks"], r["threads"]) for r in records]
for r in records:
    assert (r["kernel"], r["variant"]) == ("exec", "hybrid_pi"), (r["kernel"], r["variant"])
    assert r["launch"]["launcher"] == "srun", r["launch"]
    assert r["rate"]["unit"] == "Mintervals/s" and r["rate"]["value"] > 0, r["rate"]
    working = [p for p in r["placement"] if not p.get("helper")]
    cpus = {(p["host"], p["cpu"]) for p in working}
    assert len(working) == 2 and len(cpus) == 2, r["placement"]
    print(f'{r["ranks"]}x{r["threads"]}: {r["rate"]["value"]:.1f} Mintervals/s, CPUs', sorted(cpus))
EOF
    ;;
  failing)
    require_cluster
    dir=$(fresh_dir failing)
    # --samples 0 is bad input: hk-kernel exits 2 on every rank.
    job=$(cd "$dir" && HK_OUT=$dir submit --ntasks-per-node=2 --cpus-per-task=1 --time=5 \
          --output="$dir/hk-run-%j.out" "$HK_SOURCE_DIR/slurm/run.sbatch" montecarlo --samples 0)
    output=$("$HK_BIN/hk" slurm status "$dir" --jobs "$job" --wait --wait-timeout 120 --poll 0.5)
    verdict=$?
    echo "$output"
    [ $verdict -eq 1 ] || fail "hk slurm status: exit $verdict, expected 1 (a task failed)"
    grep -Eq "^  $job +2x1 +failed +2 " <<<"$output" || fail "job $job not reported as failed with exit code 2"
    ;;
  timeout)
    require_cluster
    dir=$(fresh_dir timeout)
    # A minute's limit (the shortest) for a run of many minutes; Slurm enforces limits every ~30 s.
    job=$(cd "$dir" && HK_OUT=$dir submit --ntasks-per-node=1 --cpus-per-task=1 --time=1 \
          --output="$dir/hk-run-%j.out" "$HK_SOURCE_DIR/slurm/run.sbatch" montecarlo --samples 400000000000 --reps 1 --warmup 0)
    output=$("$HK_BIN/hk" slurm status "$dir" --jobs "$job" --wait --wait-timeout 170 --poll 1)
    verdict=$?
    echo "$output"
    [ $verdict -eq 1 ] || fail "hk slurm status: exit $verdict, expected 1 (a task timed out)"
    grep -Eq "^  $job +1x1 +timed out " <<<"$output" || fail "job $job not reported as timed out"
    ;;
  *) fail "unknown case $case_name" ;;
esac
