#!/usr/bin/env bash
# The GPU throughput checks that follow the first GPU run (docs/performance.md, "On the GPU"), one command, at most
# 450 s: where one arch's time goes (the one-copy move against .to(), swap/forward); the NB201 sweep (C=16 N=5,
# S=64, 1 init) in this process without and with --prefetch 4 (the first also times the authors'-style scorer on 100
# archs); then with --workers 4, 8 and 12 processes sharing the GPU, each rate taken after the pool's start; and,
# where the machine has NVIDIA's MPS control daemon, --workers 12 again under MPS (started for that step, stopped
# after it), which lets the workers' kernels run side by side instead of in turns; last, the default DARTS CIFAR-10
# search with --workers 8 (stopped at 80 s; the first GPU run timed it with one worker); and one build per arch for
# all its proxies against a build per proxy (perf/proxy_builds.py on the GPU, 5 archs per case).
# Everything is appended to OUT/log.txt as it runs.
# Usage: bash perf/gpu_throughput.sh DATA_DIR OUT_DIR
# Dry run on a CPU machine (small sizes, same commands): DEVICE=cpu SMALL=1 bash perf/gpu_throughput.sh ...
set -uo pipefail
DATA=$1; OUT=$2
DEVICE=${DEVICE:-cuda}
if [ "${SMALL:-0}" = 1 ]; then
  ARCHS=2; AUTH=3; BUDGET=8; COST_TO=300; SWEEP_TO=300; WORKERS="2"; MPS_TO=300; SEARCH_TO=300; POOL_TO=600
  SEARCH="--population 4 --sample 2 --mutations 2 --cycles 2"
else
  ARCHS=20; AUTH=100; BUDGET=20; COST_TO=45; SWEEP_TO=45; WORKERS="4 8 12"; MPS_TO=40; SEARCH_TO=80; SEARCH=""
  POOL_TO=60
fi
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
step() { echo; echo "### $* ($(date -u +%T))"; }
sweep() { timeout "$SWEEP_TO" python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --budget "$BUDGET" "$@"; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  python -c "import torch, sys, os; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cpus', os.cpu_count())"
  step "1. where one arch's time goes, $ARCHS archs"
  timeout "$COST_TO" python perf/arch_cost.py --device "$DEVICE" --archs "$ARCHS" --data-dir "$DATA"
  step "2a. sweep, this process, no prefetch; authors' style on $AUTH"
  sweep --authors-archs "$AUTH"
  step "2b. sweep, this process, --prefetch 4"
  sweep --authors-archs 0 --prefetch 4
  for w in $WORKERS; do
    step "2c. sweep, --workers $w"
    sweep --authors-archs 0 --workers "$w"
  done
  if command -v nvidia-cuda-mps-control > /dev/null && [ "$DEVICE" = cuda ]; then
    step "2d. sweep, --workers 12 under MPS"
    if nvidia-cuda-mps-control -d; then
      timeout "$MPS_TO" python perf/nb201_sweep.py --device "$DEVICE" --data-dir "$DATA" --budget 15 --authors-archs 0 \
        --workers 12
      echo quit | nvidia-cuda-mps-control
      sleep 1
    fi
  else
    echo "no MPS control daemon here: step 2d skipped"
  fi
  step "3. DARTS CIFAR-10 search (default fitness), --workers ${SEARCH_WORKERS:-8}"
  start=$(date +%s)
  # shellcheck disable=SC2086
  timeout "$SEARCH_TO" python -m swapnas.cli search --space darts --dataset cifar10 --device "$DEVICE" --data-dir "$DATA" \
    --workers "${SEARCH_WORKERS:-8}" --store "$OUT/work/darts.sqlite" --out "$OUT/work/darts_c10" --no-progress $SEARCH
  echo "darts search (best, --workers ${SEARCH_WORKERS:-8}) wall $(( $(date +%s) - start )) s"
  step "4. one build per arch for all its proxies, against a build per proxy"
  timeout "$POOL_TO" python perf/proxy_builds.py --device "$DEVICE" --archs 5 --data-dir "$DATA"
  step "done"
} 2>&1 | grep --line-buffered -v "SaturationWarning\|return float(swap_score\|^  swap_score(\|cols\[\"swap\"\]\|t, score = _ms" | tee -a "$OUT/log.txt"
if [ -f "$OUT/work/darts_c10/result.json" ]; then
  cp "$OUT/work/darts_c10/result.json" "$OUT/darts_c10_w${SEARCH_WORKERS:-8}.json"
fi
rm -rf "$OUT/work"
