#!/usr/bin/env bash
# wrap_cases.sh CASE: hk-exec-wrap and libhk-pmpi.so around hybrid_pi (the tests' own MPI+OpenMP
# program), launched by mpirun as hk launches them. Environment: WRAP, PMPI, PROGRAM, WORK.
# Verdicts come from what the rank files say (counts, CPU sets, statuses), never from timings.
set -u
case_name=$1
dir="$WORK/$case_name"
rm -rf "$dir" && mkdir -p "$dir"
mpirun_np() { mpirun -np "$1" --oversubscribe --bind-to none "${@:2}"; }
fail() { echo "wrap_cases $case_name: FAILED: $*" >&2; exit 1; }
# field FILE JQ-EXPRESSION: the value, compact.
field() { jq -c "$2" "$1"; }
expect() {  # expect FILE JQ-EXPRESSION VALUE
  local got
  got=$(field "$1" "$2") || fail "cannot read $1"
  [ "$got" = "$3" ] || fail "$(basename "$1") $2 is $got, expected $3"
}

case $case_name in
two_ranks)  # 2x1 with the PMPI library: both ranks observed, memory, time inside MPI, call counts
  mpirun_np 2 "$WRAP" --out "$dir" --pmpi "$PMPI" -- "$PROGRAM" --threads 1 --intervals 4000000 --steps 3 \
    || fail "run failed"
  for r in 0 1; do
    f=$dir/rank-$r.json
    [ -f "$f" ] || fail "no rank-$r.json"
    expect "$f" .rank "$r"
    expect "$f" .world_size 2
    expect "$f" .exit_status 0
    expect "$f" '.rss_peak_bytes > 1000000' true
    expect "$f" '.threads[0].pid == .pid' true
    expect "$f" '.wrapper_cpu_s >= 0' true
    expect "$f" '.mpi.size' 2
    expect "$f" '.mpi.in_mpi_s > 0' true
    # 3 steps: 3 Sendrecv; 3 + 1 Allreduce (the ring check)
    expect "$f" '.mpi.families.point_to_point.calls' 3
    expect "$f" '.mpi.families.collective.calls' 4
    expect "$f" '.mpi.thread_level_requested' '"funneled"'
  done
  [ ! -e "$dir/rank-0.mpi.json" ] || fail "the PMPI file was not folded into the rank file"
  ;;
one_rank_two_threads)  # 1x2, threads pinned: the program's two busy threads on two distinct CPUs
  OMP_PROC_BIND=close OMP_PLACES=cores mpirun_np 1 -x OMP_PROC_BIND -x OMP_PLACES "$WRAP" --out "$dir" \
    -- "$PROGRAM" --threads 2 --intervals 4000000 --steps 3 || fail "run failed"
  f=$dir/rank-0.json
  expect "$f" '[.threads[] | select(.allowed_cpus | test("^[0-9]+$")) | .allowed_cpus] | unique | length' 2
  expect "$f" '.mpi' null
  ;;
crash)  # rank 0 dies of SIGSEGV: its file says so, the launcher fails
  mpirun_np 2 "$WRAP" --out "$dir" -- "$PROGRAM" --threads 1 --crash && fail "mpirun succeeded"
  expect "$dir/rank-0.json" .signal 11
  expect "$dir/rank-0.json" .exit_status null
  ;;
timeout)  # the program hangs: stopped at --timeout, SIGKILL after --grace, nothing left running
  mpirun_np 1 "$WRAP" --out "$dir" --timeout 1 --grace 1 -- "$PROGRAM" --threads 1 --intervals 1000 --hang \
    && fail "mpirun succeeded"
  f=$dir/rank-0.json
  expect "$f" .timed_out true
  expect "$f" .signal 15
  pid=$(field "$f" .pid)
  kill -0 "$pid" 2>/dev/null && fail "the program ($pid) is still running"
  ;;
forward)  # SIGTERM to the wrapper reaches the program; the rank file is still written
  "$WRAP" --out "$dir" -- sleep 30 &
  wrapper=$!
  sleep 0.5
  kill -TERM "$wrapper"
  wait "$wrapper"
  status=$?
  [ "$status" -eq 143 ] || fail "exit status $status, expected 143"
  f=$(ls "$dir"/rank-*.json)
  expect "$f" .received_signal 15
  expect "$f" .signal 15
  ;;
not_found)  # a program that cannot start: 127, and the reason in the file
  "$WRAP" --out "$dir" -- "$dir/no-such-program"
  status=$?
  [ "$status" -eq 127 ] || fail "exit status $status, expected 127"
  expect "$(ls "$dir"/rank-*.json)" .exec_error '"No such file or directory"'
  ;;
*) fail "unknown case" ;;
esac
echo "wrap_cases $case_name: ok"
