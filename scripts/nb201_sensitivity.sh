#!/usr/bin/env bash
# The NB201 protocol study behind docs/results.md: every run is one `swapnas correlate`
# on the same 1000 archs (seed 0), CIFAR-10 labels only for the sensitivity part.
# Usage: bash scripts/nb201_sensitivity.sh [DATA_DIR] [RUNS_DIR]   (two lanes, one core each)
set -euo pipefail
DATA=${1:-../shared/data}
RUNS=${2:-runs}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
run() {  # run NAME ARGS...
  local name=$1; shift
  swapnas correlate --space nb201 --archs 1000 --seed 0 --proxies swap,params --device cpu --workers 1 \
    --data-dir "$DATA" --store "$RUNS/$name.sqlite" --out "$RUNS/$name" --no-progress "$@" > "$RUNS/$name.log" 2>&1
}
mkdir -p "$RUNS"
(
  run c10_C16_N1_S16_R4 --dataset cifar10 --channels 16 --cells 1 --batch-size 16 --repeats 4
  run c10_C16_N1_S8_R4  --dataset cifar10 --channels 16 --cells 1 --batch-size 8  --repeats 4
  run c10_C16_N1_S32_R4 --dataset cifar10 --channels 16 --cells 1 --batch-size 32 --repeats 4
  run c10_C16_N1_S64_R4 --dataset cifar10 --channels 16 --cells 1 --batch-size 64 --repeats 4
  run c10_C8_N1_S16_R4  --dataset cifar10 --channels 8  --cells 1 --batch-size 16 --repeats 4
  run c10_C32_N1_S16_R4 --dataset cifar10 --channels 32 --cells 1 --batch-size 16 --repeats 4
  run c10_C16_N1_S16_R1 --dataset cifar10 --channels 16 --cells 1 --batch-size 16 --repeats 1
) &
lane1=$!
(
  run c10_C16_N5_S64_R1 --dataset cifar10 --channels 16 --cells 5 --batch-size 64 --repeats 1
  run c10_C16_N2_S16_R4 --dataset cifar10 --channels 16 --cells 2 --batch-size 16 --repeats 4
  run c10_C16_N5_S16_R4 --dataset cifar10 --channels 16 --cells 5 --batch-size 16 --repeats 4
  run c10_C16_N1_S16_R32 --dataset cifar10 --channels 16 --cells 1 --batch-size 16 --repeats 32
) &
lane2=$!
# A bare `wait` returns 0 whatever the lanes did; wait on each lane so a failed run fails the script.
# (set -e inside a lane stops that lane at its first failed run; see $RUNS/NAME.log.)
status=0
wait "$lane1" || { echo "nb201_sensitivity: lane 1 failed (see $RUNS/*.log)" >&2; status=1; }
wait "$lane2" || { echo "nb201_sensitivity: lane 2 failed (see $RUNS/*.log)" >&2; status=1; }
exit "$status"
