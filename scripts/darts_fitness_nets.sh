#!/bin/bash
# Session 10: the DARTS fitness (swap_fisher) on the two larger candidate scored networks of session 9's
# second-stage table (C=16 with 5 cells and C=8 with 8 cells, both at S = 20; their Ψ, progressivity and
# #params are already in runs/dev.sqlite), on both DARTS dev sets: does the fitness want another network?
# Needs runs/best10_{darts_swap,nb301} (the `best` runs of docs/results.md). Writes docs/generated/dev/darts_fitness_nets.md.
set -euo pipefail
DATA=${DATA:-../shared/data}
export OMP_NUM_THREADS=1
for B in darts_swap nb301; do
  for NET in C=16,layers=5 C=8,layers=8; do
    swapnas correlate --space $B --proxies swap_fisher --net $NET --batch-size 20 --init default --repeats 1 \
      --archs all --seed 0 --data-dir "$DATA" --store runs/dev.sqlite --out runs/dev_${B}_fisher_${NET//[=,]/_} \
      --workers 2 --no-progress
  done
done
R=runs; F="C=8, 5 cells, S=16 (the fitness network)"
python scripts/rho_table.py "$F|darts_swap=$R/best10_darts_swap/results.json" "$F|nb301=$R/best10_nb301/results.json" \
  "C=16, 5 cells, S=20|darts_swap=$R/dev_darts_swap_fisher_C_16_layers_5/results.json" \
  "C=16, 5 cells, S=20|nb301=$R/dev_nb301_fisher_C_16_layers_5/results.json" \
  "C=8, 8 cells, S=20|darts_swap=$R/dev_darts_swap_fisher_C_8_layers_8/results.json" \
  "C=8, 8 cells, S=20|nb301=$R/dev_nb301_fisher_C_8_layers_8/results.json" > docs/generated/dev/darts_fitness_nets.md
