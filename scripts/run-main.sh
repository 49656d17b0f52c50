#!/usr/bin/env bash
# The main job: installs what is missing, builds (Release), then sweeps every kernel over every
# ranks x threads split of this machine's physical cores (plus the strong-scaling runs below the
# full budget) and draws the plots: results/<host>-<cores>cores/{runs.jsonl,runs.csv,sweep.json,*.png,*.svg}.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec bash scripts/make-results.sh "$root/build/release" "$@"
