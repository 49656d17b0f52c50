#!/bin/bash
# Tests of hk plot and hk export on recorded sweeps (tests/plot/data, real records) and on bad
# input made from them. Deterministic: no kernel runs, no timing. Usage: plot_tests.sh CASE
# Environment: HK (the hk binary), PLOT_PYTHON (Python with matplotlib and pandas), DATA
# (tests/plot/data), CHECKS (tests/plot: the independent checkers), WORK (scratch directory).
set -u
case_name=$1
work=$WORK/$case_name
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAILED: $*" >&2; exit 1; }

if ! "$PLOT_PYTHON" -c 'import matplotlib, pandas' 2>/dev/null; then
  echo "SKIPPED: $PLOT_PYTHON has no matplotlib or pandas (apt-get install python3-matplotlib python3-pandas)"
  exit 77
fi
hk() { "$HK" "$@" --python "$PLOT_PYTHON"; }

# run_hk EXPECTED_STATUS ARGS...: runs hk, keeps stdout/stderr in $work, checks the status and that
# Python never printed a traceback.
run_hk() {
  local want=$1
  shift
  hk "$@" >"$work/out" 2>"$work/err"
  local got=$?
  cat "$work/out" "$work/err"
  [ "$got" = "$want" ] || fail "hk $* exited $got, expected $want"
  ! grep -q Traceback "$work/out" "$work/err" || fail "a Python traceback"
}
# one_error REGEX: stderr's only error line matches REGEX.
one_error() {
  [ "$(grep -c 'error:' "$work/err")" = 1 ] || fail "expected exactly one error line"
  grep -q -- "$1" "$work/err" || fail "the error does not say: $1"
}
figures_present() { # DIR NAME...
  local dir=$1 name ext
  shift
  for name in "$@"; do
    for ext in png svg; do
      [ -s "$dir/$name.$ext" ] || fail "$name.$ext missing"
    done
    head -c 8 "$dir/$name.png" | grep -q PNG || fail "$name.png is not a PNG"
  done
}
copy_fixture() { # NAME -> $work/NAME (a writable copy to damage)
  cp -r "$DATA/$1" "$work/$1"
}
edit_line() { # FILE LINE PYTHON-EXPRESSION-ON-r: rewrites one record
  "$PLOT_PYTHON" - "$@" <<'EOF'
import json, sys
path, number, expression = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path).read().split("\n")
r = json.loads(lines[number - 1])
exec(expression)
lines[number - 1] = json.dumps(r)
open(path, "w").write("\n".join(lines))
EOF
}
all_figures=(time_per_mix strong_scaling memory rate_heatmap)

case $case_name in
  shared)  # matmul --variant shared: every figure, the data behind it checked; PSS below RSS
    run_hk 0 plot "$DATA/matmul-shared" --out "$work/figs" --dump-data "$work/dump.json"
    figures_present "$work/figs" "${all_figures[@]}"
    "$PLOT_PYTHON" "$CHECKS/check_plot_data.py" "$work/dump.json" || fail "dump"
    "$PLOT_PYTHON" -c 'import json,sys
bars = [b for p in json.load(open(sys.argv[1]))["figures"]["memory"] for b in p["bars"] if b["ranks"] > 1]
assert bars and all(b["pss_total_bytes"] < 0.9 * b["rss_total_bytes"] for b in bars), bars' "$work/dump.json" ||
      fail "the shared window should make PSS clearly smaller than RSS with more than one rank"
    ;;
  failed)  # a sweep with a failed configuration: drawn as failed, not as zero; the rest checked
    run_hk 0 plot "$DATA/failed" --out "$work/figs" --dump-data "$work/dump.json"
    figures_present "$work/figs" "${all_figures[@]}"
    "$PLOT_PYTHON" "$CHECKS/check_plot_data.py" "$work/dump.json" || fail "dump"
    "$PLOT_PYTHON" -c 'import json,sys
