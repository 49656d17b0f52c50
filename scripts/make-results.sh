#!/usr/bin/env bash
# The README's main job: `hk sweep all` on every local core (every ranks x threads split of the
# physical cores, plus the strong-scaling runs below them) with each kernel's default problem,
# then `hk plot`. Writes results/<host>-<cores>cores/ (runs.jsonl, runs.csv, sweep.json, logs/,
# and the figures). Usage: scripts/make-results.sh [BUILD_DIR] [extra hk sweep options...]
# BUILD_DIR defaults to build/release (cmake --preset release); it must hold hk and hk-kernel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
[ $# -gt 0 ] && shift
hk=$build/drivers/hk
if [ ! -x "$hk" ]; then
  echo "make-results: $hk not found; build first: cmake --preset release && cmake --build --preset release" >&2
  exit 2
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$("$hk" info --cores 2>/dev/null || nproc)
out=$root/results/$(hostname -s)-${cores}cores
rm -rf "$out"
start=$(date +%s)
# A hung configuration is killed after 10 minutes instead of holding the machine.
set +e
"$hk" sweep all --scaling strong --timeout 600 --out "$out" "$@"
sweep_status=$?
set -e
echo "make-results: sweep took $(( $(date +%s) - start )) s, exit status $sweep_status"
"$hk" plot "$out"
exit $sweep_status
