#!/bin/bash
# Session 12: L-SWAG's gradient term Λ (lswag_grad) and L-SWAG (lswag) on the three dev sets at each space's
# fitness-component protocol (the runs of scripts/dev_more_metrics.sh), into runs/dev.sqlite; then the component
# choice with Λ beside the 18 components (docs/generated/dev/lswag_dev.md, docs/generated/dev/README.md).
set -euo pipefail
DATA=${DATA:-../shared/data}
export OMP_NUM_THREADS=1
for B in darts_swap nb301; do
  swapnas correlate --space $B --proxies lswag_grad,lswag --init default --net C=8,layers=5 --repeats 1 --archs all \
    --seed 0 --data-dir "$DATA" --store runs/dev.sqlite --out runs/dev_${B}_C_8_layers_5_default_lswag --workers 2 --no-progress
done
swapnas correlate --space nb201 --dataset cifar10 --proxies lswag_grad,lswag --init default --archs 1000 --seed 0 \
  --repeats 1 --data-dir "$DATA" --store runs/dev.sqlite --out runs/dev_nb201_c10_R1_default_lswag --workers 2 --no-progress \
  --allow-failures  # 19 archs fail, as zen and epe_nas: no path from input to output, so no gradient varies
# The component choice with Λ (lswag itself left out: ln(Λ·Ψ) = ln Λ + ln Ψ, and ln Ψ is every fitness's anchor).
R=runs/dev_nb201_c10_R1_default; D=runs/dev_darts_swap_C_8_layers_5_default; N=runs/dev_nb301_C_8_layers_5_default
python scripts/choose_fitness.py $R/results.json+${R}_more/results.json+${R}_lswag/results.json --max-terms 6 \
  --min-gain 0.0005 --exclude lswag --split-seeds 0,1,2 \
  --incumbent swap=1,az_nas_progressivity=1.816,meco=0.1,az_nas_trainability=8.216e-07,fisher=-0.1,l2_norm=0.25 \
  --out docs/generated/dev/nb201_fitness_lswag.md
python scripts/choose_fitness.py $D/results.json+${D}_more/results.json+${D}_lswag/results.json \
  $N/results.json+${N}_more/results.json+${N}_lswag/results.json --max-terms 6 --min-gain 0.005 --exclude lswag \
  --split-seeds 0,1,2,3,4 --incumbent swap=1,az_nas_progressivity=0.25,params=0.5,l2_norm=1,fisher=-0.25 \
  --joint "az_nas_expressivity=0,1;az_nas_progressivity=0,0.25;params=0,0.5;l2_norm=0,0.5,1;nwot=0,0.5,1;zico=0,0.5,1;fisher=0,-0.1,-0.25;lswag_grad=0,0.5,1,2" \
  --out docs/generated/dev/darts_fitness_lswag.md
python scripts/choose_fitness.py $R/results.json+${R}_more/results.json+${R}_lswag/results.json \
  $D/results.json+${D}_more/results.json+${D}_lswag/results.json $N/results.json+${N}_more/results.json+${N}_lswag/results.json \
  --max-terms 6 --min-gain 0.005 --exclude swap_reg,zen,epe_nas,lswag --split-seeds 0,1,2,3,4 \
  --incumbent swap=1,az_nas_expressivity=1,az_nas_progressivity=0.25,params=0.5 \
  --joint "az_nas_expressivity=0,1;az_nas_progressivity=0,0.25;params=0,0.5;l2_norm=0,0.5,1;nwot=0,0.5,1;zico=0,0.5,1;fisher=0,-0.1,-0.25;lswag_grad=0,0.25,0.5,1" \
  --out docs/generated/dev/universal_fitness_lswag.md
# The paper's layer interval, chosen on the dev sets (Λ over depth bins a..b, Ψ up to b; rebuilds every dev network
# once and caches the per-bin values as lswag_bins.npz beside each run).
python scripts/lswag_layers_dev.py runs/dev_nb201_c10_R1_default_lswag/results.json --data-dir "$DATA" \
  --out docs/generated/dev/lswag_layers_nb201.md
python scripts/lswag_layers_dev.py ${D}_lswag/results.json ${N}_lswag/results.json --data-dir "$DATA" \
  --out docs/generated/dev/lswag_layers_darts.md
