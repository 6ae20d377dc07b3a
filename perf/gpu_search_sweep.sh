#!/usr/bin/env bash
# Every GPU figure of the search-and-speed issue in one command for a lent GPU machine (at most 545 s):
#   1. CPU and GPU SWAP-Scores of the same 50 archs (default protocol): how many are identical;
#   2. the DARTS CIFAR-10 search on the GPU, timed: the default fitness (best) and the paper's swap_reg
#      (the paper: ~6 V100-minutes);
#   3. the NB201 sweep (C=16 N=5, S=64, 1 init, into a fresh store), on the first 2,000 archs of one random order:
#      in this process without and then with --prefetch 4; then all 15,625 with --workers W processes sharing the
#      GPU, beside the authors'-style float scorer on 300 of them (identical scores required);
#   4. swap_score / forward time and peak memory on the GPU; where one arch's time goes.
# Each sweep stops itself (--budget) before its time limit and prints its rate over the archs it scored.
# Everything is appended to OUT/log.txt as it runs (so a cut-off run still returns what it measured).
# Usage: bash perf/gpu_search_sweep.sh DATA_DIR OUT_DIR [WORKERS]
# Dry run on a CPU machine (small sizes, same commands): DEVICE=cpu SMALL=1 bash perf/gpu_search_sweep.sh ...
set -uo pipefail
DATA=$1; OUT=$2; W=${3:-12}
DEVICE=${DEVICE:-cuda}
if [ "${SMALL:-0}" = 1 ]; then
  SEARCH="--population 4 --sample 2 --mutations 2 --cycles 2"; INORDER=20; ALL=40; AUTH=5; COST=2; AGREE=0
  BUDGET_IN=0; BUDGET_ALL=0; W=2; TO=600; TO_REG=600; SWEEP_IN=600; SWEEP_ALL=600; COST_TO=300; ARCH_TO=300
else
  SEARCH=""; INORDER=2000; ALL=15625; AUTH=300; COST=20; AGREE=50
  BUDGET_IN=25; BUDGET_ALL=120; TO=120; TO_REG=50; SWEEP_IN=45; SWEEP_ALL=150; COST_TO=50; ARCH_TO=40
fi
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
LOG="$OUT/log.txt"
step() { echo; echo "### $* ($(date -u +%T))"; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  python -c "import torch, sys; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cuda', torch.version.cuda, '| cpus', __import__('os').cpu_count())"
  git log -1 --format='commit %h %s' 2>/dev/null || true
  if [ "$AGREE" -gt 0 ]; then
    step "1. CPU vs GPU SWAP-Scores, $AGREE archs"
    timeout 45 python perf/device_agreement.py --data-dir "$DATA" --archs "$AGREE"
  fi
  step "2a. DARTS CIFAR-10 search, default fitness (best)"
  start=$(date +%s)
  # shellcheck disable=SC2086
  timeout "$TO" python -m swapnas.cli search --space darts --dataset cifar10 --device "$DEVICE" --data-dir "$DATA" \
    --store "$OUT/work/darts.sqlite" --out "$OUT/work/darts_c10" --no-progress $SEARCH
  echo "darts search (best) wall $(( $(date +%s) - start )) s"
  step "2b. DARTS CIFAR-10 search, --fitness swap_reg (the paper's)"
  start=$(date +%s)
  # shellcheck disable=SC2086
  timeout "$TO_REG" python -m swapnas.cli search --space darts --dataset cifar10 --device "$DEVICE" --data-dir "$DATA" \
    --fitness swap_reg --store "$OUT/work/darts_reg.sqlite" --out "$OUT/work/darts_c10_reg" --no-progress $SEARCH
  echo "darts search (swap_reg) wall $(( $(date +%s) - start )) s"
  step "3a. NB201 sweep, $INORDER archs, one process, no prefetch"
  timeout "$SWEEP_IN" python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --archs "$INORDER" \
    --authors-archs 0 --prefetch 0 --budget "$BUDGET_IN"
  step "3b. NB201 sweep, $INORDER archs, one process, --prefetch 4"
  timeout "$SWEEP_IN" python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --archs "$INORDER" \
    --authors-archs 0 --prefetch 4 --budget "$BUDGET_IN"
  step "3c. NB201 sweep, all $ALL archs, --workers $W, authors' style on $AUTH"
  timeout "$SWEEP_ALL" python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --archs "$ALL" \
    --authors-archs "$AUTH" --workers "$W" --budget "$BUDGET_ALL"
  step "4a. swap_score / forward"
  timeout "$COST_TO" python perf/swap_cost.py --device "$DEVICE" --archs "$COST" --repeat 5
  step "4b. where one arch's time goes"
  timeout "$ARCH_TO" python perf/arch_cost.py --device "$DEVICE" --archs "$COST" --data-dir "$DATA"
  step "done"
} 2>&1 | grep --line-buffered -v "SaturationWarning\|return float(swap_score\|^  swap_score(net, x)\|cols\[\"swap\"\]" | tee -a "$LOG"
for d in darts_c10 darts_c10_reg; do  # the found genotypes (small JSON), beside the log
  [ -f "$OUT/work/$d/result.json" ] && cp "$OUT/work/$d/result.json" "$OUT/$d.json"
done
rm -rf "$OUT/work"
