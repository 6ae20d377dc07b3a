#!/usr/bin/env bash
# Re-run the README job and three documented figures into fresh stores and compare each with the
# run the docs were written from (scripts/compare_runs.py). Used to show that a refactor changed
# no score. Needs the earlier runs under runs/ (made by the commands in README.md, docs/results.md
# and docs/search.md); OUT defaults to runs/refactor_check.
set -euo pipefail
OUT=${OUT:-runs/refactor_check}
DATA=${DATA:-../shared/data}
mkdir -p "$OUT"
run() { local name=$1; shift; [ -f "$OUT/$name/done" ] || { "$@" --out "$OUT/$name" --no-progress > "$OUT/$name.log" 2>&1 && touch "$OUT/$name/done"; }; }
run readme_c100 swapnas correlate --space nb201 --dataset cifar100 --proxies swap,swap_reg,params --archs 1000 --seed 0 --data-dir "$DATA"
run best_nb101 swapnas correlate --space nb101 --proxies best --archs all --data-dir "$DATA"
run best_darts_swap swapnas correlate --space darts_swap --proxies best --archs all --data-dir "$DATA"
run search_c10_seed8 swapnas search --space nb201 --dataset cifar10 --seed 8 --device cpu --data-dir "$DATA"
python scripts/compare_runs.py runs/nb201_cifar100/results.json "$OUT/readme_c100/results.json" | tail -1
python scripts/compare_runs.py runs/best6_nb101/results.json "$OUT/best_nb101/results.json" | tail -1
python scripts/compare_runs.py runs/best10_darts_swap/results.json "$OUT/best_darts_swap/results.json" | tail -1
python scripts/compare_runs.py runs/search_nb201_best11/cifar10_seed8/result.json "$OUT/search_c10_seed8/result.json" | tail -1
