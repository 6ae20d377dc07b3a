#!/bin/bash
# The test that failed once in CI with "database is locked" (two searches sharing a fresh store), run N times beside
# two busy loops that take both cores (CI ran other test jobs beside it). Prints each failure and the count;
# the failing runs' pytest output is kept in OUT/run_I.log.
#   bash perf/store_flake_loop.sh 15 /tmp/flake
set -uo pipefail
N=${1:-15}
OUT=${2:-/tmp/store_flake}
mkdir -p "$OUT"
yes > /dev/null & H1=$!
yes > /dev/null & H2=$!
trap 'kill $H1 $H2 2>/dev/null' EXIT
fails=0
for i in $(seq 1 "$N"); do
  if OMP_NUM_THREADS=1 python -m pytest -q -p no:cacheprovider tests/test_faults_store.py \
      -k two_searches_with_different_outs_share_one_store > "$OUT/run_$i.log" 2>&1; then
    rm "$OUT/run_$i.log"
  else
    fails=$((fails + 1)); echo "run $i failed: $OUT/run_$i.log"
  fi
done
echo "failed $fails of $N runs"
