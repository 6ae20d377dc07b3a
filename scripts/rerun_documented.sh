#!/usr/bin/env bash
# Re-run the README job and three documented figures into fresh stores and compare each with the
# run the docs were written from (scripts/compare_runs.py). Used to show that a refactor changed
# no score. Needs the earlier runs under runs/ (made by the commands in README.md, docs/results.md
# and docs/search.md); OUT defaults to runs/refactor_check. Every run and every comparison is
# made even when an earlier one failed or differed; the exit status is 1 if any did.
set -euo pipefail
OUT=${OUT:-runs/refactor_check}
DATA=${DATA:-../shared/data}
mkdir -p "$OUT"
status=0
run() {  # run NAME COMMAND...: skipped when done before; a failure is reported and remembered
  local name=$1; shift
  [ -f "$OUT/$name/done" ] && return 0
  if "$@" --out "$OUT/$name" --no-progress > "$OUT/$name.log" 2>&1; then
    touch "$OUT/$name/done"
  else
    echo "FAILED  $name (exit $?; see $OUT/$name.log)" >&2
    status=1
  fi
}
compare() {  # compare NAME DOCUMENTED RERUN: compare_runs.py's verdict; a difference or an error is remembered
  printf '%s: ' "$1"
  python scripts/compare_runs.py "$2" "$3" 2>&1 | tail -1 || status=1
}
run readme_c100 swapnas correlate --space nb201 --dataset cifar100 --proxies swap,swap_reg,params --archs 1000 --seed 0 --data-dir "$DATA"
run best_nb101 swapnas correlate --space nb101 --proxies best --archs all --data-dir "$DATA"
run best_darts_swap swapnas correlate --space darts_swap --proxies best --archs all --data-dir "$DATA"
run search_c10_seed8 swapnas search --space nb201 --dataset cifar10 --seed 8 --device cpu --data-dir "$DATA"
compare readme_c100 runs/nb201_cifar100/results.json "$OUT/readme_c100/results.json"
compare best_nb101 runs/best6_nb101/results.json "$OUT/best_nb101/results.json"
compare best_darts_swap runs/best10_darts_swap/results.json "$OUT/best_darts_swap/results.json"
compare search_c10_seed8 runs/search_nb201_best11/cifar10_seed8/result.json "$OUT/search_c10_seed8/result.json"
[ "$status" = 0 ] || echo "rerun_documented: some runs failed or differed (above)" >&2
exit "$status"
