#!/usr/bin/python3
"""Monte Carlo pi scaling on this machine: 1x1, 2x1 and 1x2 through `hk run` (explicit hybrid
binding) at 4e8 samples, median of 5 reps each; prints each rate and its fraction of twice the
1x1 rate (target: >= 0.90 for 2x1 and 1x2) and checks that the placement gave each thread a core.

Usage: bench/montecarlo/scaling.py [BUILD_DIR] (default build/release)"""
import json, os, subprocess, sys, tempfile

build = sys.argv[1] if len(sys.argv) > 1 else "build/release"
hk = os.path.join(build, "drivers", "hk")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
rates = {}
with tempfile.TemporaryDirectory() as tmp:
    for ranks, threads in [(1, 1), (2, 1), (1, 2)]:
        out = os.path.join(tmp, f"{ranks}x{threads}.jsonl")
        subprocess.run([hk, "run", "montecarlo", "--ranks", str(ranks), "--threads", str(threads),
                        "--samples", "400000000", "--reps", "5", "--warmup", "1", "--out", out],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        record = json.loads(open(out).read().splitlines()[-1])
        cpus = sorted(p["allowed_cpus"] for p in record["placement"])
        rates[(ranks, threads)] = record["rate"]["value"]
        print(f"{ranks}x{threads}: {record['rate']['value']:8.1f} Msamples/s  "
              f"median {record['time_s']['median']:.4f} s  placement {cpus}")
base = rates[(1, 1)]
ok = True
for mix in [(2, 1), (1, 2)]:
    fraction = rates[mix] / (2 * base)
    ok &= fraction >= 0.90
    print(f"{mix[0]}x{mix[1]}: {fraction:.3f} of 2 x the 1x1 rate (target >= 0.90)")
sys.exit(0 if ok else 1)
