#!/bin/bash
# Session 10: thirteen more metrics on both DARTS dev sets (the DARTS fitness protocol) and eight on the NB201
# dev sample (the NB201 fitness protocol), into runs/dev.sqlite; docs/protocol.md and docs/generated/dev/README.md use them.
set -euo pipefail
DATA=${DATA:-../shared/data}
export OMP_NUM_THREADS=1
P=zico,nwot,synflow,jacob_cov,az_nas_trainability,l2_norm,flops,grad_norm,snip,zen,vkdnw_layers,fisher,epe_nas
for B in darts_swap nb301; do
  swapnas correlate --space $B --proxies $P --init default --net C=8,layers=5 --repeats 1 --archs all --seed 0 \
    --data-dir "$DATA" --store runs/dev.sqlite --out runs/dev_${B}_C_8_layers_5_default_more --workers 2 --no-progress
done
swapnas correlate --space nb201 --dataset cifar10 --proxies l2_norm,flops,grad_norm,snip,zen,vkdnw_layers,fisher,epe_nas --init default --archs 1000 --seed 0 --repeats 1 \
  --data-dir "$DATA" --store runs/dev.sqlite --out runs/dev_nb201_c10_R1_default_more --workers 2 --no-progress \
  --allow-failures  # zen and epe_nas fail on 19 archs each (a constant map or Jacobian row)