bars = [b for p in json.load(open(sys.argv[1]))["figures"]["time_per_mix"] for b in p["bars"]]
assert any(b["status"] == "error" and b["median_s"] is None for b in bars), bars' "$work/dump.json" ||
      fail "the failed configuration is not in time_per_mix as failed"
    ;;
  compare)  # two directories overlaid, matched by key; what does not match is listed
    run_hk 0 plot "$DATA/compare-a" "$DATA/compare-b" --labels a,b --out "$work/figs" --dump-data "$work/dump.json"
    figures_present "$work/figs" "${all_figures[@]}"
    "$PLOT_PYTHON" "$CHECKS/check_plot_data.py" "$work/dump.json" || fail "dump"
    grep -q "not in every directory.*: a: montecarlo \[pi\] 1x2" "$work/out" || fail "the unmatched 1x2 is not listed"
    ;;
  spread_minmax)  # --spread minmax on records with every repetition: the error bars are min-max
    run_hk 0 plot "$DATA/matmul-shared" --out "$work/figs" --spread minmax --formats png --dump-data "$work/dump.json"
    "$PLOT_PYTHON" "$CHECKS/check_plot_data.py" "$work/dump.json" --spread minmax || fail "dump"
    ;;
  schema1)  # records of schema /1 (no repetitions): min-max error bars, figures drawn
    run_hk 0 plot "$DATA/schema1" --out "$work/figs" --dump-data "$work/dump.json"
    figures_present "$work/figs" "${all_figures[@]}"
    "$PLOT_PYTHON" "$CHECKS/check_plot_data.py" "$work/dump.json" || fail "dump"
    ;;
  export_extrap | export_csv | export_thicket)  # every repetition exactly once, re-read independently
    format=${case_name#export_}
    for dir in matmul-shared failed; do
      run_hk 0 export "$DATA/$dir" --format "$format" --out "$work/$dir.$format"
      "$PLOT_PYTHON" "$CHECKS/check_export.py" "$format" "$work/$dir.$format" "$DATA/$dir" || fail "$dir export"
    done
    ;;
  export_stdout)  # --out -: the data alone on stdout, hk's messages on stderr
    hk export "$DATA/matmul-shared" --format extrap --out - >"$work/stdout.jsonl" 2>"$work/err" || fail "exit $?"
    "$PLOT_PYTHON" "$CHECKS/check_export.py" extrap "$work/stdout.jsonl" "$DATA/matmul-shared" || fail "stdout"
    ;;
  bad_no_records)  # an empty runs.jsonl, and one whose every line is unreadable
    mkdir "$work/empty" && : >"$work/empty/runs.jsonl"
    run_hk 2 plot "$work/empty"
    one_error "runs.jsonl holds no readable records"
    mkdir "$work/garbage" && printf 'not json\n{"schema":"hybridkit.run/1"}\n' >"$work/garbage/runs.jsonl"
    run_hk 2 plot "$work/garbage"
    one_error "holds no readable records (2 line(s) skipped"
    grep -q "runs.jsonl:1: skipped: not JSON" "$work/err" || fail "line 1 not named"
    ;;
  bad_mixed_schema)  # /1 and /2 records in one directory: refused, the lines named
    copy_fixture schema1
    head -1 "$DATA/matmul-shared/runs.jsonl" >>"$work/schema1/runs.jsonl"
    run_hk 2 plot "$work/schema1"
    one_error "mixes record schemas hybridkit.run/1 (line 1, 2, 3) and hybridkit.run/2 (line 4)"
    run_hk 2 export "$work/schema1" --format csv
    one_error "mixes record schemas"
    ;;
  bad_labels)  # --labels not matching the directories; several directories without --out
    run_hk 2 plot "$DATA/compare-a" "$DATA/compare-b" --labels a --out "$work/figs"
    one_error "--labels: 1 label(s) for 2 directories"
    run_hk 2 plot "$DATA/compare-a" "$DATA/compare-b" --labels a,a --out "$work/figs"
    one_error "--labels: 'a,a' has an empty or repeated label"
    run_hk 2 plot "$DATA/compare-a" "$DATA/compare-b"
    one_error "--out: comparing 2 directories needs --out"
    ;;
  bad_formats)  # an image format matplotlib does not write
    run_hk 2 plot "$DATA/failed" --out "$work/figs" --formats png,xyz
    one_error "--formats: 'xyz' is not an image format matplotlib writes; choose from .*png"
    ;;
  bad_string_ranks)  # a string in ranks: that record skipped with a warning naming its line
    copy_fixture failed
    edit_line "$work/failed/runs.jsonl" 2 'r["ranks"] = str(r["ranks"])'
    run_hk 0 plot "$work/failed" --out "$work/figs" --dump-data "$work/dump.json"
    grep -q 'runs.jsonl:2: skipped: ranks is "[0-9]*", not a positive integer' "$work/err" || fail "no warning"
    "$PLOT_PYTHON" "$CHECKS/check_plot_data.py" "$work/dump.json" || fail "dump"
    ;;
  bad_zero_median)  # a zero median (an ok record): skipped with a warning, no division by zero
    copy_fixture failed
    edit_line "$work/failed/runs.jsonl" 1 'r["time_s"]["median"] = 0'
    run_hk 0 plot "$work/failed" --out "$work/figs" --dump-data "$work/dump.json"
    grep -q 'runs.jsonl:1: skipped: time_s.median is 0, not a time > 0 s' "$work/err" || fail "no warning"
    grep -q "1x1 baseline failed or missing" "$work/figs/strong_scaling.svg" || fail "no missing-baseline note"
    ;;
  bad_lines)  # a line that is not JSON, a non-object, a partial last line: each skipped and named
    copy_fixture failed
    printf 'garbage\n[1, 2]\n{"half' >>"$work/failed/runs.jsonl"
    lines=$(grep -c '' "$work/failed/runs.jsonl")
    run_hk 0 plot "$work/failed" --out "$work/figs"
    grep -q "runs.jsonl:$((lines - 2)): skipped: not JSON" "$work/err" || fail "garbage line not named"
    grep -q "runs.jsonl:$((lines - 1)): skipped: not a JSON object" "$work/err" || fail "array line not named"
    grep -q "runs.jsonl:$lines: skipped: partial last line" "$work/err" || fail "partial line not named"
    ;;
  bad_sweep_json)  # a corrupt sweep.json: a warning, the figures from the records alone
    copy_fixture failed
    printf '{"budget_cores": ' >"$work/failed/sweep.json"
    run_hk 0 plot "$work/failed" --out "$work/figs"
    grep -q "sweep.json: ignored, not readable JSON" "$work/err" || fail "no warning"
    figures_present "$work/figs" "${all_figures[@]}"
    ;;
  bad_spread)  # --spread iqr without every repetition's time
    run_hk 2 plot "$DATA/schema1" --out "$work/figs" --spread iqr
    one_error "--spread iqr needs every repetition's time"
    ;;
  bad_export_schema1)  # hk export of records without repetitions: refused
    run_hk 2 export "$DATA/schema1" --format extrap --out "$work/x.jsonl"
    one_error "keep min/median/max but not every repetition"
    [ ! -e "$work/x.jsonl" ] || fail "an export was written"
    ;;
  bad_dirs)  # a directory without runs.jsonl, a file as DIR, an unknown export format (hk's own checks)
    run_hk 2 plot "$DATA"
    one_error "has no runs.jsonl"
    run_hk 2 export "$DATA/failed/runs.jsonl" --format csv
    one_error "is not a directory"
    run_hk 2 export "$DATA/failed" --format xyz
    one_error "--format: xyz not in {extrap,thicket,csv}"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
