#!/usr/bin/env bash
# A `swapnas search` with a size limit (--max-macs or --max-params) run with an older checkout's code and with
# this one, one after the other on fresh stores (one worker, one thread), then the two results compared
# (scripts/compare_runs.py: IDENTICAL expected, the counts being equal). Session 23: the older code built every
# proposed arch's final network to count it; this one counts without a build (final_flops / final_params).
#   git worktree add /tmp/pre23 267f10f
#   bash perf/limit_search.sh /tmp/pre23/src darts --max-macs 500M      # and: ... nb201 --max-macs 60M
set -euo pipefail
OLD=${1:?give the src folder of an older checkout}; SPACE=${2:-darts}; FLAG=${3:---max-macs}; LIMIT=${4:-500M}
DATA=${SWAPNAS_DATA:-../shared/data}; WORK=$(mktemp -d)
for v in old new; do
  if [ "$v" = old ]; then SRC=$OLD; else SRC=$(cd "$(dirname "$0")/.." && pwd)/src; fi
  /usr/bin/time -f "$v: wall %e s, peak %M KB" env PYTHONPATH="$SRC" OMP_NUM_THREADS=1 python -m swapnas search \
    --space "$SPACE" --dataset cifar10 --seed 0 --workers 1 "$FLAG" "$LIMIT" --data-dir "$DATA" \
    --store "$WORK/$v.sqlite" --out "$WORK/$v" --no-progress
done
python "$(dirname "$0")/../scripts/compare_runs.py" "$WORK/old/result.json" "$WORK/new/result.json" | tail -1
