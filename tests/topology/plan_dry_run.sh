#!/bin/bash
# What `hk sweep|run --topology NODE.xml --dry-run` plans for the shipped big nodes: which mixes are
# listed (all, or --mixes aligned), which are aligned, the binding words of each launcher per mix,
# and the straddle warnings. Nothing is launched and Open MPI's simulator is not used (its own
# checks are topology.simulator.*): every case gives the same verdict on every run.
# Usage: plan_dry_run.sh CASE   Environment: HK (the hk executable), TOPOLOGIES (tests/topologies), WORK.
set -u
case_name=$1
dir=$WORK/$case_name
rm -rf "$dir"
mkdir -p "$dir"
T=$TOPOLOGIES
fail() { echo "FAILED: $*" >&2; exit 1; }

plan() {  # hk sweep montecarlo --dry-run ARGS...: output in $dir/out, stderr also in $dir/err
  "$HK" sweep montecarlo --dry-run --out "$dir/plan" "$@" > "$dir/out" 2> "$dir/err" || fail "hk sweep $* exited $?: $(cat "$dir/err")"
  cat "$dir/err" "$dir/out"
  [ ! -e "$dir/plan/runs.jsonl" ] || fail "a dry run wrote records"
}
# The layout lines' "RxT unit: aligned|NOT aligned, K rank(s) per LEVEL" in order, one per line.
layouts() { sed -n 's/^# \([0-9]*x[0-9]* [a-z]*: [A-Za-z ]*aligned, [0-9]* rank(s) per [a-z0-9]*\);.*/\1/p' "$dir/out"; }
# The launcher's binding words of each command, in order.
mpirun_words() { grep -o 'mpirun -np [0-9]* --map-by [^ ]* --bind-to [a-z]*\( --use-hwthread-cpus\)\?' "$dir/out"; }
srun_words() { grep -o 'srun --mpi=pmix --nodes=[0-9]* --ntasks=[0-9]* .* --cpu-bind=[^ ]*' "$dir/out"; }
# The mixes the straddle warnings name, in order.
warned() { sed -n 's/^hk sweep: WARNING: mix \([0-9]*x[0-9]* [a-z]*\): its ranks straddle.*/\1/p' "$dir/err"; }
same() {  # WHAT GOT EXPECTED
  [ "$2" = "$3" ] || fail "$1: got
$2
expected
$3"
}

case $case_name in
  epyc7763_aligned)  # LUMI-C, 2 x 64 cores, 8 NUMA, 16 L3 groups: every divisor mix aligned, per L3/NUMA/package
    plan --topology "$T/epyc7763-2s-nps4.xml" --mixes aligned
    same "mpirun words" "$(mpirun_words)" "mpirun -np 128 --map-by ppr:8:l3cache:PE=1 --bind-to core
mpirun -np 64 --map-by ppr:4:l3cache:PE=2 --bind-to core
mpirun -np 32 --map-by ppr:2:l3cache:PE=4 --bind-to core
mpirun -np 16 --map-by ppr:1:l3cache:PE=8 --bind-to core
mpirun -np 8 --map-by ppr:1:numa:PE=16 --bind-to core
mpirun -np 4 --map-by ppr:2:socket:PE=32 --bind-to core
mpirun -np 2 --map-by ppr:1:socket:PE=64 --bind-to core
mpirun -np 1 --map-by ppr:1:node:PE=128 --bind-to core"
    [ "$(grep -c 'cores: aligned' "$dir/out")" = 8 ] || fail "8 aligned layout lines expected"
    grep -q "NOT aligned" "$dir/out" && fail "a mix of --mixes aligned is not aligned"
    [ -s "$dir/err" ] && fail "no warning expected: $(cat "$dir/err")"
    grep -q '^# 16x8 cores: aligned, 1 rank(s) per l3; cores of each rank: 0-7 | 8-15 | 16-23 |' "$dir/out" ||
      fail "16x8: one L3 group of 8 cores per rank"
    [ "$(grep -c 'OMP_PLACES=cores OMP_PROC_BIND=close' "$dir/out")" = 8 ] || fail "OpenMP binding per core"
    ;;
  epyc7763_smt)  # --smt: 256 hardware threads, 9 aligned mixes, hwthread binding in both dialects
    plan --topology "$T/epyc7763-2s-nps4.xml" --mixes aligned --smt
    same "mpirun words" "$(mpirun_words)" "mpirun -np 256 --map-by ppr:16:l3cache:PE=1 --bind-to hwthread --use-hwthread-cpus
