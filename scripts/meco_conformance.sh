#!/bin/bash
# MeCo against its paper's NB201 protocol (session 19; docs/conformance.md#meco): the full benchmark network
# (C=16, N=5), PyTorch's default init, BatchNorm in training mode, one real CIFAR-10 image (MeCo's "one data": the
# first image of the seed-0 batch), the 1000-arch seed-0 sample; meco_all hooks every module as the authors' code,
# meco the Conv2d outputs only. CIFAR-10 validation and test accuracy (the second run reads every score from the
# store), then CIFAR-100 and ImageNet16-120 validation.
#   bash scripts/meco_conformance.sh [DATA] [STORE]
set -euo pipefail
DATA=${1:-../shared/data}; STORE=${2:-runs/meco19.sqlite}
export OMP_NUM_THREADS=1
for M in valid test; do
  swapnas correlate --space nb201 --dataset cifar10 --proxies meco_all,meco --net N=5 --init default --repeats 1 \
    --archs 1000 --seed 0 --metric $M --data-dir "$DATA" --store "$STORE" --out runs/meco19_conf_c10_$M --no-progress
done
# the same 1000 archs on the other two datasets (validation): MeCo beside the anchors of docs/results.md
for DS in cifar100 imagenet16-120; do
  swapnas correlate --space nb201 --dataset $DS --proxies meco_all,meco --net N=5 --init default --repeats 1 \
    --archs 1000 --seed 0 --data-dir "$DATA" --store "$STORE" --out runs/meco19_conf_${DS}_valid --no-progress
done
