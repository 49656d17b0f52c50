#!/usr/bin/env bash
# scripts/sim-cluster.sh: a simulated cluster of N nodes on this machine, for trying and testing
# multi-node runs without a cluster. Runs as root on Linux (network namespaces, cgroups, mounts).
#
#   scripts/sim-cluster.sh up N [--slurm] [--latency MS] [--rate MBIT]
#   scripts/sim-cluster.sh down | status | env | hosts
#   scripts/sim-cluster.sh exec NODE COMMAND...      run COMMAND on a node, as ssh would
#   scripts/sim-cluster.sh link NODE down|up         unplug / replug a node's network cable
#   scripts/sim-cluster.sh procs NODE                the processes on a node (pid and name)
#
# Each node PREFIXi (i = 1..N, default prefix hkn) has
#   - its own network namespace with address SUBNET.i on a bridge PREFIXbr (the machine is SUBNET.254),
#     its name in /etc/hosts (lines tagged "# hk-sim-cluster PREFIX", removed by down);
#   - its own host name (a persistent UTS namespace) and mount namespace, with a private /dev/shm
#     and, for Slurm, a node-local directory at /var/tmp/PREFIX-node (Slurm's TmpFS);
#   - its own CPUs: a cpuset cgroup holding the machine's cores split evenly (on 2 cores node 1 gets
#     CPU 0, node 2 CPU 1). Everything started on the node is confined to them, so hwloc on the
#     node reports only those cores and Open MPI binds inside them;
#   - an rsh agent for Open MPI ($DIR/rsh-agent, also in `env` as OMPI_MCA_plm_rsh_agent) that
#     enters the node like ssh would: its namespaces, its cpuset, a login environment (nothing of
#     the caller's environment leaks through, so a launcher must forward what ranks need).
# --slurm adds slurmctld on the machine and one slurmd per node (inside the node), with munge;
# clients find it through SLURM_CONF (`eval "$(scripts/sim-cluster.sh env)"`).
# --latency MS and --rate MBIT shape what each node sends (tc on the node's interface): one-way
# latency between two nodes is MS; each node sends at most MBIT Mbit/s. Latency needs the kernel's
# netem qdisc; rate alone uses tbf when netem is missing.
#
# Everything up makes is recorded in $DIR/state before it is made; down undoes it in reverse
# (kills what still runs on the nodes, unmounts, deletes namespaces, links, cgroups, hosts lines,
# directories), also after a failed or interrupted up, and does nothing when nothing is up.
# Names come from the prefix, so two clusters with different prefixes and subnets do not meet.
#
# Settings (options before the command, or environment): --prefix P (HK_SIM_PREFIX, default hkn),
# --subnet A.B.C (HK_SIM_SUBNET, default 10.77.0), --dir DIR (HK_SIM_DIR, default /tmp/P-sim),
# --slurm-port PORT (HK_SIM_SLURM_PORT, default 6827; slurmd uses PORT+1).
# Exit status: 0 ok; 1 failed; 2 bad usage; 3 (status) not up or broken; 77 cannot run here
# (not root, a tool or kernel feature missing: the tests skip on 77 with the reason).
set -uo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
prefix=${HK_SIM_PREFIX:-hkn}
subnet=${HK_SIM_SUBNET:-10.77.0}
dir=${HK_SIM_DIR:-}
slurm_port=${HK_SIM_SLURM_PORT:-6827}
hosts_file=${HK_SIM_HOSTS_FILE:-/etc/hosts}   # another file only for trying the script out
login_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# shellcheck source=slurm/cluster-common.sh
. "$(dirname "$self")/../slurm/cluster-common.sh"

say() { echo "sim-cluster: $*"; }
fail() { echo "sim-cluster: error: $*" >&2; exit 1; }
usage_error() { echo "sim-cluster: error: $*" >&2; exit 2; }
skip() { echo "sim-cluster: SKIP: $*" >&2; exit 77; }

usage() {
  sed -n '2,/^set -uo/p' "$self" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'
}

