#!/usr/bin/env bash
# GPU checks for search and speed (issues 5 and 6), one command for a lent GPU machine (~8 min):
#   1. the default DARTS CIFAR-10 search on the GPU, timed (the paper: ~6 V100-minutes);
#   2. the NB201 sweep: 2,000 archs in order (no prefetch), then all 15,625 (S=64, 1 init) in throughput
#      mode (4 networks built ahead by a thread) with the authors'-style scorer on 300 of them;
#   3. swap_score / forward time ratio and peak memory on the GPU; where one arch's time goes (build, init,
#      copy, forward, swap; a build per repeat against the lean path).
# The time limits add up to 585 s, so the whole script fits one 10-minute device command; each sweep stops
# itself (--budget) before its limit and prints the rate over the archs it scored.
# Usage: bash perf/gpu_search_sweep.sh DATA_DIR OUT_DIR
# Dry run on a CPU machine (small sizes, same commands): DEVICE=cpu SMALL=1 bash perf/gpu_search_sweep.sh ...
set -uo pipefail
DATA=$1; OUT=$2
DEVICE=${DEVICE:-cuda}
if [ "${SMALL:-0}" = 1 ]; then
  SEARCH="--population 4 --sample 2 --mutations 2 --cycles 2"; INORDER=20; ALL=30; AUTH=5; COST=2
  TO=600; SWEEP_TO=600; COST_TO=300; ARCH_TO=300
else
  SEARCH=""; INORDER=2000; ALL=15625; AUTH=300; COST=20
  TO=180; SWEEP_TO=240; COST_TO=60; ARCH_TO=45
fi
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,memory.total --format=csv 2>&1 || true; } | tee "$OUT/gpu.txt"
start=$(date +%s)
# shellcheck disable=SC2086
timeout "$TO" python -m swapnas.cli search --space darts --dataset cifar10 --device "$DEVICE" --data-dir "$DATA" \
  --out "$OUT/darts_c10" --no-progress $SEARCH 2>&1 | tee "$OUT/darts_search.txt"
echo "darts search wall $(( $(date +%s) - start )) s" | tee -a "$OUT/darts_search.txt"
timeout 60 python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --archs "$INORDER" --authors-archs 0 \
  --prefetch 0 --budget 40 2>&1 | tee "$OUT/nb201_sweep_inorder.txt"
timeout "$SWEEP_TO" python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --archs "$ALL" \
  --authors-archs "$AUTH" --prefetch 4 --budget 180 2>&1 | tee "$OUT/nb201_sweep.txt"
timeout "$COST_TO" python perf/swap_cost.py --device "$DEVICE" --archs "$COST" --repeat 5 2>&1 | tee "$OUT/swap_cost.txt"
timeout "$ARCH_TO" python perf/arch_cost.py --device "$DEVICE" --archs "$COST" --data-dir "$DATA" 2>&1 | tee "$OUT/arch_cost.txt"
