#!/bin/bash
# Stand-in for hk-kernel in the sweep tests (passed with --kernel-exe): misbehaves for the mixes
# HK_FAKE_MODE names, e.g. HK_FAKE_MODE="1x2=crash,2x1=sleep", and runs the real hk-kernel
# ($HK_REAL_KERNEL) for every other mix.
#   crash   rank 0 kills itself with SIGSEGV
#   sleep   hangs, ignoring SIGTERM; the pids of the rank and its child go to $HK_FAKE_PIDS
#   fail    two lines on stderr, exit status 3
#   verify  the real hk-kernel with HK_FAULT=verify: a verify_failed record, exit status 1
threads=1
for arg in "$@"; do
  case $arg in
    --threads=*) threads=${arg#--threads=} ;;
  esac
done
ranks=${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}
rank=${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}}
mode=ok
IFS=, read -ra rules <<<"${HK_FAKE_MODE:-}"
for rule in "${rules[@]}"; do
  [ "${rule%%=*}" = "${ranks}x${threads}" ] && mode=${rule#*=}
done
case $mode in
  ok) exec "$HK_REAL_KERNEL" "$@" ;;
  crash)
    [ "$rank" = 0 ] && kill -SEGV $$
    sleep 20 ;;
  sleep)
    trap '' TERM
    sleep 600 &
    echo "$$ $!" >>"$HK_FAKE_PIDS"
    while true; do wait; done ;;
  fail)
    echo "fake kernel: rank $rank could not allocate its block" >&2
    echo "fake kernel: giving up" >&2
    exit 3 ;;
  verify) HK_FAULT=verify exec "$HK_REAL_KERNEL" "$@" ;;  # the real run, its check failed on purpose
esac