# ---- settings, state ---------------------------------------------------------------------
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
    --subnet) subnet=${2:?--subnet needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --slurm-port) slurm_port=${2:?--slurm-port needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) break ;;
  esac
done
[[ $prefix =~ ^[a-z][a-z0-9]{0,7}$ ]] || usage_error "--prefix: '$prefix': 1 to 8 lower-case letters and digits, starting with a letter (interface names are short)"
[[ $subnet =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || usage_error "--subnet: '$subnet': must be the first three numbers of a /24, e.g. 10.77.0"
[[ $slurm_port =~ ^[0-9]+$ ]] && [ "$slurm_port" -ge 1024 ] && [ "$slurm_port" -le 65000 ] \
  || usage_error "--slurm-port: '$slurm_port': must be a port number from 1024 to 65000"
dir=${dir:-/tmp/$prefix-sim}
state=$dir/state            # what up made, one line each, in order: KIND ARGUMENTS
config=$dir/cluster.conf    # the cluster's settings, for the other commands
ns_dir=$dir/ns              # persistent UTS and mount namespaces (bind-mounted files)
node_tmp=/var/tmp/$prefix-node
tag="# hk-sim-cluster $prefix"
bridge=${prefix}br
host_addr=$subnet.254

node_name() { echo "$prefix$1"; }
record() { echo "$*" >>"$state"; }
# Sets nodes, cores_per_node, cgroup_dir, latency_ms, rate_mbit, slurm.
load_config() {
  nodes="" cores_per_node="" cgroup_dir="" latency_ms="" rate_mbit="" slurm=0
  [ -f "$config" ] || return 1
  # shellcheck disable=SC1090
  . "$config"
}

# ---- CPUs and cgroups --------------------------------------------------------------------
# cgroup v1 with a cpuset hierarchy, or the v2 unified hierarchy with the cpuset controller.
cgroup_base() {
  if [ -f /sys/fs/cgroup/cpuset/cpuset.cpus ]; then
    echo "v1 /sys/fs/cgroup/cpuset"
  elif [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && grep -qw cpuset /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    echo "v2 /sys/fs/cgroup"
  else
    return 1
  fi
}

# The physical CPU numbers of cores FIRST..LAST (hwloc logical core indices), e.g. "0,1".
core_cpus() { hwloc-calc "core:$1-$2" --intersect pu --physical-output; }

# Node i's cpuset: the cgroup directory, created with its CPUs and memory nodes.
make_cpuset() {
  local version=$1 base=$2 node=$3 cpus=$4 parent=$2/$prefix-sim mems
  if [ ! -d "$parent" ]; then
    record cgroup "$parent"
    mkdir "$parent" || fail "cannot create the cgroup $parent"
    if [ "$version" = v1 ]; then
      cat "$base/cpuset.cpus" >"$parent/cpuset.cpus" && cat "$base/cpuset.mems" >"$parent/cpuset.mems" \
        || fail "cannot set up the cpuset $parent"
    else
      echo +cpuset >"$parent/cgroup.subtree_control" || fail "cannot enable the cpuset controller in $parent"
    fi
  fi
  if [ "$version" = v1 ]; then mems=$(cat "$base/cpuset.mems"); else mems=$(cat "$base/cpuset.mems.effective"); fi
  record cgroup "$parent/$node"
  mkdir "$parent/$node" || fail "cannot create the cgroup $parent/$node"
  echo "$cpus" >"$parent/$node/cpuset.cpus" && echo "$mems" >"$parent/$node/cpuset.mems" \
    || fail "cannot give $node the CPUs $cpus (cgroup $parent/$node)"
}

# v2: the root must hand the cpuset controller down; up enables it (and down disables it again)
# only when it was not on before.
enable_v2_cpuset() {
  local base=$1
  grep -qw cpuset "$base/cgroup.subtree_control" && return 0
  record subtree_control "$base"
  echo +cpuset >"$base/cgroup.subtree_control" \
    || skip "cannot enable the cpuset controller in $base (a container without cgroup delegation?)"
}

# Pids in a cgroup (all of them, also of its child cgroups).
cgroup_pids() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null; }

kill_cgroup() {
  local cg=$1 i pids
  [ -d "$cg" ] || return 0
  for i in $(seq 1 50); do
    pids=$(cgroup_pids "$cg")
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  say "warning: processes still in $cg after 5 s: $(cgroup_pids "$cg" | tr '\n' ' ')"
}

# ---- entering a node ---------------------------------------------------------------------
# Runs COMMAND on node NODE like ssh would: confined to the node's CPUs (cgroup first, so every
# process the command starts is too), in its network, UTS and mount namespaces, with a login
# environment in the home directory.
node_exec() {
  local node=$1
  shift
  load_config || { echo "sim-cluster: error: no simulated cluster '$prefix' is up ($config missing)" >&2; exit 3; }
  [[ " $nodes " == *" $node "* ]] || usage_error "NODE: '$node' is not a node of cluster '$prefix' (nodes: $nodes)"
  [ $# -gt 0 ] || usage_error "exec: COMMAND missing: exec NODE COMMAND [ARGS...]"
  if [ "${HK_SIM_OUTSIDE_CPUSET:-0}" != 1 ]; then
    echo $$ >"$cgroup_dir/$node/cgroup.procs" || fail "cannot enter the cpuset of $node ($cgroup_dir/$node)"
  fi
  local home=${HOME:-/root}
  [ -d "$home" ] || home=/
  exec env -i HOME="$home" USER="$(id -un)" LOGNAME="$(id -un)" SHELL=/bin/sh PATH="$login_path" LANG=C.UTF-8 \
    nsenter --net="/run/netns/$node" --uts="$ns_dir/$node.uts" --mount="$ns_dir/$node.mnt" --wd="$home" -- "$@"
}

write_agent() {
  local agent=$dir/rsh-agent i node cases=""
  for i in $(seq 1 "$1"); do
    node=$(node_name "$i")
    cases+="  $node|$subnet.$i) node=$node ;;"$'\n'
  done
  cat >"$agent" <<EOF
#!/bin/sh
# Open MPI's rsh agent for the simulated cluster '$prefix' (made by scripts/sim-cluster.sh up):
# called as \`rsh-agent HOST COMMAND...\` (--mca plm_rsh_agent $agent), it runs COMMAND on that
# node as ssh would on a real one: its namespaces, its CPUs, a login environment.
case \$1 in
$cases  *) echo "rsh-agent: '\$1' is not a node of the simulated cluster '$prefix'" >&2; exit 255 ;;
esac
shift
exec "$self" --prefix "$prefix" --dir "$dir" exec "\$node" sh -c "\$*"
EOF
  chmod 0755 "$agent"
}

# ---- network -----------------------------------------------------------------------------
# tc on the node's interface: what the node sends is delayed by LATENCY ms and limited to RATE Mbit/s.
shape_link() {
  local node=$1 latency=$2 rate=$3 netem=(netem) output
  [ -z "$latency" ] && [ -z "$rate" ] && return 0
  [ -n "$latency" ] && netem+=(delay "${latency}ms")
  [ -n "$rate" ] && netem+=(rate "${rate}mbit")
  if output=$(nsenter --net="/run/netns/$node" tc qdisc add dev eth0 root "${netem[@]}" 2>&1); then
    return 0
  fi
  if [ -z "$latency" ] && grep -q "unknown" <<<"$output"; then
    # No netem in this kernel: a token bucket gives the rate (burst: 10 ms at that rate, >= 32 KiB).
    local burst=$((rate * 1000000 / 8 / 100))
    [ $burst -lt 32768 ] && burst=32768
    nsenter --net="/run/netns/$node" tc qdisc add dev eth0 root tbf rate "${rate}mbit" burst "$burst" latency 50ms \
      || fail "tc tbf on $node failed"
    return 0
  fi
  fail "tc qdisc add ... ${netem[*]} on $node failed: $output$(grep -q unknown <<<"$output" && echo " (this kernel has no netem qdisc, CONFIG_NET_SCH_NETEM; --rate alone works with tbf)")"
}

make_node_network() {
  local i=$1 node=$2
  record netns "$node"
  ip netns add "$node" || fail "ip netns add $node failed"
  record link "${prefix}v$i"
  ip link add "${prefix}v$i" type veth peer name eth0 netns "$node" || fail "cannot make the veth pair of $node"
  ip link set "${prefix}v$i" master "$bridge" up || fail "cannot plug ${prefix}v$i into $bridge"
  nsenter --net="/run/netns/$node" sh -c "ip addr add $subnet.$i/24 dev eth0 && ip link set eth0 up && ip link set lo up" \
    || fail "cannot configure eth0 of $node"
}

# The node's own host name and mount namespace (private /dev/shm, node-local Slurm TmpFS).
make_node_namespaces() {
  local node=$1 local_dir=$dir/nodes/$1
  mkdir -p "$local_dir/tmp" && chmod 1777 "$local_dir/tmp"
  touch "$ns_dir/$node.uts" "$ns_dir/$node.mnt"
  record nsfile "$ns_dir/$node.mnt"
  record nsfile "$ns_dir/$node.uts"
  unshare --uts="$ns_dir/$node.uts" --mount="$ns_dir/$node.mnt" --propagation private sh -c "
    hostname $node &&
    mount -t tmpfs -o mode=1777 $prefix-shm /dev/shm &&
    mount --bind $local_dir/tmp $node_tmp" || fail "cannot make the namespaces of $node"
}

add_hosts_lines() {
  local n=$1 i lines=""
  [ -w "$hosts_file" ] || skip "$hosts_file is not writable"
  grep -q "$tag\$" "$hosts_file" && fail "$hosts_file already has lines tagged '$tag' (run down first)"
  cp "$hosts_file" "$dir/hosts.before-up"
  record hosts "$hosts_file"
  for i in $(seq 1 "$n"); do lines+="$subnet.$i $(node_name "$i") $tag"$'\n'; done
  # Appended in place (not replaced): /etc/hosts may be a bind mount in containers.
  printf '%s' "$lines" >>"$hosts_file" || fail "cannot append to $hosts_file"
}

remove_hosts_lines() {
  local file=$1 kept
  [ -f "$file" ] || return 0
  grep -q "$tag\$" "$file" || return 0
  kept=$(grep -v "$tag\$" "$file")
  # Rewritten in place, keeping the file (and any bind mount) and everyone else's lines.
  printf '%s\n' "$kept" >"$file"
}

# ---- Slurm ---------------------------------------------------------------------------------
start_munge() {
  local socket=$dir/munge/munge.socket pid
  [ ${#socket} -lt 100 ] || fail "--dir is too long for a socket path: $socket"
  mkdir -p "$dir/munge"
  pid=$(start_munged "$dir/munge") || fail "munged did not start (see $dir/munge/munged.log)"
  record pid munged "$pid"
}

# Slurm sees the whole machine (it loads hwloc's topology with WHOLE_SYSTEM and maps its CPU
# numbers to the machine's only when they are dense), so each node's line is the machine's, with
# the other nodes' CPUs reserved (CpuSpecList, Slurm's abstract ids = hwloc's logical PU indices):
# jobs get exactly the node's cores, and the task prolog confines them to the node's cpuset.
node_conf_line() {
  local i=$1 n=$2 first=$3 last=$4 line mem spec
  line=$(slurmd -C 2>/dev/null | head -n 1)
  [[ $line == NodeName=* ]] || fail "unexpected 'slurmd -C' output: $line"
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$line")
  line=$(sed -e "s/^NodeName=[^ ]*/NodeName=$(node_name "$i") NodeAddr=$subnet.$i/" \
             -e "s/RealMemory=[0-9]*/RealMemory=$((mem * 95 / 100 / n))/" <<<"$line")
  spec=$(hwloc-calc all "~core:$first-$last" --intersect pu 2>/dev/null)
  echo "$line${spec:+ CpuSpecList=$spec}"
}

write_task_prolog() {
  cat >"$dir/slurm/task-prolog" <<EOF
#!/bin/sh
# Slurm TaskProlog of the simulated cluster '$prefix': runs in each task before it starts and puts
# the task (its parent) into the node's cpuset, as if the node had no other CPUs.
echo \$PPID >"$cgroup_dir/\$SLURMD_NODENAME/cgroup.procs"
EOF
  chmod 0755 "$dir/slurm/task-prolog"
}

write_slurm_conf() {
  local n=$1 i controller
  controller=$(hostname -s)
  {
    cat <<EOF
# Written by scripts/sim-cluster.sh: Slurm for the simulated cluster '$prefix'.
ClusterName=$prefix
# The controller runs on this machine; the nodes reach it over the bridge.
SlurmctldHost=$controller($host_addr)
SlurmctldPort=$slurm_port
SlurmdPort=$((slurm_port + 1))
StateSaveLocation=$dir/slurm/state
SlurmdSpoolDir=$dir/slurm/spool-%n
SlurmctldPidFile=$dir/slurm/run/slurmctld.pid
SlurmdPidFile=$dir/slurm/run/slurmd-%n.pid
SlurmctldLogFile=$dir/slurm/log/slurmctld.log
SlurmdLogFile=$dir/slurm/log/slurmd-%n.log
# Node-local: srun's PMIx plugin makes a directory per job there, which must not be shared.
TmpFS=$node_tmp
TaskProlog=$dir/slurm/task-prolog
$(slurm_conf_common "$dir/munge/munge.socket" "$dir/slurm/log/jobcomp.txt")
EOF
    for i in $(seq 1 "$n"); do
      echo "$(node_conf_line "$i" "$n" $(((i - 1) * cores_per_node)) $((i * cores_per_node - 1))) State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=${prefix}[1-$n] Default=YES MaxTime=INFINITE State=UP"
  } >"$dir/slurm/slurm.conf"
}

start_slurm() {
  local n=$1 i node pid started
  for tool in munged mungekey slurmctld slurmd sinfo scontrol sdiag squeue scancel runuser; do
    command -v "$tool" >/dev/null 2>&1 || skip "--slurm: $tool is not installed (apt-get install -y slurm-wlm munge)"
  done
  id munge >/dev/null 2>&1 || skip "--slurm: no 'munge' user (package munge)"
  if (exec 3<>"/dev/tcp/127.0.0.1/$slurm_port") 2>/dev/null; then
    fail "--slurm: port $slurm_port is in use (another slurmctld?); choose another with --slurm-port"
  fi
  mkdir -p "$dir/slurm/state" "$dir/slurm/run" "$dir/slurm/log"
  export SLURM_CONF=$dir/slurm/slurm.conf
  start_munge
  load_config
  write_task_prolog
  write_slurm_conf "$n"
  slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start (see $dir/slurm/log/slurmctld.log)"
  pid=$(wait_for_pid_file "$dir/slurm/run/slurmctld.pid") || fail "slurmctld wrote no pid file"
  record pid slurmctld "$pid"
  started=$(date +%s)
  for i in $(seq 1 "$n"); do
    node=$(node_name "$i")
    # slurmd pins itself to its node's reserved CPUs: it runs outside the node's cpuset.
    HK_SIM_OUTSIDE_CPUSET=1 "$self" --prefix "$prefix" --dir "$dir" exec "$node" slurmd -f "$SLURM_CONF" -N "$node" \
      || fail "slurmd on $node did not start (see $dir/slurm/log/slurmd-$node.log)"
    pid=$(wait_for_pid_file "$dir/slurm/run/slurmd-$node.pid") || fail "slurmd on $node wrote no pid file"
    record pid slurmd "$pid"
  done
  local ready
  # shellcheck disable=SC2046
  if ready=$(wait_slurm_ready "$started" $(seq -f "$prefix%g" 1 "$n")); then
    say "Slurm $ready: $n nodes idle; export SLURM_CONF=$SLURM_CONF"
    return 0
  fi
  sinfo -N >&2
  tail -n 5 "$dir/slurm/log/"*.log >&2
  fail "Slurm $ready"
}

# ---- up / down -----------------------------------------------------------------------------
check_prerequisites() {
  [ "$(id -u)" -eq 0 ] || skip "must run as root (network namespaces, cgroups, mounts)"
  local tool
  for tool in ip nsenter unshare mount umount hwloc-calc tc; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (packages iproute2, util-linux, hwloc)"
  done
  cgroup_base >/dev/null || skip "no cpuset cgroup controller (neither /sys/fs/cgroup/cpuset nor cgroup v2 with cpuset)"
  ip netns list >/dev/null 2>&1 || skip "ip netns does not work here"
  unshare --net --uts --mount true 2>/dev/null || skip "new namespaces are not permitted here (a container without CAP_SYS_ADMIN?)"
}

up() {
  local n=${1:-} slurm=0 latency="" rate=""
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 64 ] || usage_error "up: N: '$n': must be a node count from 1 to 64"
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --slurm) slurm=1; shift ;;
      --latency) latency=${2:-}; shift 2 || usage_error "--latency needs MS" ;;
      --rate) rate=${2:-}; shift 2 || usage_error "--rate needs MBIT" ;;
      *) usage_error "up: unknown option '$1' (allowed: --slurm, --latency MS, --rate MBIT)" ;;
    esac
  done
  [ -z "$latency" ] || [[ $latency =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--latency: '$latency': must be milliseconds, e.g. 0.5"
  [ -z "$rate" ] || { [[ $rate =~ ^[0-9]+$ ]] && [ "$rate" -ge 1 ]; } || usage_error "--rate: '$rate': must be a whole number of Mbit/s, at least 1"
  check_prerequisites
  [ -f "$state" ] && fail "a cluster '$prefix' is up or was left half made ($state); run '$0 --prefix $prefix down' first"

  local cores cores_each version base
  cores=$(hwloc-calc -N core all)
  [ "$n" -le "$cores" ] || usage_error "up: $n nodes need at least $n cores, this machine has $cores"
  cores_each=$((cores / n))
  read -r version base < <(cgroup_base)

  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    fail "--dir $dir exists and is not empty (down removes the whole directory, so it must be the cluster's own)"
  fi
  mkdir -p "$dir" || fail "cannot create $dir"
  : >"$state"
  record dir "$dir"
  # From here on, any failure undoes what was made.
  trap 'echo "sim-cluster: up failed; undoing what it made" >&2; down' EXIT
  mkdir -p "$ns_dir" "$dir/nodes"
  record mount "$ns_dir"
  mount --bind "$ns_dir" "$ns_dir" && mount --make-private "$ns_dir" || fail "cannot make $ns_dir a private mount"
  if [ ! -d "$node_tmp" ]; then
    record dir "$node_tmp"
    mkdir -p "$node_tmp"
  fi
  [ "$version" = v2 ] && enable_v2_cpuset "$base"

  # `ip netns add` makes /run/netns a mount point the first time; undone when it is empty again.
  [ -d /run/netns ] || record empty_dir /run/netns
  grep -q " /run/netns " /proc/mounts || record empty_mount /run/netns
  record link "$bridge"
  ip link add "$bridge" type bridge && ip addr add "$host_addr/24" dev "$bridge" && ip link set "$bridge" up \
    || fail "cannot make the bridge $bridge ($host_addr/24)"
  local i node cpus list=()
  for i in $(seq 1 "$n"); do
    node=$(node_name "$i")
    cpus=$(core_cpus $(((i - 1) * cores_each)) $((i * cores_each - 1)))
    make_node_network "$i" "$node"
    make_node_namespaces "$node"
    make_cpuset "$version" "$base" "$node" "$cpus"
    shape_link "$node" "$latency" "$rate"
    list+=("$node")
    echo "$node slots=$cores_each" >>"$dir/hostfile.tmp"
  done
  mv "$dir/hostfile.tmp" "$dir/hostfile"
  add_hosts_lines "$n"
  cat >"$config" <<EOF
nodes="${list[*]}"
cores_per_node=$cores_each
cgroup_dir=$base/$prefix-sim
latency_ms="$latency"
rate_mbit="$rate"
slurm=$slurm
EOF
  write_agent "$n"
  [ $slurm = 1 ] && start_slurm "$n"
  check_nodes_reachable
  trap - EXIT
  say "up: $n node(s) ${list[*]}, $cores_each core(s) each; $(describe_network)"
  say "try: eval \"\$($self${prefix:+ --prefix $prefix} env)\"; mpirun --host ${list[0]}:1 hostname"
}

describe_network() {
  load_config
  if [ -n "$latency_ms$rate_mbit" ]; then
    echo "links shaped: ${latency_ms:-no added} ms latency, ${rate_mbit:-unlimited} Mbit/s per node"
  else
    echo "links not shaped (veth through a bridge: memory speed)"
  fi
}

# From each node: its host name and address are set, and the machine answers over the bridge
# (a refused TCP connection to a closed port proves the route; a timeout means none).
check_nodes_reachable() {
  local node i=0
  load_config
  for node in $nodes; do
    i=$((i + 1))
    "$self" --prefix "$prefix" --dir "$dir" exec "$node" bash -c "
      [ \"\$(hostname)\" = $node ] || { echo 'host name is '\$(hostname); exit 1; }
      ip -o addr show dev eth0 | grep -q ' $subnet.$i/' || { echo 'eth0 has no $subnet.$i'; exit 1; }
      timeout 3 bash -c 'exec 3<>/dev/tcp/$host_addr/1' 2>&1 | grep -q refused || { echo '$host_addr does not answer'; exit 1; }" \
      || fail "node $node is not set up right (see the line above)"
  done
}

down() {
  trap - EXIT
  if [ ! -f "$state" ]; then
    say "down: nothing to do (no $state)"
    return 0
  fi
  load_config 2>/dev/null
  [ -f "$dir/slurm/slurm.conf" ] && SLURM_CONF=$dir/slurm/slurm.conf cancel_all_jobs
  local lines kind a b
  mapfile -t lines < <(tac "$state")
  # Daemons first (their jobs are gone), then anything else still running on a node.
  for line in "${lines[@]}"; do
    read -r kind a b <<<"$line"
    [ "$kind" = pid ] && stop_daemon "$a" "$b"
  done
  for line in "${lines[@]}"; do
    read -r kind a b <<<"$line"
    [ "$kind" = cgroup ] && kill_cgroup "$a"
  done
  for line in "${lines[@]}"; do
    read -r kind a b <<<"$line"
    case $kind in
      nsfile|mount) umount "$a" 2>/dev/null ;;
      empty_mount) [ -z "$(ls -A "$a" 2>/dev/null)" ] && umount "$a" 2>/dev/null ;;
      empty_dir) rmdir "$a" 2>/dev/null ;;
      netns) ip netns list 2>/dev/null | grep -qw "^$a" && ip netns del "$a" ;;
      link) ip link show "$a" >/dev/null 2>&1 && ip link del "$a" ;;
      cgroup) [ -d "$a" ] && { rmdir "$a" 2>/dev/null || say "warning: cannot remove the cgroup $a"; } ;;
      subtree_control) echo -cpuset >"$a/cgroup.subtree_control" 2>/dev/null ;;
      hosts) remove_hosts_lines "$a" ;;
      dir) [ "$a" = "$dir" ] || rm -rf "$a" ;;
    esac
  done
  # The cluster's own directory last: it holds the state file.
  rm -rf "$dir"
  say "down: everything '$prefix' made is removed"
}

