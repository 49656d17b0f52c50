#!/bin/bash
# Stand-in for hk-kernel in the sweep tests (passed with --kernel-exe): misbehaves for the mixes
# HK_FAKE_MODE names, e.g. HK_FAKE_MODE="1x2=crash,2x1=sleep", and runs the real hk-kernel
# ($HK_REAL_KERNEL) for every other mix.
#   crash   rank 0 kills itself with SIGSEGV
#   sleep   hangs, ignoring SIGTERM; the pids of the rank and its child go to $HK_FAKE_PIDS
#   fail    two lines on stderr, exit status 3
#   verify  rank 0 writes a verify_failed record to the --out file, exit status 1
threads=1 out=
for arg in "$@"; do
  case $arg in
    --threads=*) threads=${arg#--threads=} ;;
    --out=*) out=${arg#--out=} ;;
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
  verify)
    if [ "$rank" = 0 ]; then
      printf '{"schema":"hybridkit.run/1","kernel":"montecarlo","variant":"pi","params":{},"ranks":%s,"threads":%s,"nodes":1,"status":"verify_failed","time_s":{"min":1,"median":1,"max":1},"phases_s":{"compute":1,"comm":0,"other":0},"rate":{"value":1,"unit":"Msamples/s"},"memory":{"rss_max_bytes":1,"rss_total_bytes":1},"verification":{"passed":false,"method":"fake check","error":1,"tolerance":0},"placement":[],"warnings":[]}\n' \
        "$ranks" "$threads" >>"$out"
    fi
    exit 1 ;;
esac
