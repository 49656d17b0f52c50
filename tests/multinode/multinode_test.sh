#!/usr/bin/env bash
# tests/multinode/multinode_test.sh CASE: one CTest case on the simulated 2-node cluster
# (scripts/sim-cluster.sh), started by the case `up` and removed by the case `down` (the CTest
# fixture). Exit 77 (CTest SKIP_RETURN_CODE) with the reason when the cluster cannot run here.
#
# Environment (tests/multinode/CMakeLists.txt): HK_SOURCE_DIR, HK_BIN (hk, hk-kernel), HK_CHECK
# (hk-check-records), HK_TEST_DIR (records), HK_SIM_PREFIX/HK_SIM_SUBNET/HK_SIM_DIR/
# HK_SIM_SLURM_PORT (the test cluster's own names, apart from one started by hand).
set -uo pipefail
case_name=${1:?usage: multinode_test.sh CASE}
sim=$HK_SOURCE_DIR/scripts/sim-cluster.sh
check=(/usr/bin/python3 "$HK_SOURCE_DIR/tests/multinode/check_multinode.py")
kernel=$HK_BIN/hk-kernel
skip_reason_file=${HK_SIM_DIR}.skip-reason
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

fail() { echo "FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

require_cluster() {
  if [ -s "$skip_reason_file" ]; then
    echo "SKIP: $(cat "$skip_reason_file")"
    exit 77
  fi
  "$sim" status >/dev/null 2>&1 || fail "the simulated cluster is not up (the multinode.up test did not start it)"
  eval "$("$sim" env)"
  IFS=, read -r node1 node2 <<<"$HK_SIM_HOSTS"
  cpus1=$(cat "/sys/fs/cgroup/cpuset/$HK_SIM_PREFIX-sim/$node1/cpuset.cpus" 2>/dev/null \
          || cat "/sys/fs/cgroup/$HK_SIM_PREFIX-sim/$node1/cpuset.cpus")
  cpus2=$(cat "/sys/fs/cgroup/cpuset/$HK_SIM_PREFIX-sim/$node2/cpuset.cpus" 2>/dev/null \
          || cat "/sys/fs/cgroup/$HK_SIM_PREFIX-sim/$node2/cpuset.cpus")
}

fresh_file() {  # NAME: an empty records file under HK_TEST_DIR
  mkdir -p "$HK_TEST_DIR"
  rm -f "$HK_TEST_DIR/$1".jsonl "$HK_TEST_DIR/$1".csv
  echo "$HK_TEST_DIR/$1.jsonl"
}

# mpirun across both nodes, R ranks per node with T threads each, as hk composes it (the rsh
# agent and the subnet come from the cluster's env). More ranks than a node's cores: unbound.
across() {
  local per_node=$1 threads=$2
  shift 2
  local map=(--map-by "ppr:$per_node:node:PE=$threads" --bind-to core)
  if [ $((per_node * threads)) -gt "$HK_SIM_CORES" ]; then map=(--map-by "ppr:$per_node:node" --oversubscribe --bind-to none); fi
  # A time limit, unless the caller handles it (the long runs of the fault tests).
  local limit=(timeout -k 5 120)
  [ "${no_limit:-0}" = 1 ] && limit=()
  "${limit[@]}" mpirun --host "$node1:$per_node,$node2:$per_node" -np $((2 * per_node)) "${map[@]}" \
    -x OMP_NUM_THREADS="$threads" -x OMP_PLACES=cores -x OMP_PROC_BIND=close "$kernel" "$@" --threads="$threads"
}

# The same on this machine alone (the single-node reference).
local_run() {
  local ranks=$1 threads=$2
  shift 2
  timeout -k 5 120 mpirun -np "$ranks" --oversubscribe --bind-to none -x OMP_NUM_THREADS="$threads" \
    "$kernel" "$@" --threads="$threads"
}

fresh_dir() {  # NAME: an empty directory under HK_TEST_DIR
  rm -rf "${HK_TEST_DIR:?}/$1" && mkdir -p "$HK_TEST_DIR/$1" && echo "$HK_TEST_DIR/$1"
}

show_logs() {
  local log
  for log in "$1"/*.out "$1"/slurm/logs/*.out; do
    [ -f "$log" ] && { echo "---- $log"; tail -n 20 "$log"; }
  done
}

# The job's verdict from hk slurm status (squeue, then the JobComp file): it must be ok.
slurm_verdict() {
  local dir=$1
  shift
  "$HK_BIN/hk" slurm status "$dir" "$@" --wait --wait-timeout 100 --poll 0.5 || { show_logs "$dir"; fail "the job did not end ok"; }
}

# FILE HOSTS_SOURCE CORES_SOURCE EXTRA_ARGS_JSON: the record's launch says how hk launched it.
launched() {
  "${check[@]}" launched "$1" --hosts-source="$2" --cores-source="$3" --extra-args="$4" || fail "launch of $1"
}

spans() {  # FILE COUNT: every record ok, verified, on both nodes, each thread on its node's CPUs
  "${check[@]}" spans "$1" --count "$2" --hosts "$node1,$node2" --cpus "$node1=$cpus1,$node2=$cpus2" || fail "records of $1"
}

# Pids of NAME (comm) on NODE, one line, empty when none.
procs_on() { "$sim" procs "$1" | awk -v n="$2" '$2 == n { printf "%s ", $1 }'; }

# Nothing of a launch left: no hk-kernel or orted on either node, no mpirun started by this test.
nothing_left() {
  local node what left=""
  for node in "$node1" "$node2"; do
    for what in hk-kernel orted; do
      [ -n "$(procs_on "$node" "$what")" ] && left+="$what on $node ($(procs_on "$node" "$what")) "
    done
  done
  [ -z "$left" ] || { echo "left: $left"; return 1; }
}

wait_nothing_left() {  # SECONDS
  local _
  for _ in $(seq 1 $(($1 * 10))); do
    nothing_left >/dev/null && return 0
    sleep 0.1
  done
  nothing_left
}

# A long Monte Carlo run across the nodes in the background; sets run_pid (its own process group).
start_long_run() {
  local out=$1
  setsid bash -c "$(declare -f across); node1=$node1 node2=$node2 HK_SIM_CORES=$HK_SIM_CORES kernel=$kernel no_limit=1; \
    across 1 1 montecarlo --samples 400000000000 --reps 1 --warmup 0 --out $out" >"$out.log" 2>&1 &
  run_pid=$!
  local _
  for _ in $(seq 1 300); do
    [ -n "$(procs_on "$node2" hk-kernel)" ] && [ -n "$(procs_on "$node1" hk-kernel)" ] && return 0
    sleep 0.1
  done
  cat "$out.log"
  fail "the run did not start a rank on each node within 30 s"
}

case $case_name in
  up)
    rm -f "$skip_reason_file"
    "$sim" down >/dev/null 2>&1  # leftovers of an interrupted earlier run
    output=$("$sim" up 2 --slurm 2>&1)
    status=$?
    echo "$output"
    if [ $status -eq 77 ]; then
      grep -m1 'SKIP:' <<<"$output" | sed 's/.*SKIP: //' >"$skip_reason_file"
      echo "SKIP: $(cat "$skip_reason_file")"
      exit 77
    fi
    [ $status -eq 0 ] || fail "sim-cluster.sh up 2 --slurm: exit $status"
    require_cluster
    # Each node: its own name, its own CPUs, hwloc on the node counts only those cores.
    for node in "$node1" "$node2"; do
      seen=$("$sim" exec "$node" sh -c 'echo $(hostname) $(hwloc-calc -N core all) $(grep Cpus_allowed_list /proc/self/status | cut -f2)')
      echo "on $node: host name, hwloc cores, allowed CPUs: $seen"
      read -r name cores allowed <<<"$seen"
      [ "$name" = "$node" ] || fail "$node calls itself '$name'"
      [ "$cores" = "$HK_SIM_CORES" ] || fail "hwloc on $node counts $cores cores, the node has $HK_SIM_CORES"
      [ "$allowed" = "$([ "$node" = "$node1" ] && echo "$cpus1" || echo "$cpus2")" ] || fail "$node may run on CPUs $allowed"
    done
    [ "$cpus1" != "$cpus2" ] || fail "both nodes have CPUs $cpus1"
    # A node cannot give itself the other node's CPUs.
    if "$sim" exec "$node2" taskset -c "$cpus1" true 2>/dev/null; then fail "$node2 could bind to $node1's CPUs $cpus1"; fi
    getent hosts "$node1" "$node2" || fail "the node names do not resolve"
    ;;

  down)
    [ -s "$skip_reason_file" ] && { echo "SKIP: $(cat "$skip_reason_file")"; rm -f "$skip_reason_file"; exit 77; }
    "$sim" down || fail "sim-cluster.sh down"
    # Nothing of it left: namespaces, links, cgroups, hosts lines, mounts, daemons, directory.
    left=""
    ip netns list | grep -q "^${HK_SIM_PREFIX}[0-9]" && left+="namespaces; "
    ip -o link show | grep -q ": $HK_SIM_PREFIX\(br\|v[0-9]\)" && left+="links; "
    [ -d "/sys/fs/cgroup/cpuset/$HK_SIM_PREFIX-sim" ] || [ -d "/sys/fs/cgroup/$HK_SIM_PREFIX-sim" ] && left+="cgroups; "
    grep -q "# hk-sim-cluster $HK_SIM_PREFIX\$" /etc/hosts && left+="/etc/hosts lines; "
    grep -q "$HK_SIM_DIR\|/var/tmp/$HK_SIM_PREFIX-node" /proc/mounts && left+="mounts; "
    [ -e "$HK_SIM_DIR" ] && left+="$HK_SIM_DIR; "
    [ -e "/var/tmp/$HK_SIM_PREFIX-node" ] && left+="/var/tmp/$HK_SIM_PREFIX-node; "
    pgrep -f "slurm(ctld|d) -f $HK_SIM_DIR" >/dev/null && left+="Slurm daemons; "
    [ -z "$left" ] || fail "left behind: $left"
    echo "nothing left of cluster '$HK_SIM_PREFIX'"
    ;;

  kernels)
    # Every kernel and variant across both nodes, one rank per node: ok, verified, both hosts.
    require_cluster
    file=$(fresh_file kernels)
    for problem in pi option; do
      across 1 1 montecarlo --problem $problem --samples 3000017 --reps 1 --warmup 0 --out "$file" || fail "montecarlo $problem"
    done
    for variant in rowblock summa shared; do
      across 1 1 matmul --variant $variant --n 97 --verify full --reps 1 --warmup 0 --out "$file" || fail "matmul $variant"
    done
    for variant in blocking overlap; do
      across 1 1 filter --filter gaussian --sigma 1.3 --size 37x23 --variant $variant --verify full --reps 1 --warmup 0 \
        --out "$file" || fail "filter $variant"
    done
    spans "$file" 7
    ;;

  bitwise)
    # Where the kernel promises it, the bits do not depend on the nodes: Monte Carlo and filter
    # across 2 nodes (2 ranks per node, 2 x 2) against one node (the same ranks, this machine).
    require_cluster
    mc_nodes=$(fresh_file mc_nodes) mc_local=$(fresh_file mc_local)
    filter_nodes=$(fresh_file filter_nodes) filter_local=$(fresh_file filter_local)
    mc=(montecarlo --problem option --samples 300007 --reps 1 --warmup 0)
    flt=(filter --filter sobel --size 45x19 --channels 3 --iterations 2 --verify full --reps 1 --warmup 0)
    across 2 1 "${mc[@]}" --out "$mc_nodes" || fail "montecarlo across the nodes"
    local_run 4 1 "${mc[@]}" --out "$mc_local" || fail "montecarlo on this machine"
    across 2 1 "${flt[@]}" --out "$filter_nodes" || fail "filter across the nodes"
    local_run 4 1 "${flt[@]}" --out "$filter_local" || fail "filter on this machine"
    spans "$mc_nodes" 1
    spans "$filter_nodes" 1
    "${check[@]}" same "$mc_nodes" /result/estimate_bits "$mc_local" || fail "Monte Carlo estimate differs"
    for field in /result/checksum_bits /result/pixel_hash; do
      "${check[@]}" same "$filter_nodes" "$field" "$filter_local" || fail "filter $field differs"
    done
    ;;

  matmul_shared)
    # One B per node: 2 ranks on each of 2 nodes share their node's window (b_copies 2), and by
    # PSS hold about 2 B less than rowblock's 4 copies.
    require_cluster
    file=$(fresh_file matmul_memory)
    for variant in rowblock shared; do
      across 2 1 matmul --variant $variant --n 1024 --reps 1 --warmup 0 --out "$file" || fail "matmul $variant"
    done
    spans "$file" 2
    "${check[@]}" b_copies "$file" --nodes 2 --n 1024 --vs "$file" || fail "copies of B"
    ;;

  summa_grid)
    # SUMMA on a 2 x 2 process grid: ranks 0,1 on node 1 and 2,3 on node 2, so every grid column
    # broadcast crosses the nodes; and a 1 x 2 grid whose only row spans them.
    require_cluster
    file=$(fresh_file summa)
    across 2 1 matmul --variant summa --grid 2x2 --n 97 --block 16 --verify full --reps 1 --warmup 0 --out "$file" \
      || fail "summa 2x2"
    across 1 1 matmul --variant summa --grid 1x2 --n 97 --block 16 --verify full --reps 1 --warmup 0 --out "$file" \
      || fail "summa 1x2"
    spans "$file" 2
    /usr/bin/python3 -c '
import json, sys
grids = [json.loads(l)["metrics"]["grid"] for l in open(sys.argv[1])]
print("grids:", grids)
sys.exit(0 if grids == [[2, 2], [1, 2]] else 1)' "$file" || fail "process grids"
    ;;

  kill_rank)
    # SIGKILL to the rank on the second node: the launch ends within 10 s, non-zero, nothing left.
    require_cluster
    file=$(fresh_file killed)
    start_long_run "$file"
    victim=$(procs_on "$node2" hk-kernel)
    echo "killing hk-kernel $victim on $node2"
    started=$(now)
    kill -KILL $victim
    for _ in $(seq 1 100); do
      kill -0 $run_pid 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 $run_pid 2>/dev/null; then
      kill -KILL -- -$run_pid
      fail "the launch was still running 10 s after a rank was killed"
    fi
    wait $run_pid
    status=$?
    took=$(seconds_since "$started")
    tail -n 5 "$file.log"
    echo "the launch ended $took s after the kill, exit status $status"
    [ $status -ne 0 ] || fail "the launch exited 0 after one of its ranks was killed"
    wait_nothing_left 2 || fail "processes left after the launch ended"
    [ ! -s "$file" ] || fail "a record was written by a run that lost a rank"
    ;;

  link_down)
    # The second node's link fails mid-run: the launch ends (its own error, or the timeout a
    # sweep would apply), and once the node can talk again nothing of the run is left on it.
    require_cluster
    file=$(fresh_file link)
    start_long_run "$file"
    started=$(now)
    "$sim" link "$node2" down || fail "link down"
    trap '"$sim" link "$node2" up' EXIT
    wait_limit=40
    for _ in $(seq 1 $((wait_limit * 10))); do
      kill -0 $run_pid 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 $run_pid 2>/dev/null; then
      echo "still running after $wait_limit s: killed, as a sweep's --timeout would"
      kill -TERM -- -$run_pid; sleep 5; kill -KILL -- -$run_pid 2>/dev/null
    fi
    wait $run_pid
    status=$?
    echo "the launch ended $(seconds_since "$started") s after the link went down, exit status $status"
    tail -n 5 "$file.log"
    [ $status -ne 0 ] || fail "the launch exited 0 without its second node"
    nothing_left_here=$(pgrep -f "mpirun --host $node1" || true)
    [ -z "$nothing_left_here" ] || fail "mpirun still running here: $nothing_left_here"
    "$sim" link "$node2" up || fail "link up"
    trap - EXIT
    wait_nothing_left 30 || fail "processes left on the nodes 30 s after the link came back"
    [ ! -s "$file" ] || fail "a record was written by a run that lost a node"
    ;;

  probe)
    # hk probe's row "MPI between two nodes vs within a node": measured with --hosts, unavailable
    # (with the reason) without.
    require_cluster
    dir=$(fresh_dir probe)
    "$HK_BIN/hk" probe --quick --no-python --hosts "$HK_SIM_HOSTS" --json "$dir/with_hosts.json" | tee "$dir/with_hosts.txt" \
      || fail "hk probe --hosts $HK_SIM_HOSTS"
    grep -E "^(Latency 8 B|Bandwidth 16 MiB): MPI between 2 nodes" "$dir/with_hosts.txt" || fail "no between-nodes rows"
    "$HK_BIN/hk" probe --quick --no-python --no-mpi --json "$dir/without.json" >/dev/null || fail "hk probe without --hosts"
    /usr/bin/python3 - "$dir/with_hosts.json" "$dir/without.json" "$HK_SIM_HOSTS" <<'EOF' || fail "probe figures"
import json, sys
with_hosts, without = (json.load(open(path)) for path in sys.argv[1:3])
keys = ["communication.mpi_internode_latency_8B", "communication.mpi_internode_bandwidth_1MiB",
        "communication.mpi_internode_bandwidth_16MiB"]
assert with_hosts["settings"]["hosts"] == sys.argv[3].split(","), with_hosts["settings"]["hosts"]
for key in keys:
    figure = with_hosts["figures"][key]
    assert figure["value"] > 0 and figure["unit"] in ("us", "GB/s"), (key, figure)
    print(f'{key}: {figure["value"]:.3f} {figure["unit"]} ({figure["what"]})')
    assert key not in without["figures"] and "--hosts" in without["unavailable"][key], without["unavailable"]
print("without --hosts:", without["unavailable"][keys[0]])
EOF
    ;;

  slurm_run)
    # slurm/run.sbatch on 2 nodes, one rank each: srun places them, both hosts in the record.
    require_cluster
    dir=$(fresh_dir slurm_run)
    job=$(cd "$dir" && HK_BIN=$HK_BIN HK_OUT=$dir sbatch --parsable --nodes=2 --ntasks-per-node=1 --cpus-per-task=1 \
          --time=5 --output="$dir/run-%j.out" "$HK_SOURCE_DIR/slurm/run.sbatch" montecarlo --samples 2000000 --reps 2) \
      || fail "sbatch run.sbatch"
    slurm_verdict "$dir" --jobs "${job%%;*}"
    spans "$dir/runs.jsonl" 1
    ;;

  slurm_sweep)
    # slurm/sweep.sbatch in a 2-node allocation: hk sweep's srun steps span both nodes.
    require_cluster
    dir=$(fresh_dir slurm_sweep)
    job=$(cd "$dir" && HK_BIN=$HK_BIN HK_OUT=$dir sbatch --parsable --nodes=2 --time=5 --output="$dir/sweep-%j.out" \
          "$HK_SOURCE_DIR/slurm/sweep.sbatch" montecarlo --samples 2000000 --reps 2 --mixes 2x1) || fail "sbatch sweep.sbatch"
    slurm_verdict "$dir" --jobs "${job%%;*}"
    spans "$dir/runs.jsonl" 1
    ;;

  slurm_submit)
    # hk slurm submit --nodes 2: an array job whose task runs across both nodes.
    require_cluster
    dir=$(fresh_dir slurm_submit)
    "$HK_BIN/hk" slurm submit montecarlo --samples 2000000 --reps 2 --mixes 2x1 --nodes 2 --time 5 --out "$dir" \
      || fail "hk slurm submit"
    "$HK_BIN/hk" slurm collect "$dir" --wait --wait-timeout 100 --poll 0.5 || { show_logs "$dir"; fail "hk slurm collect"; }
    spans "$dir/runs.jsonl" 1
    ;;

  hk_hosts)
    # hk run --hosts across both nodes: mpirun reaches them only through --launcher-args (the rsh
    # agent taken out of the environment), the ranks spread one per node, and the record says
    # where the hosts, the cores and the extra launcher flags came from.
    require_cluster
    file=$(fresh_file hk_hosts)
    agent=$OMPI_MCA_plm_rsh_agent
    (unset OMPI_MCA_plm_rsh_agent
     timeout -k 5 100 "$HK_BIN/hk" run montecarlo --samples 3000017 --reps 1 --warmup 0 \
       --hosts "$node1:$HK_SIM_CORES,$node2:$HK_SIM_CORES" --nodes 2 --ranks 2 --threads 1 \
       --launcher-args "--mca plm_rsh_agent $agent" --out "$file") || fail "hk run --hosts"
    spans "$file" 1
    launched "$file" hosts "--hosts slots" "[\"--mca\", \"plm_rsh_agent\", \"$agent\"]"
    ;;

  hk_hostfile)
    # hk run --hostfile: matmul shared across both nodes, and --nodes 1 with the same file takes
    # the first node only.
    require_cluster
    file=$(fresh_file hk_hostfile) one=$(fresh_file hk_hostfile_one)
    timeout -k 5 100 "$HK_BIN/hk" run matmul --variant shared --n 97 --verify full --reps 1 --warmup 0 \
      --hostfile "$HK_SIM_HOSTFILE" --nodes 2 --ranks 2 --out "$file" || fail "hk run --hostfile --nodes 2"
    spans "$file" 1
    launched "$file" hostfile "hostfile slots" "[]"
    timeout -k 5 100 "$HK_BIN/hk" run montecarlo --samples 300007 --reps 1 --warmup 0 --hostfile "$HK_SIM_HOSTFILE" \
      --nodes 1 --ranks 1 --out "$one" || fail "hk run --hostfile --nodes 1"
    "${check[@]}" spans "$one" --count 1 --hosts "$node1" --cpus "$node1=$cpus1" || fail "records of $one"
    ;;

  hk_sweep_nodes)
    # hk sweep --nodes 1,2 from a hostfile: every mix of one node's cores on 1 and on 2 nodes, each
    # configuration recorded, and sweep.json lists both hosts as they describe themselves (their
    # own core count, not the launching machine's).
    require_cluster
    dir=$(fresh_dir hk_sweep_nodes)
    timeout -k 5 160 "$HK_BIN/hk" sweep montecarlo --samples 2000003 --reps 1 --warmup 0 --hostfile "$HK_SIM_HOSTFILE" \
      --nodes 1,2 --timeout 60 --out "$dir" || { show_logs "$dir/logs"; fail "hk sweep --nodes 1,2"; }
    /usr/bin/python3 "$HK_SOURCE_DIR/tests/multinode/check_multinode.py" sweep_nodes "$dir" --hosts "$node1,$node2" \
      --cores "$HK_SIM_CORES" || fail "sweep records and sweep.json"
    ;;

  unreachable)
    # A host that cannot be reached: hk run ends with 3 and records the run as failed, not ok;
    # hk sweep stops at gathering the hosts' topology with 3 and records nothing.
    require_cluster
    file=$(fresh_file unreachable) dir=$(fresh_dir unreachable_sweep)
    ghost=${HK_SIM_PREFIX}9
    started=$(now)
    timeout -k 5 60 "$HK_BIN/hk" run montecarlo --samples 300007 --reps 1 --hosts "$node1:1,$ghost:1" --nodes 2 --ranks 2 \
      --out "$file"
    status=$?
    echo "hk run with host $ghost: exit $status after $(seconds_since "$started") s"
    [ $status -eq 3 ] || fail "hk run with an unreachable host: exit $status, expected 3"
    /usr/bin/python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print([x["status"] for x in r]); assert r and all(x["status"] != "ok" for x in r)' "$file" \
      || fail "the run with an unreachable host is not recorded as failed"
    output=$(timeout -k 5 60 "$HK_BIN/hk" sweep montecarlo --samples 300007 --reps 1 --hosts "$node1:1,$ghost:1" \
      --nodes 1,2 --out "$dir" 2>&1)
    status=$?
    echo "$output" | tail -n 3
    [ $status -eq 3 ] || fail "hk sweep with an unreachable host: exit $status, expected 3"
    grep -q "hk: error: gathering the topology of the 2 host(s)" <<<"$output" || fail "no clear line"
    [ ! -s "$dir/runs.jsonl" ] || fail "the sweep recorded runs"
    wait_nothing_left 10 || fail "processes left"
    ;;

  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac
exit 0
