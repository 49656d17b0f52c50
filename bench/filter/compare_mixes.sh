#!/usr/bin/env bash
# compare_mixes.sh [HK] [REPEATS] [SIZE]: blocking and overlap on 2 ranks x 1 thread against
# 1 rank x 2 threads, through `hk run filter`, at SIZE (default 8192x8192). Each configuration
# runs REPEATS times (default 3, interleaved so machine noise hits all alike); the records are
# read back and the medians of their rates (Mpixel/s, each already a median over --reps) compared.
# Target: every 2x1 rate >= 90 % of the 1x2 rate of the same variant.
set -euo pipefail
hk=${1:-build/release/drivers/hk}
repeats=${2:-3}
size=${3:-8192x8192}
records=$(mktemp --suffix=.jsonl)
trap 'rm -f "$records" "${records%.jsonl}.csv"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
for ((i = 1; i <= repeats; i++)); do
  for variant in blocking overlap; do
    for mix in "2 1" "1 2"; do
      set -- $mix
      "$hk" run filter --ranks "$1" --threads "$2" --size "$size" --variant "$variant" --reps 5 --warmup 1 \
        --out "$records" > /dev/null
    done
  done
done
/usr/bin/python3 - "$records" <<'PY'
import json, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] != "ok":
        sys.exit(f"run {r['variant']} {r['ranks']}x{r['threads']} failed: {r.get('error', r['status'])}")
    rates.setdefault((r["variant"], r["ranks"], r["threads"]), []).append(r["rate"]["value"])
print(f"{'variant':10} {'2x1 Mpixel/s':>14} {'1x2 Mpixel/s':>14} {'2x1 / 1x2':>10}  (medians of {len(next(iter(rates.values())))} runs)")
missed = 0
for variant in ("blocking", "overlap"):
    two_ranks = statistics.median(rates[(variant, 2, 1)])
    two_threads = statistics.median(rates[(variant, 1, 2)])
    ratio = two_ranks / two_threads
    missed += ratio < 0.9
    print(f"{variant:10} {two_ranks:14.1f} {two_threads:14.1f} {100 * ratio:9.1f}%{'' if ratio >= 0.9 else '  below the 90 % target'}")
sys.exit(1 if missed else 0)
PY
