#!/usr/bin/env bash
# Every GPU check of this repo in one command (for a lent GPU machine).
# Usage: bash perf/gpu_checks.sh DATA_DIR OUT_DIR [CONFORMANCE_SECONDS]
set -uo pipefail
DATA=$1; OUT=$2; CONF_S=${3:-300}
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
python -c "import torch, scipy, numpy; print('torch', torch.__version__, 'scipy', scipy.__version__, 'numpy', numpy.__version__)" | tee -a "$OUT/gpu.txt"
# NASLib conformance (NB201 cifar10): four processes share the GPU and one store, split by metric
for group in grasp,l2_norm,params nwot,epe_nas,flops synflow,fisher,snip plain,grad_norm,jacob_cov; do
  timeout "$CONF_S" python -m swapnas.cli conformance --space nb201 --dataset cifar10 --proxies "$group" \
    --data-dir "$DATA" --device cuda --store "$OUT/conformance_c10.sqlite" --out "$OUT/conf_$group" --no-progress \
    > "$OUT/conf_$group.log" 2>&1 &
done
python perf/device_agreement.py --data-dir "$DATA" --archs 50 2>&1 | tee "$OUT/device_agreement.txt"
wait
python perf/swap_cost.py --device cuda --archs 20 --repeat 5 2>&1 | tee "$OUT/swap_cost_gpu.txt"
timeout 60 python -m swapnas.cli conformance --space nb201 --dataset cifar10 --data-dir "$DATA" --device cuda \
  --store "$OUT/conformance_c10.sqlite" --out "$OUT/conformance_c10" --no-progress 2>&1 | tail -20 | tee "$OUT/conformance_c10.txt"
tail -n 4 "$OUT"/conf_*.log > "$OUT/logs_conformance.txt"; rm -rf "$OUT"/conf_* "$OUT/conformance_c10"