# ---- status, env, link, procs --------------------------------------------------------------
status() {
  if ! load_config; then
    say "not up ($config missing)${prefix:+, prefix $prefix}"
    [ -f "$state" ] && say "but $state exists: a half-made cluster; run down"
    return 3
  fi
  local node ok=0 i=0 link cpus procs
  for node in $nodes; do
    i=$((i + 1))
    link=$(ip -o link show "${prefix}v$i" 2>/dev/null | grep -q "state UP" && echo up || echo DOWN)
    [ "$link" = up ] || ok=3
    cpus=$(cat "$cgroup_dir/$node/cpuset.cpus" 2>/dev/null || echo "?")
    procs=$(cgroup_pids "$cgroup_dir/$node" | wc -l)
    say "$node  $subnet.$i  link $link  CPUs $cpus  $procs process(es)"
    ip netns list | grep -qw "^$node" || { say "$node: network namespace missing"; ok=3; }
  done
  say "$(describe_network)"
  if [ "$slurm" = 1 ]; then
    local line kind name pid
    while read -r kind name pid; do
      [ "$kind" = pid ] || continue
      if alive "$pid" "$name"; then say "$name running (pid $pid)"; else say "$name NOT running (pid $pid)"; ok=3; fi
    done <"$state"
    [ $ok = 0 ] && SLURM_CONF=$dir/slurm/slurm.conf sinfo -N
  fi
  return $ok
}

