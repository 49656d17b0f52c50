#!/bin/sh
# A stand-in for mpirun under hk-topology-sim-check's own test (sim_check_verdicts.sh).
# FAKE_MPIRUN_MODE=crash: dies of SIGSEGV, as Open MPI 4.1's mpirun sometimes does while
#   printing the simulated map (only the first FAKE_MPIRUN_CRASHES runs when that is set,
#   counted in the file FAKE_MPIRUN_COUNT).
# FAKE_MPIRUN_MODE=unbound: the real mpirun ($REAL_MPIRUN) with --bind-to none instead of hk's
#   --bind-to core, so that the simulator's binding really differs from hk's prediction.
set -eu
case "$FAKE_MPIRUN_MODE" in
  crash)
    runs=$(( $(cat "$FAKE_MPIRUN_COUNT" 2>/dev/null || echo 0) + 1 ))
    echo "$runs" > "$FAKE_MPIRUN_COUNT"
    if [ -z "${FAKE_MPIRUN_CRASHES:-}" ] || [ "$runs" -le "$FAKE_MPIRUN_CRASHES" ]; then
      echo "[fake:1] Signal: Segmentation fault (11)"
      kill -SEGV $$
    fi
    exec "$REAL_MPIRUN" "$@" ;;
  unbound)
    args=""
    for word in "$@"; do
      [ "$word" = core ] && word=none
      args="$args '$word'"
    done
    eval exec "\"\$REAL_MPIRUN\"" "$args" ;;
esac
echo "fake_mpirun.sh: FAKE_MPIRUN_MODE must be crash or unbound" >&2
exit 2
