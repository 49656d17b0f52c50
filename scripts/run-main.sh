#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs Monte Carlo on every local core
# with explicit hybrid binding (one rank per physical core, one thread each), appending the
# record to results/main/runs.jsonl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
cores=$(build/release/drivers/hk info --cores)
mkdir -p results/main
build/release/drivers/hk run montecarlo --ranks "$cores" --threads 1 --out results/main/runs.jsonl "$@"
