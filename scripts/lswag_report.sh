#!/bin/bash
# Session 12: L-SWAG (lswag, and its gradient term lswag_grad) on the test benchmarks, reported only (nothing is
# chosen on these labels): NB201 CIFAR-100 / ImageNet16-120 (the 1000-arch seed-0 sample), NB101 (500 archs) and
# the 14 TransNAS tasks (100 archs each), every run at its space's fitness-component protocol (S=16, R=1, the
# builders' default init, the scored network of `best`), scores in runs/lswag.sqlite. docs/results.md shows the table
# (python scripts/lswag_table.py, the last command).
set -euo pipefail
DATA=${DATA:-../shared/data}
export OMP_NUM_THREADS=1
C=(--proxies lswag_grad,lswag --init default --repeats 1 --seed 0 --data-dir "$DATA" --store runs/lswag.sqlite --workers 2 --no-progress --allow-failures)
for ds in cifar100 imagenet16-120; do
  swapnas correlate --space nb201 --dataset "$ds" --archs 1000 "${C[@]}" --out "runs/lswag_nb201_$ds"
done
swapnas correlate --space nb101 --net C=16,stacks=3,cells=1 --archs all "${C[@]}" --out runs/lswag_nb101
for sp in transnas_micro transnas_macro; do
  for t in class_object class_scene room_layout jigsaw autoencoder normal segmentsemantic; do
    swapnas correlate --space "$sp" --dataset "$t" --net C=16,resolution=64 --archs 100 "${C[@]}" --out "runs/lswag_${sp}_$t"
  done
done
# the table: each lswag run beside the documented run of `best` on the same archs (docs/results.md)
A=("NB201 CIFAR-10 (dev)=runs/dev_nb201_c10_R1_default_lswag/results.json,runs/full11/anchors_cifar10/results.json#swap_nb201"
   "NB201 CIFAR-100=runs/lswag_nb201_cifar100/results.json,runs/full11/anchors_cifar100/results.json#swap_nb201"
   "NB201 ImageNet16-120=runs/lswag_nb201_imagenet16-120/results.json,runs/full11/anchors_imagenet16-120/results.json#swap_nb201"
   "NB101=runs/lswag_nb101/results.json,runs/best6_nb101/results.json"
   "NB301 (dev)=runs/dev_nb301_C_8_layers_5_default_lswag/results.json,runs/best10_nb301/results.json"
   "darts_swap (dev)=runs/dev_darts_swap_C_8_layers_5_default_lswag/results.json,runs/best10_darts_swap/results.json")
for sp in micro macro; do for t in class_object class_scene room_layout jigsaw autoencoder normal segmentsemantic; do
  A+=("TransNAS $sp $t=runs/lswag_transnas_${sp}_$t/results.json,runs/best6_transnas_${sp}_$t/results.json")
done; done
python scripts/lswag_table.py "${A[@]}"   # the three dev runs come from scripts/dev_lswag.sh