mpirun -np 128 --map-by ppr:8:l3cache:PE=2 --bind-to hwthread --use-hwthread-cpus
mpirun -np 64 --map-by ppr:4:l3cache:PE=4 --bind-to hwthread --use-hwthread-cpus
mpirun -np 32 --map-by ppr:2:l3cache:PE=8 --bind-to hwthread --use-hwthread-cpus
mpirun -np 16 --map-by ppr:1:l3cache:PE=16 --bind-to hwthread --use-hwthread-cpus
mpirun -np 8 --map-by ppr:1:numa:PE=32 --bind-to hwthread --use-hwthread-cpus
mpirun -np 4 --map-by ppr:2:socket:PE=64 --bind-to hwthread --use-hwthread-cpus
mpirun -np 2 --map-by ppr:1:socket:PE=128 --bind-to hwthread --use-hwthread-cpus
mpirun -np 1 --map-by ppr:1:node:PE=256 --bind-to hwthread --use-hwthread-cpus"
    [ "$(grep -c 'OMP_PLACES=threads' "$dir/out")" = 9 ] || fail "OMP_PLACES=threads on every line"
    [ "$(grep -c '"cpus":"hwthreads"' "$dir/out")" = 9 ] || fail "launch info must say cpus hwthreads"
    # 128x2: each rank holds the two hardware threads of one core (Linux numbering: c and c + 128)
    grep -q '^# 128x2 hwthreads: aligned, 8 rank(s) per l3; CPUs of each rank: 0,128 | 1,129 |' "$dir/out" ||
      fail "128x2 hwthreads: both hardware threads of a core per rank"
    plan --topology "$T/epyc7763-2s-nps4.xml" --mixes 32x8 --smt --launcher srun
    same "srun words" "$(srun_words)" "srun --mpi=pmix --nodes=1 --ntasks=32 --cpus-per-task=8 --distribution=block:block --cpu-bind=threads"
    ;;
  xeon_snc)  # 2 x 56 cores, SNC4 (8 NUMA domains of 14 cores, one L3 per package): 3 mixes straddle
    plan --topology "$T/xeon8480-2s-snc4.xml"
    same "layouts" "$(layouts)" "112x1 cores: aligned, 14 rank(s) per numa
56x2 cores: aligned, 7 rank(s) per numa
28x4 cores: NOT aligned, 14 rank(s) per package
16x7 cores: aligned, 2 rank(s) per numa
14x8 cores: NOT aligned, 7 rank(s) per package
8x14 cores: aligned, 1 rank(s) per numa
7x16 cores: NOT aligned, 7 rank(s) per node
4x28 cores: aligned, 2 rank(s) per package
2x56 cores: aligned, 1 rank(s) per package
1x112 cores: aligned, 1 rank(s) per node"
    same "mpirun words" "$(mpirun_words)" "mpirun -np 112 --map-by ppr:14:numa:PE=1 --bind-to core
mpirun -np 56 --map-by ppr:7:numa:PE=2 --bind-to core
mpirun -np 28 --map-by ppr:14:socket:PE=4 --bind-to core
mpirun -np 16 --map-by ppr:2:numa:PE=7 --bind-to core
mpirun -np 14 --map-by ppr:7:socket:PE=8 --bind-to core
mpirun -np 8 --map-by ppr:1:numa:PE=14 --bind-to core
mpirun -np 7 --map-by ppr:7:node:PE=16 --bind-to core
mpirun -np 4 --map-by ppr:2:socket:PE=28 --bind-to core
mpirun -np 2 --map-by ppr:1:socket:PE=56 --bind-to core
mpirun -np 1 --map-by ppr:1:node:PE=112 --bind-to core"
    same "warned mixes" "$(warned)" "28x4 cores
14x8 cores
7x16 cores"
    grep -q "WARNING: mix 28x4 cores: its ranks straddle NUMA domains of .*xeon8480-2s-snc4.xml .*e.g. rank 3 has cores 12-15 in NUMA domains 0-1$" "$dir/err" ||
      fail "28x4 warning must name a straddling rank and its domains"
    grep -q "WARNING: mix 7x16 cores: its ranks straddle NUMA domains and packages" "$dir/err" || fail "7x16 straddles packages too"
    plan --topology "$T/xeon8480-2s-snc4.xml" --mixes aligned
    same "aligned mixes" "$(layouts | cut -d' ' -f1 | tr '\n' ' ')" "112x1 56x2 16x7 8x14 4x28 2x56 1x112 "
    [ -s "$dir/err" ] && fail "no warning expected for --mixes aligned: $(cat "$dir/err")"
    ;;
  xeon_snc_smt)  # --smt: 224 hardware threads; 7 threads per rank split cores, 8/16/32 straddle NUMA
    plan --topology "$T/xeon8480-2s-snc4.xml" --smt
    same "aligned mixes" "$(layouts | grep ': aligned' | cut -d' ' -f1 | tr '\n' ' ')" "224x1 112x2 56x4 16x14 8x28 4x56 2x112 1x224 "
    same "warned mixes" "$(warned | tr '\n' ' ')" "32x7 hwthreads 28x8 hwthreads 14x16 hwthreads 7x32 hwthreads "
    grep -q "WARNING: mix 32x7 hwthreads: its ranks straddle cores (one core's hardware threads in two ranks)" "$dir/err" ||
      fail "32x7 hwthreads splits cores between ranks"
    [ "$(grep -c -- '--bind-to hwthread --use-hwthread-cpus' "$dir/out")" = 12 ] || fail "12 mixes bound to hardware threads"
    plan --topology "$T/xeon8480-2s-snc4.xml" --smt --mixes aligned
    same "--mixes aligned" "$(layouts | cut -d' ' -f1 | tr '\n' ' ')" "224x1 112x2 56x4 16x14 8x28 4x56 2x112 1x224 "
    ;;
  xeon_srun)  # srun's words from the same layouts: block:block on consecutive cores, a CPU mask per rank with gaps
    plan --topology "$T/xeon8480-2s-snc4.xml" --launcher srun --mixes 24x4,16x7
    same "layouts" "$(layouts)" "24x4 cores: aligned, 3 rank(s) per numa
