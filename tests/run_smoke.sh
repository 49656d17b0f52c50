#!/usr/bin/env bash
# The smoke mix tests every kernel gets (hk_add_mix_tests ... SMOKE), driven by what the kernel
# declares (Kernel::smoke_configs, printed by `hk-kernel list --smoke`):
#   run_smoke.sh run HK_KERNEL KERNEL RANKS THREADS RECORDS MPIEXEC NUMPROC_FLAG [LAUNCHER_FLAGS...]
#       every smoke configuration of KERNEL on RANKS x THREADS, records appended to RECORDS;
#       LAUNCHER_FLAGS are the test launcher's own (HK_TEST_MPIEXEC_FLAGS: Open MPI's
#       --oversubscribe --bind-to none; none for MPICH's Hydra, which knows neither);
#   run_smoke.sh check HK_KERNEL KERNEL MIXES RECORDS HK_CHECK_RECORDS CONDITIONS...
#       RECORDS holds MIXES x (configurations) records, each meeting CONDITIONS.
set -u
mode=$1 kernel_exe=$2 kernel=$3
configs=$("$kernel_exe" list --smoke) || { echo "run_smoke: $kernel_exe list --smoke failed"; exit 1; }
configs=$(grep "^$kernel " <<<"$configs")
count=$(grep -c . <<<"$configs")
if [ -z "$configs" ]; then
  echo "run_smoke: $kernel declares no smoke configuration (hk-kernel list --smoke)"
  exit 1
fi
case $mode in
  run)
    ranks=$4 threads=$5 records=$6 mpiexec=$7 np_flag=$8
    shift 8
    launcher_flags=("$@")
    status=0
    while read -r _ args; do
      # shellcheck disable=SC2086  # smoke arguments are words without spaces
      if ! OMP_NUM_THREADS=$threads "$mpiexec" "$np_flag" "$ranks" "${launcher_flags[@]}" \
           "$kernel_exe" "$kernel" $args --reps 1 --warmup 0 --out "$records" </dev/null; then
        echo "run_smoke: FAILED: $kernel $args on ${ranks}x${threads}"
        status=1
      fi
    done <<<"$configs"
    exit $status ;;
  check)
    mixes=$4 records=$5 check=$6
    shift 6
    exec "$check" "$records" --count $((mixes * count)) "$@" ;;
  *) echo "run_smoke: unknown mode $mode"; exit 2 ;;
esac
