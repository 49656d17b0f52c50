#!/usr/bin/env bash
# install_test.sh BUILD_DIR WORK_DIR SOURCE_DIR: installs BUILD_DIR into WORK_DIR/staged, moves the
# prefix to WORK_DIR/moved (so nothing can point into the staging prefix), then runs the installed
# hk with a PATH holding only the moved prefix and the system's directories. The source tree's
# files must not be used: every share file hk names must lie under the moved prefix.
set -euo pipefail
build=$1 work=$2 source=$3
fail() { echo "install_test: FAILED: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/staged" >"$work/install.log"
mv "$work/staged" "$work/moved"
prefix=$work/moved
for file in bin/hk bin/hk-kernel bin/hk-probe-mpi bin/hk-probe-true share/hybridkit/hk_plot.py \
            share/hybridkit/hk_records.py share/hybridkit/hk_probe_python.py share/hybridkit/slurm/run.sbatch \
            share/hybridkit/slurm/sweep.sbatch share/doc/hybridkit/README.md bin/hk-exec-wrap \
            lib/hybridkit/libhk-pmpi.so; do
  [ -e "$prefix/$file" ] || fail "$file was not installed"
done
unset HK_PLOT_SCRIPT HK_BIN
export PATH=$prefix/bin:/usr/local/bin:/usr/bin:/bin
cd "$work"
hk=$prefix/bin/hk
# Runs a step, keeps its output, and refuses any mention of the source tree in it.
step() {
  echo "--- $*"
  "$@" >"$work/step.log" 2>&1 || { cat "$work/step.log"; fail "exit status $? of: $*"; }
  cat "$work/step.log"
  if grep -F -- "$source/" "$work/step.log" | grep -Fv -- "$work" >/dev/null; then
    fail "the output names the source tree ($source): $*"
  fi
}
step "$hk" list
grep -q "montecarlo" "$work/step.log" || fail "hk list did not list montecarlo"
step "$hk" run montecarlo --ranks 2 --threads 1 --samples 200000 --reps 1 --out "$work/run.jsonl"
grep -q "hk-kernel" "$work/step.log" && grep -Fq "$prefix/bin/hk-kernel" "$work/step.log" ||
  fail "hk run did not launch the installed hk-kernel"
step "$hk" sweep montecarlo --samples 200000 --reps 1 --mixes 2x1,1x2 --out "$work/sweep"
step "$hk" plot "$work/sweep"
grep -Fq "$prefix/share/hybridkit/hk_plot.py" "$work/step.log" || fail "hk plot did not run the installed hk_plot.py"
step "$hk" probe --quick --no-python --json "$work/probe.json"
/usr/bin/python3 - "$work/probe.json" <<'PY' || fail "hk probe: the posix_spawn row did not find its installed helper"
import json, sys
probe = json.load(open(sys.argv[1]))
text = json.dumps(probe)
assert "creation.posix_spawn_wait" in text, "no posix_spawn row"
unavailable = probe.get("unavailable", {}) or {}
assert "creation.posix_spawn_wait" not in json.dumps(unavailable), unavailable
PY
# hk run --exec finds the installed wrapper and PMPI library (bin/, lib/hybridkit/).
step "$hk" run --exec --ranks 1 --threads 1 --pmpi on --out "$work/exec.jsonl" -- "$prefix/bin/hk-probe-true"
grep -Fq "$prefix/bin/hk-exec-wrap" "$work/step.log" && grep -Fq "$prefix/lib/hybridkit/libhk-pmpi.so" "$work/step.log" ||
  fail "hk run --exec did not launch the installed hk-exec-wrap with the installed libhk-pmpi.so"
grep -q '"status":"ok"' "$work/exec.jsonl" || fail "hk run --exec of hk-probe-true is not ok"
echo "install_test: ok (prefix $prefix)"