16x7 cores: aligned, 2 rank(s) per numa"
    # 24x4: 3 ranks per 14-core NUMA domain, 2 cores idle in each; a mask holds both hardware threads of
    # its 4 cores (core c: CPUs c and c + 112). Rank 3 starts the second domain at core 14.
    srun_words | head -1 | grep -q -- "--ntasks=24 --cpus-per-task=4 --threads-per-core=1 --distribution=block:block --cpu-bind=mask_cpu:0xf000000000000000000000000000f,0xf000000000000000000000000000f0,0xf000000000000000000000000000f00,0x3c000000000000000000000000003c000," ||
      fail "24x4 masks: $(srun_words | head -1 | cut -c1-300)"
    [ "$(srun_words | head -1 | grep -o 'mask_cpu:[^ ]*' | tr ',' '\n' | grep -c 0x)" = 24 ] || fail "one mask per rank"
    srun_words | sed -n 2p | grep -q -- "--ntasks=16 --cpus-per-task=7 --threads-per-core=1 --distribution=block:block --cpu-bind=cores$" ||
      fail "16x7: consecutive cores"
    ;;
  epyc9654)  # 1 socket, 1 NUMA domain, 12 L3 groups of 8 cores: 3, 6 and 12 threads per rank straddle L3 groups
    plan --topology "$T/epyc9654-1s-nps1.xml"
    same "aligned mixes" "$(layouts | grep ': aligned' | cut -d' ' -f1 | tr '\n' ' ')" "96x1 48x2 24x4 12x8 6x16 4x24 3x32 2x48 1x96 "
    same "warned mixes" "$(warned | tr '\n' ' ')" "32x3 cores 16x6 cores 8x12 cores "
    grep -q "WARNING: mix 8x12 cores: its ranks straddle L3 groups of .*e.g. rank 0 has cores 0-11 in L3 groups 0-1$" "$dir/err" ||
      fail "8x12: rank 0 on one and a half L3 groups"
    mpirun_words | grep -qx "mpirun -np 12 --map-by ppr:1:l3cache:PE=8 --bind-to core" || fail "12x8 per L3 group"
    ;;
  run)  # hk run: the warning, the layout line and the command; --aligned refuses that mix (exit 2, one line)
    "$HK" run montecarlo --topology "$T/xeon8480-2s-snc4.xml" --ranks 28 --threads 4 --dry-run > "$dir/out" 2> "$dir/err" ||
      fail "hk run --dry-run exited $?"
    cat "$dir/err" "$dir/out"
    same "stderr" "$(cat "$dir/err")" "hk: WARNING: mix 28x4 cores: its ranks straddle NUMA domains of $T/xeon8480-2s-snc4.xml (no per-domain map keeps every rank inside one); e.g. rank 3 has cores 12-15 in NUMA domains 0-1"
    grep -q "^hk: 28x4 cores: NOT aligned, 14 rank(s) per package; cores of each rank: 0-3 | 4-7 |" "$dir/out" || fail "layout line"
    grep -q "mpirun -np 28 --map-by ppr:14:socket:PE=4 --bind-to core " "$dir/out" || fail "command"
    "$HK" run montecarlo --topology "$T/xeon8480-2s-snc4.xml" --ranks 28 --threads 4 --aligned --dry-run > "$dir/out" 2>&1
    status=$?
    cat "$dir/out"
    [ "$status" = 2 ] || fail "--aligned with 28x4: exit $status, expected 2"
    same "--aligned refusal" "$(cat "$dir/out")" "hk: error: mix 28x4 cannot be aligned to $T/xeon8480-2s-snc4.xml (2 packages, 8 NUMA domains, 2 L3 groups, 112 cores, 224 hardware threads): its ranks would straddle NUMA domains; aligned mixes of 112 cores: 112x1,56x2,16x7,8x14,4x28,2x56,1x112"
    "$HK" run montecarlo --topology "$T/xeon8480-2s-snc4.xml" --ranks 16 --threads 7 --aligned --dry-run > "$dir/out" 2>&1 ||
      fail "--aligned with 16x7 (aligned) must pass: $(cat "$dir/out")"
    grep -q "mpirun -np 16 --map-by ppr:2:numa:PE=7 --bind-to core " "$dir/out" || fail "16x7 command"
    ;;
  smt_without_smt)  # --smt on a node with one hardware thread per core: a warning, the cores are the units
    command -v lstopo-no-graphics > /dev/null || { echo "SKIPPED: no lstopo-no-graphics (Debian package hwloc)"; exit 77; }
    lstopo-no-graphics --no-io --if synthetic --input "package:2 [numa] l3cache:2 core:4 pu:1" --of xml "$dir/nosmt.xml" ||
      fail "lstopo could not write the node"
    plan --topology "$dir/nosmt.xml" --smt --mixes aligned
    grep -q "^hk sweep: WARNING: --smt: $dir/nosmt.xml has one hardware thread per core: the hardware threads are the cores$" "$dir/err" ||
      fail "the --smt warning"
    same "aligned mixes" "$(layouts | cut -d' ' -f1 | tr '\n' ' ')" "16x1 8x2 4x4 2x8 1x16 "
    ;;
  hosts)  # with issue 14's host lists: the node's per-domain map on every host, --mixes aligned per node count
    plan --topology "$T/xeon8480-2s-snc4.xml" --hosts hkn1:112,hkn2:112 --nodes 1,2 --mixes aligned
    same "mpirun words" "$(grep -o 'mpirun -np [0-9]* --host [^ ]* --map-by [^ ]* --bind-to core' "$dir/out" | sed -n '1p;7,8p;14p')" \
      "mpirun -np 112 --host hkn1:112 --map-by ppr:14:numa:PE=1 --bind-to core
