#!/usr/bin/env bash
# slurm/local-cluster.sh start|stop|status|env: a single-node Slurm on this machine, for the tests
# and for trying the batch scripts without a cluster.
#
# Uses Debian's `slurm-wlm` and `munge` packages (apt-get install -y slurm-wlm munge) and runs as
# root. Everything lives under $HK_SLURM_DIR (default /tmp/hk-slurm): its own munge key and socket,
# slurm.conf, state, spool, logs, pid files and the JobComp file. Nothing under /etc is touched;
# clients find the cluster through SLURM_CONF (`eval "$(slurm/local-cluster.sh env)"`).
#
# start: munged, slurmctld, slurmd; returns when the node is idle, slurmd is the one just started
#        (SlurmdStartTime), and the controller has run a scheduling cycle (sdiag) -- batch jobs
#        submitted before that first pass only wait.
# stop:  cancels this cluster's jobs, then stops exactly the processes `start` recorded.
# Exit status: 0 ok; 1 failed; 77 Slurm or munge not installed / not root (the tests skip on 77).
set -uo pipefail

dir=${HK_SLURM_DIR:-/tmp/hk-slurm}
ctld_port=${HK_SLURM_PORT:-6817}
slurmd_port=$((ctld_port + 1))
conf=$dir/etc/slurm.conf
pids=$dir/run/started.pids
export SLURM_CONF=$conf

# shellcheck source=slurm/cluster-common.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/cluster-common.sh"

say() { echo "local-cluster: $*"; }
fail() { echo "local-cluster: error: $*" >&2; exit 1; }

recorded_pid() { [ -f "$pids" ] && awk -v n="$1" '$1 == n { print $2 }' "$pids"; }

running() {
  local name
  for name in munged slurmctld slurmd; do alive "$(recorded_pid $name)" $name || return 1; done
}

check_prerequisites() {
  local missing=() tool
  for tool in munged mungekey slurmctld slurmd sinfo scontrol sdiag sbatch squeue scancel runuser; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "local-cluster: SKIP: not installed: ${missing[*]} (apt-get install -y slurm-wlm munge)" >&2
    exit 77
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "local-cluster: SKIP: must run as root (slurmd launches jobs, SlurmUser=root)" >&2
    exit 77
  fi
  id munge >/dev/null 2>&1 || { echo "local-cluster: SKIP: no 'munge' user (package munge)" >&2; exit 77; }
}

write_conf() {
  local host=$1 node_line mem
  node_line=$(slurmd -C 2>/dev/null | head -n 1) || fail "slurmd -C failed"
  [[ $node_line == NodeName=* ]] || fail "unexpected 'slurmd -C' output: $node_line"
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
  # The hardware fields exactly as slurmd sees them; RealMemory a little below what it reports, so
  # the node is never drained for "low real memory".
  node_line=$(sed -e "s/^NodeName=[^ ]*/NodeName=$host NodeAddr=127.0.0.1/" \
                  -e "s/RealMemory=[0-9]*/RealMemory=$((mem * 95 / 100))/" <<<"$node_line")
  cat >"$conf" <<EOF
# Written by slurm/local-cluster.sh: a single-node Slurm for hybridkit's tests.
ClusterName=hklocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
$(slurm_conf_common "$dir/munge/munge.socket" "$dir/log/jobcomp.txt")
$node_line State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  check_prerequisites
  if running; then
    say "already running (SLURM_CONF=$conf)"
    return 0
  fi
  [ -f "$pids" ] && fail "$pids lists processes that are not all running; run '$0 stop' first"
  local host socket
  host=$(hostname -s)
  socket=$dir/munge/munge.socket
  [ ${#socket} -lt 100 ] || fail "HK_SLURM_DIR is too long for a socket path: $socket"
  if (exec 3<>"/dev/tcp/127.0.0.1/$ctld_port") 2>/dev/null; then
    fail "port $ctld_port is in use (another slurmctld?); set HK_SLURM_PORT to a free port"
  fi
  # A fresh controller state each start: job ids begin again at 1, no old jobs are restored.
  rm -rf "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
  mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/log" "$dir/run" "$dir/munge"
  : >"$pids"

  local pid
  pid=$(start_munged "$dir/munge") || fail "munged did not start (see $dir/munge/munged.log)"
  echo "munged $pid" >>"$pids"

  write_conf "$host"
  slurmctld -f "$conf" || fail "slurmctld did not start (see $dir/log/slurmctld.log)"
  pid=$(wait_for_pid_file "$dir/run/slurmctld.pid") || fail "slurmctld wrote no pid file"
  echo "slurmctld $pid" >>"$pids"
  local slurmd_started
  slurmd_started=$(date +%s)
  slurmd -f "$conf" || fail "slurmd did not start (see $dir/log/slurmd.log)"
  pid=$(wait_for_pid_file "$dir/run/slurmd.pid") || fail "slurmd wrote no pid file"
  echo "slurmd $pid" >>"$pids"

  local ready
  if ready=$(wait_slurm_ready "$slurmd_started" "$host"); then
    say "$ready: node $host idle, $(nproc) CPUs; export SLURM_CONF=$conf"
    return 0
  fi
  echo "local-cluster: error: $ready" >&2
  tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2
  stop
  exit 1
}

stop() {
  if [ ! -f "$pids" ]; then
    say "not running (no $pids)"
    return 0
  fi
  alive "$(recorded_pid slurmctld)" slurmctld && cancel_all_jobs
  local name
  for name in slurmd slurmctld munged; do
    stop_daemon $name "$(recorded_pid $name)"
  done
  rm -f "$pids"
  say "stopped"
}

status() {
  if [ ! -f "$pids" ]; then
    say "not running (no $pids)"
    return 3
  fi
  local name pid ok=0
  for name in munged slurmctld slurmd; do
    pid=$(recorded_pid $name)
    if alive "$pid" $name; then say "$name running (pid $pid)"; else say "$name NOT running"; ok=3; fi
  done
  [ $ok -eq 0 ] && sinfo
  return $ok
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *)
    echo "usage: $0 start|stop|status|env   (cluster directory: \$HK_SLURM_DIR, default /tmp/hk-slurm)" >&2
    exit 2
    ;;
esac
