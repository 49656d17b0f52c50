# shellcheck shell=bash
# slurm/cluster-common.sh: what the two clusters on this machine share, sourced by
# slurm/local-cluster.sh (one node) and scripts/sim-cluster.sh (N simulated nodes): starting
# munged with a key of its own, the common part of slurm.conf, waiting until Slurm is ready,
# cancelling its jobs and stopping recorded daemons. Each function returns non-zero on failure
# and leaves the message to the caller, except where it says so.

# A recorded pid still runs the program we started (pids are reused).
alive() {
  local pid=$1 name=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

# The pid a daemon wrote to FILE, waiting up to 10 s for it.
wait_for_pid_file() {
  local file=$1 _
  for _ in $(seq 1 100); do
    [ -s "$file" ] && { cat "$file"; return 0; }
    sleep 0.1
  done
  return 1
}

# munged for DIR (socket, key, pid, log under DIR, which clients must be able to search):
# a key of its own, owned by munge, mode 0400; munged runs as the munge user. Prints its pid.
start_munged() {
  local dir=$1
  chown munge:munge "$dir" && chmod 0755 "$dir" || return 1
  if [ ! -s "$dir/munge.key" ]; then
    mungekey --create --keyfile="$dir/munge.key" >/dev/null || return 1
  fi
  chown munge:munge "$dir/munge.key" && chmod 0400 "$dir/munge.key" || return 1
  runuser -u munge -- munged --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" || return 1
  wait_for_pid_file "$dir/munged.pid"
}

# The lines of slurm.conf both clusters have: munge at SOCKET, root daemons, no cgroups needed
# (processes tracked by parentage, CPUs bound by sched_setaffinity), PMIx for srun (Debian's Open
# MPI supports only PMIx for direct launch), no accounting, and the JobComp file JOBCOMP: without
# slurmdbd the only record of finished jobs (read by hk slurm status).
slurm_conf_common() {
  local socket=$1 jobcomp=$2
  cat <<EOF
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$jobcomp
MailProg=/bin/true
# Finished jobs leave squeue after 5 s; the scheduler starts batch jobs without delay.
MinJobAge=5
SchedulerParameters=batch_sched_delay=0
KillWait=5
ReturnToService=2
EOF
}

# Waits up to 30 s until every NODE is idle and registered by a slurmd started at or after
# STARTED (epoch seconds: a dead slurmd still shows idle until SlurmdTimeout), and the controller
# has run a scheduling cycle (batch jobs submitted before that first pass only wait). Prints
# "ready after S s", or on failure what it saw.
wait_slurm_ready() {
  local started=$1 i node ready state start_time cycles
  shift
  for i in $(seq 1 300); do
    cycles=$(sdiag 2>/dev/null | awk '/^Main schedule statistics/ { m = 1 } m && /Total cycles:/ { print $3; exit }')
    ready=$([ "${cycles:-0}" -ge 1 ] && echo 1 || echo 0)
    for node in "$@"; do
      [ "$ready" = 1 ] || break
      state=$(sinfo -h -n "$node" -o %T 2>/dev/null)
      start_time=$(scontrol show node "$node" 2>/dev/null | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
      [ "$state" = idle ] && [ "$(date -d "$start_time" +%s 2>/dev/null || echo 0)" -ge $((started - 1)) ] || ready=0
    done
    if [ "$ready" = 1 ]; then
      echo "ready after $((i / 10)).$((i % 10)) s"
      return 0
    fi
    sleep 0.1
  done
  echo "not ready after 30 s (node $node: state '$state'; scheduler cycles '${cycles:-0}')"
  return 1
}

# Cancels every job of the cluster SLURM_CONF points to and waits up to 10 s for them to leave,
# so no slurmstepd outlives its slurmd.
cancel_all_jobs() {
  local jobs _
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
  [ -n "${jobs// /}" ] || return 0
  # shellcheck disable=SC2086
  timeout 10 scancel $jobs 2>/dev/null
  for _ in $(seq 1 100); do
    [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && return 0
    sleep 0.1
  done
}

# Stops the daemon NAME with pid PID (if it is still that program): TERM, then KILL after 15 s.
stop_daemon() {
  local name=$1 pid=$2 _
  alive "$pid" "$name" || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    alive "$pid" "$name" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  echo "$name ($pid) did not stop in 15 s: killed"
}
