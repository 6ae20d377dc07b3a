#!/bin/bash
# Session 19: MeCo as its authors' code hooks it (meco_all: every module's output) as a fitness component, on the
# dev sets only (docs/protocol.md), against the same component sets without it. The component runs score, at each
# space's fitness-component protocol (PyTorch's default init, R = 1; NB201 C=16 N=1 S=16, DARTS C=8 5 cells S=16),
# the components of the current `best` and a few others (the session-10 dev stores are not on every machine, so
# the candidate sets here are smaller than session 10's: both sides of each comparison use the same set).
#   bash scripts/dev_meco_all.sh [DATA] [STORE]      # then docs/generated/dev/*meco_all*.md
set -euo pipefail
DATA=${1:-../shared/data}; STORE=${2:-runs/dev19.sqlite}
export OMP_NUM_THREADS=1
R=runs/dev19_nb201_c10_R1_default
swapnas correlate --space nb201 --dataset cifar10 --init default --repeats 1 --archs 1000 --seed 0 \
  --proxies swap,az_nas_progressivity,az_nas_expressivity,az_nas_trainability,fisher,flops,jacob_cov,l2_norm,meco,meco_all,params,vkdnw_layers \
  --data-dir "$DATA" --store "$STORE" --out $R --no-progress --allow-failures  # jacob_cov: 19 cells without a path
for B in darts_swap nb301; do
  swapnas correlate --space $B --proxies swap,az_nas_progressivity,az_nas_expressivity,params,l2_norm,fisher,meco,meco_all \
    --init default --repeats 1 --archs all --seed 0 --data-dir "$DATA" --store "$STORE" \
    --out runs/dev19_${B}_C_8_layers_5_default --no-progress
done
INC=swap=1,az_nas_progressivity=1.816,meco=0.1,az_nas_trainability=8.216e-07,fisher=-0.1,l2_norm=0.25
for X in base meco_all; do
  EXCL=swap_reg; [ $X = base ] && EXCL=swap_reg,meco_all
  python scripts/choose_fitness.py $R/results.json --max-terms 6 --min-gain 0.0005 --split-seeds 0,1,2 \
    --incumbent $INC --exclude $EXCL --out docs/generated/dev/nb201_fitness_${X}19.md
  JOINT="az_nas_expressivity=0,1;az_nas_progressivity=0,0.25;params=0,0.5;l2_norm=0,0.5,1;fisher=0,-0.1,-0.25;meco=0,0.5,1"
  [ $X = meco_all ] && JOINT="$JOINT;meco_all=0,0.5,1,2"
  python scripts/choose_fitness.py runs/dev19_darts_swap_C_8_layers_5_default/results.json \
    runs/dev19_nb301_C_8_layers_5_default/results.json --max-terms 6 --min-gain 0.005 --split-seeds 0,1,2,3,4 \
    --incumbent swap=1,az_nas_progressivity=0.25,params=0.5,l2_norm=1,fisher=-0.25 --exclude $EXCL --joint "$JOINT" \
    --out docs/generated/dev/darts_fitness_${X}19.md
done
python scripts/compare_splits.py docs/generated/dev/nb201_fitness_base19.md docs/generated/dev/nb201_fitness_meco_all19.md --rule greedy
python scripts/compare_splits.py docs/generated/dev/darts_fitness_base19.md docs/generated/dev/darts_fitness_meco_all19.md --rule joint