mpirun -np 1 --host hkn1:112 --map-by ppr:1:node:PE=112 --bind-to core
mpirun -np 224 --host hkn1:112,hkn2:112 --map-by ppr:14:numa:PE=1 --bind-to core
mpirun -np 2 --host hkn1:112,hkn2:112 --map-by ppr:1:node:PE=112 --bind-to core"
    [ "$(grep -c '^# .*: aligned' "$dir/out")" = 14 ] || fail "7 aligned mixes on each node count"
    # 28 ranks on 2 nodes: 14 x 4 on each, 2 per NUMA domain (cores left idle), aligned
    plan --topology "$T/xeon8480-2s-snc4.xml" --hosts hkn1:112,hkn2:112 --nodes 2 --mixes 28x4
    same "layouts" "$(layouts)" "14x4 cores: aligned, 2 rank(s) per numa"
    grep -q "mpirun -np 28 --host hkn1:112,hkn2:112 --map-by ppr:2:numa:PE=4 --bind-to core " "$dir/out" || fail "28x4 on 2 nodes"
    "$HK" sweep montecarlo --topology "$T/laptop-i7-1165g7.xml" --hosts hkn1:500 --dry-run --out "$dir/plan" > "$dir/out" 2>&1
    status=$?
    cat "$dir/out"
    [ "$status" = 2 ] && grep -q "^hk: error: --hosts slots 500: the node in .*laptop-i7-1165g7.xml has 4 cores" "$dir/out" ||
      fail "slots beyond the --topology node: exit $status"
    ;;
  record)  # a real sweep (2 ranks here) planned on the laptop node: sweep.aligned, launch.cpus, the planned node
    # The laptop has one domain per level, so its words (ppr:K:node:PE=T) run on any machine of 2 cores.
    "$HK" sweep montecarlo --samples 200000 --warmup 0 --reps 1 --topology "$T/laptop-i7-1165g7.xml" --cores 2 \
      --mixes 2x1,1x2 --out "$dir/sweep" || fail "sweep exited $?"
    same "records" "$(/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["ranks"], r["threads"], r["status"], r["sweep"]["aligned"], r["launch"]["cpus"], r["launch"]["map_by"])' "$dir/sweep/runs.jsonl")" \
      "2 1 ok True cores ppr:2:node:PE=1
1 2 ok True cores ppr:1:node:PE=2"
    /usr/bin/python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["machine"]["planned_node"]
assert (n["cores"], n["hardware_threads"], n["l3_groups"], n["packages"]) == (4, 8, 1, 1) and n["source"].endswith("laptop-i7-1165g7.xml"), n' \
      "$dir/sweep/sweep.json" || fail "sweep.json: machine.planned_node"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