print_env() {
  load_config || { echo "sim-cluster: error: no simulated cluster '$prefix' is up" >&2; exit 3; }
  # Open MPI: start remote daemons through the agent, talk over the bridge's subnet only.
  echo "export OMPI_MCA_plm_rsh_agent=$dir/rsh-agent"
  echo "export OMPI_MCA_oob_tcp_if_include=$subnet.0/24"
  echo "export OMPI_MCA_btl_tcp_if_include=$subnet.0/24"
  # A node that drops off the network is noticed by mpirun and by its own daemon within ~6 s
  # (TCP keepalive on the daemons' connections; Open MPI's default waits 300 s + 9 x 20 s).
  echo "export OMPI_MCA_oob_tcp_keepalive_time=3 OMPI_MCA_oob_tcp_keepalive_intvl=1 OMPI_MCA_oob_tcp_keepalive_probes=3"
  echo "export HK_SIM_HOSTS=$(tr ' ' ',' <<<"$nodes")"
  echo "export HK_SIM_HOSTFILE=$dir/hostfile"
  echo "export HK_SIM_CORES=$cores_per_node"
  [ "$slurm" = 1 ] && echo "export SLURM_CONF=$dir/slurm/slurm.conf"
  return 0
}

set_link() {
  local node=${1:-} how=${2:-}
  load_config || { echo "sim-cluster: error: no simulated cluster '$prefix' is up" >&2; exit 3; }
  [[ " $nodes " == *" $node "* ]] || usage_error "link: NODE '$node' is not a node of '$prefix' (nodes: $nodes)"
  [[ $how == up || $how == down ]] || usage_error "link: '$how': must be up or down"
  ip link set "${prefix}v${node#"$prefix"}" "$how" || fail "ip link set ${prefix}v${node#"$prefix"} $how failed"
}

list_procs() {
  local node=${1:-} pid
  load_config || { echo "sim-cluster: error: no simulated cluster '$prefix' is up" >&2; exit 3; }
  [[ " $nodes " == *" $node "* ]] || usage_error "procs: NODE '$node' is not a node of '$prefix' (nodes: $nodes)"
  for pid in $(cgroup_pids "$cgroup_dir/$node"); do
    echo "$pid $(cat "/proc/$pid/comm" 2>/dev/null)"
  done
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
  up) up "$@" ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  hosts) load_config && tr ' ' ',' <<<"$nodes" ;;
  exec) node=${1:-}; shift; node_exec "$node" "$@" ;;
  link) set_link "$@" ;;
  procs) list_procs "$@" ;;
  *) echo "usage: $0 [--prefix P] up N [--slurm] [--latency MS] [--rate MBIT] | down | status | env | hosts | exec NODE CMD... | link NODE up|down | procs NODE" >&2
     exit 2 ;;
esac
