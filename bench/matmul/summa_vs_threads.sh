#!/usr/bin/env bash
# summa_vs_threads.sh [HK] [N] [ROUNDS]: summa on 2 ranks x 1 thread against 1 rank x 2 threads
# at n = N (default 4096), alternating the two mixes ROUNDS times (default 3) so both see the
# same machine load; each `hk run` records the median of its repetitions. Prints the median
# rate of each mix over the rounds and their ratio (target: 2x1 >= 90 % of 1x2).
set -euo pipefail
hk=${1:-build/release/drivers/hk}
n=${2:-4096}
rounds=${3:-3}
out=$(mktemp -d)/summa_vs_threads.jsonl
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
for ((round = 1; round <= rounds; ++round)); do
  "$hk" run matmul --variant summa --n "$n" --ranks 2 --threads 1 --reps 3 --warmup 1 --out "$out" >/dev/null
  "$hk" run matmul --variant summa --n "$n" --ranks 1 --threads 2 --reps 3 --warmup 1 --out "$out" >/dev/null
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert r["status"] == "ok", r
    rates.setdefault((r["ranks"], r["threads"]), []).append(r["rate"]["value"])
two_ranks, two_threads = statistics.median(rates[(2, 1)]), statistics.median(rates[(1, 2)])
print(f"summa n={r['params']['n']}: 2 ranks x 1 thread {two_ranks:.2f} GFLOP/s, "
      f"1 rank x 2 threads {two_threads:.2f} GFLOP/s (medians of {len(rates[(2, 1)])} runs each)")
print(f"  per-run rates 2x1: {[round(v, 2) for v in rates[(2, 1)]]}, 1x2: {[round(v, 2) for v in rates[(1, 2)]]}")
print(f"  ratio 2x1 / 1x2 = {two_ranks / two_threads:.3f}")
PY
echo "records: $out"
