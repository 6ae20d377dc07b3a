#!/usr/bin/env bash
# NB201: the recommended fitness beside the strongest anchors under ONE protocol (the NB201 fitness
# protocol: C=16, N=1, S=16, R=1, PyTorch default init, BatchNorm train mode, seed 0).
#   bash scripts/nb201_anchor_runs.sh DATA STORE OUT
# 1. best on all 15,625 archs per dataset; 2. best, swap, az_nas (+ parts) on the 1000-arch seed-0
# sample; 3. vkdnw_agg (+ parts) and best (on the same archs) on 1000 archs for CIFAR-10 and on a 100-arch sample for the others
# (its Fisher takes one backward pass per class: ~3-4 s per arch with 100/120 classes on this CPU).
# Set STEPS to a subset of "full anchors vkdnw" to run only those steps; SHARDS=2 scores step 1 in two
# parallel processes (one worker each) into the same STORE; FULL=NAMES scores other proxies in step 1.
# Resumable: every score goes to STORE. Then: python scripts/nb201_space_table.py OUT/*/results.json
set -euo pipefail
DATA=${1:?data dir}; STORE=${2:?store}; OUT=${3:?out dir}
# --allow-failures: a failed arch (e.g. a constant Jacobian for jacob_cov) is reported in the outputs, and the
# next step still runs (set -e would stop at exit 3)
P=(--space nb201 --seed 0 --init default --repeats 1 --data-dir "$DATA" --store "$STORE" --device cpu --no-progress
   --allow-failures)
export OMP_NUM_THREADS=1
STEPS=${STEPS:-full anchors vkdnw}
SHARDS=${SHARDS:-1}
FULL=${FULL:-best}  # step 1's proxies, e.g. FULL=az_nas (with another OUT) for the anchor on the whole space
for DS in ${DATASETS:-cifar10 cifar100 imagenet16-120}; do
  if [[ $STEPS == *full* ]]; then
    for ((i = 0; i < SHARDS; i++)); do  # SHARDS > 1: score in parallel shards first, then one run reads them all
      [ "$SHARDS" -gt 1 ] && swapnas correlate "${P[@]}" --dataset $DS --proxies $FULL --archs all --shard $i/$SHARDS \
        --workers 1 --out "$OUT/full_${DS}_shard$i" &
    done
    wait
    swapnas correlate "${P[@]}" --dataset $DS --proxies $FULL --archs all --out "$OUT/full_$DS"
  fi
  [[ $STEPS == *anchors* ]] && swapnas correlate "${P[@]}" --dataset $DS --proxies best,swap,az_nas --archs 1000 \
    --out "$OUT/anchors_$DS"
  N=1000; [ $DS != cifar10 ] && N=100
  if [[ $STEPS == *vkdnw* ]]; then
    swapnas correlate "${P[@]}" --dataset $DS --proxies vkdnw_agg,best --archs $N --out "$OUT/vkdnw_$DS"
  fi
done  # (an if, not `[[ ]] &&`: a skipped last step no longer makes the script exit 1)
