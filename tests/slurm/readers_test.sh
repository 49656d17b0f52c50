#!/bin/bash
# hk slurm status|collect on malformed state files, without a cluster: squeue is a stand-in with
# an empty queue and scontrol one that fails, so the markers decide. Usage: readers_test.sh CASE
# (environment: HK, WORK).
set -u
case_name=$1
dir=$WORK/$case_name
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/results/slurm/tasks"
printf '#!/bin/sh\nexit 0\n' >"$dir/bin/squeue"
printf '#!/bin/sh\necho "scontrol: error: no cluster in this test" >&2\nexit 1\n' >"$dir/bin/scontrol"
chmod +x "$dir/bin/squeue" "$dir/bin/scontrol"
export PATH=$dir/bin:$PATH
fail() { echo "FAILED: $*" >&2; exit 1; }
results=$dir/results
tasks=$results/slurm/tasks
# One good task, ended ok.
echo '{"key":"7","job_id":"7","time":"t","mix":"1x1","host":"h","log":""}' >"$tasks/7.start"
echo '{"key":"7","job_id":"7","time":"t","exit_code":0}' >"$tasks/7.exit"

case $case_name in
  collect_bad_records)
    printf '{}\n{"status":1,"ranks":"two"}\nnot json\n' >"$results/runs.jsonl"
    out=$("$HK" slurm collect "$results" --jobcomp /dev/null 2>&1)
    status=$?
    echo "$out"
    [ $status = 1 ] || fail "exit status $status, expected 1 (problems found)"
    grep -q "runs.jsonl: record 1: not a hybridkit run record" <<<"$out" || fail "{} not reported"
    grep -q "runs.jsonl: record 2: not a hybridkit run record" <<<"$out" || fail '{"status":1} not reported'
    grep -q "runs.jsonl:3: not a JSON object" <<<"$out" || fail "the bad line not reported with its number"
    ;;
  status_odd_markers)
    echo '[1,2]' >"$tasks/8.start"
    echo '{"key":9,"exit_code":"zero"}' >"$tasks/9.exit"
    echo '{"key":"10","exit_code":"zero"}' >"$tasks/10.exit"
    : >"$tasks/11.start"
    echo '{"job":5,"mixes":"2x1"}' >"$results/slurm/submissions.jsonl"
    out=$("$HK" slurm status "$results" --jobcomp /dev/null 2>&1)
    status=$?
    echo "$out"
    [ $status = 0 ] || fail "exit status $status, expected 0 (the one good task ended ok)"
    for bad in 8.start 9.exit 10.exit 11.start; do
      grep -q "WARNING: .*$bad: not a task marker" <<<"$out" || fail "$bad not reported"
    done
    grep -q "submissions.jsonl: submission 1: not a submission of hk slurm submit" <<<"$out" || fail "the bad submission not reported"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
