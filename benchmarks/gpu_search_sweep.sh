#!/usr/bin/env bash
# GPU checks for search and speed, one command for a lent GPU machine (~8 min):
#   1. the default DARTS CIFAR-10 search on the GPU, timed (the paper: ~6 V100-minutes);
#   2. the NB201 sweep: 2,000 archs in order (no prefetch), then all 15,625 (S=64, 1 init) in throughput
#      mode (4 networks built ahead by a thread) with the authors'-style scorer on 300 of them;
#   3. swap_score / forward time ratio on the GPU.
# Usage: bash benchmarks/gpu_search_sweep.sh DATA_DIR OUT_DIR
set -uo pipefail
DATA=$1; OUT=$2
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv 2>&1 | tee "$OUT/gpu.txt"
start=$(date +%s)
timeout 240 python -m swapnas.cli search --space darts --dataset cifar10 --device cuda --data-dir "$DATA" \
  --out "$OUT/darts_c10" --no-progress 2>&1 | tee "$OUT/darts_search.txt"
echo "darts search wall $(( $(date +%s) - start )) s" | tee -a "$OUT/darts_search.txt"
timeout 60 python benchmarks/nb201_sweep.py --device cuda --data-dir "$DATA" --archs 2000 --authors-archs 0 \
  --prefetch 0 2>&1 | tee "$OUT/nb201_sweep_inorder.txt"
timeout 240 python benchmarks/nb201_sweep.py --device cuda --data-dir "$DATA" --prefetch 4 2>&1 | tee "$OUT/nb201_sweep.txt"
timeout 60 python benchmarks/swap_cost.py --device cuda --archs 20 --repeat 5 2>&1 | tee "$OUT/swap_cost_gpu.txt"
