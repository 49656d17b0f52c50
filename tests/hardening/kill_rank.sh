#!/usr/bin/env bash
# kill_rank.sh HK: a 3-rank run whose rank 1 is killed with SIGKILL mid-kernel must end within
# 10 s with a non-zero status and leave no hk-kernel process behind.
set -u
hk=$1
marker=$((900000000 + RANDOM * 7 + $$))   # a seed no other test uses: finds our processes only
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$hk" run montecarlo --ranks 3 --threads 1 --oversubscribe --samples 400000000 --reps 1000 --seed "$marker" \
  >/tmp/hk_kill_rank_$$.log 2>&1 &
launcher=$!
ranks=""
for _ in $(seq 1 200); do   # up to 20 s for the three ranks to start
  ranks=$(pgrep -f "hk-kernel montecarlo.*--seed=$marker" || true)
  [ "$(wc -w <<<"$ranks")" -ge 3 ] && break
  sleep 0.1
done
if [ "$(wc -w <<<"$ranks")" -lt 3 ]; then
  echo "FAILED: the 3 ranks did not start"; cat /tmp/hk_kill_rank_$$.log; kill -9 $launcher 2>/dev/null; exit 1
fi
sleep 1   # inside the timed repetitions by now
victim=$(sed -n 2p <<<"$ranks")
echo "killing rank process $victim with SIGKILL"
start=$(date +%s.%N)
kill -9 "$victim"
status=0
for _ in $(seq 1 100); do
  if ! kill -0 $launcher 2>/dev/null; then break; fi
  sleep 0.1
done
if kill -0 $launcher 2>/dev/null; then
  echo "FAILED: the run was still going 10 s after a rank was killed"
  pkill -9 -f -- "--seed=$marker"; kill -9 $launcher; exit 1
fi
wait $launcher; status=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
sleep 0.5
left=$(pgrep -f -- "--seed=$marker" || true)
tail -5 /tmp/hk_kill_rank_$$.log; rm -f /tmp/hk_kill_rank_$$.log
echo "run ended after ${elapsed} s with status $status; processes left: ${left:-none}"
if [ "$status" -eq 0 ]; then echo "FAILED: status 0 after a rank was killed"; exit 1; fi
if [ -n "$left" ]; then echo "FAILED: processes left behind: $left"; pkill -9 -f -- "--seed=$marker"; exit 1; fi
echo "ok"
