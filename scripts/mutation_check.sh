#!/usr/bin/env bash
# Mutation testing of one module with mutmut (a dev check, not part of CI): which small changes to the code
# (an operator, a constant, a dropped argument) no test notices. Session 28 ran it on swapnas.stats, session 29 on
# size_prior and patterns, session 30 on proxies/best, search/evolution and store, session 31 on search/fitness and
# search/final, session 32 on scoring and search/driver, session 33 on the driver's report functions, session 34 on
# correlate and session, session 35 on proxies/az_nas, proxies/vkdnw, proxies/_common, proxies/registry and the
# rest of session, session 36 on pool_retry, executor_local, executors, grid and proxies/meco, session 37 on the
# other metrics' bodies and the decorated definitions, session 38 on files and the dataclass methods, session 39 on
# the other dataclasses, the other lru_cache'd functions, tokens, api_inputs and benchmarks/flexibert, session 40 on
# net_pool, module_tools and benchmarks/csv_truth, session 41 on the other benchmark loaders, export, memory,
# code_changes, taskonomy and store_tools, session 42 on results, session 43 on report's table and text functions,
# session 44 on conformance and data's image readers, session 45 on the rest of data, cli/args and report's
# plots, session 46 on cli/commands and cli/parsers (scripts/mutation_batch.py: many mutants in one process;
# docs/reliability.md), session 47 on cli/search_command, api_search, cli/__init__ and swapnas train's modules
# (train/checkpoint, train/data, train/recipe, train/loop, train/rng), spaces/ops, spaces/darts,
# spaces/darts_net and flexibert_net's embeddings, attention, linear transforms and FF stack, session 48 on the
# spaces' other modules (flexibert_net, nb101_net, nb201, flexibert, nb101_cell, nb101, transnas, transnas_micro,
# transnas_macro, darts_genotype, darts_imagenet, protocol, spaces/__init__), api, benchmarks/__init__, ray_address,
# train/run, malloc and proxies/code (mutation_batch.py with a per-mutant time limit, MUTATION_TIMEOUT).
#
#   pip install mutmut==3.3.1
#   bash scripts/mutation_check.sh stats [DATA_DIR]    # module under src/swapnas, e.g. stats, size_prior
#   MUTATION_SKIP='executors|ray' bash scripts/mutation_check.sh store   # without the test files matching
#   MUTATION_TESTS='tests/test_a.py tests/test_b.py' MUTATION_NAMES='x_search_report* x_extra_cells*' \
#     bash scripts/mutation_check.sh search/driver   # only these test files; only the functions named
#   (mutmut's progress line still counts every mutant of the module; those of the functions not named stay
#   "not checked" in the counts printed after the run)
#
# It works in a throw-away clone of HEAD (/tmp/swapnas_mutation): mutmut rewrites the sources it mutates, so never
# in this checkout. Only the named module is mutated (mutmut's trampolines break some of the spaces' classes,
# so the rest is listed under do_not_mutate), and only the test files that import it or name its functions are
# run. mutmut's timeouts are re-run without its time limit (scripts/mutation_rerun.py). It prints the killed /
# survived counts of both runs and the diff of every survivor; many survivors are equivalent (float("NAN"),
# dtype=None on floats, a scale of the scores that ranks the same), the others are tests to write.
# mutmut imports the package once and forks a process per mutant, so code that runs at import (the proxies'
# register/register_set calls) runs unmutated and its mutants "survive"; judge those in a fresh process each:
#   cd /tmp/swapnas_mutation/mutants && MUTANT_UNDER_TEST=<mutant name> PYTHONPATH=src python -m pytest -x -q TESTS
# The same holds for functools.lru_cache'd functions (session 38: spaces/darts_macs): the forked mutants read the
# values its first, unmutated pass cached, so every one of their mutants "survives"; judge them the same way.
set -euo pipefail
module=${1:?usage: mutation_check.sh MODULE [DATA_DIR]}
data=$(cd "${2:-../shared/data}" && pwd)
src="src/swapnas/${module//.//}.py"
[ -f "$src" ] || { echo "no $src: give a module under src/swapnas (e.g. stats)" >&2; exit 2; }
command -v mutmut >/dev/null || { echo "mutmut not found: pip install mutmut==3.3.1" >&2; exit 2; }
work=/tmp/swapnas_mutation
rm -rf "$work" && git clone -q "$(git rev-parse --show-toplevel)" "$work" && cd "$work"
# mutmut never mutates a decorated function or class: the registered metrics' bodies (@register), context managers,
# cached functions, dataclasses and properties become plain definitions decorated after their definition, in this
# clone only (scripts/undecorate.py; session 36: @register only, session 37: the others)
python scripts/undecorate.py "$src"
mod="swapnas.${module//\//.}"
# the test files that import the module or name one of its top-level functions, classes or constants (a test may reach
# it through another module: swap_reg's prior through patterns); mutmut then runs, per mutant, only the tests
# whose run entered the mutated function
names=$({ grep -oE '^((def|class) [A-Za-z_][A-Za-z0-9_]*|[A-Z][A-Z0-9_]+ *[:=])' "$src" || true; } |
  sed -E 's/^(def|class) //; s/ *[:=]$//' | sort -u | paste -sd'|')
mapfile -t tests < <(grep -lE "from $mod import|import $mod\b|from swapnas import .*\b${module##*/}\b${names:+|\b($names)\b}" tests/test_*.py)
# MUTATION_SKIP (a grep -E pattern) leaves test files out: those that spawn worker processes fail under mutmut
# (its trampoline imports mutmut's entry module in the worker, which sets the start method a second time), e.g.
# MUTATION_SKIP='executors|ray|review21_exec|leftovers22|ctrl_c_workers' for store
# MUTATION_TESTS takes test ids as well as files (tests/test_x.py::test_y): a file's in-process tests without its
# worker-spawning ones (session 36: pool_retry, executor_local, executors)
if [ -n "${MUTATION_SKIP:-}" ]; then
  mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -vE "$MUTATION_SKIP" || true)
fi
if [ -n "${MUTATION_TESTS:-}" ]; then read -ra tests <<< "$MUTATION_TESTS"; fi
[ ${#tests[@]} -gt 0 ] || { echo "no test file imports $mod or names its functions" >&2; exit 2; }
{
  echo "[mutmut]"
  echo "paths_to_mutate=src/"
  printf 'also_copy=\n    scripts/\n    perf/\n    docs/\n    README.md\n    .ci/\n'   # tests that read them
  echo "do_not_mutate="
  find src/swapnas -name '*.py' ! -path "$src" | sort | sed 's/^/    /'
  echo "tests_dir="
  printf '    %s\n' "${tests[@]}"
} >> setup.cfg
echo "mutating $src; tests: ${tests[*]}"
names_run=("$mod*")
if [ -n "${MUTATION_NAMES:-}" ]; then read -ra globs <<< "$MUTATION_NAMES"; names_run=("${globs[@]/#/$mod.}"); fi
SECONDS=0
SWAPNAS_DATA=$data OMP_NUM_THREADS=1 mutmut run "${names_run[@]}" --max-children "$(nproc)" > mutmut.log 2>&1 || {
  tail -20 mutmut.log; exit 1; }
echo "mutation run: ${SECONDS} s on $(nproc) processes"
mutmut results --all true | sed 's/.*: //' | sort | uniq -c   # "no tests": no chosen test entered the function
# mutmut's "timeout" is no verdict (see scripts/mutation_rerun.py): run those mutants' tests again without its limit
mapfile -t timeouts < <(mutmut results --all true | awk -F': ' '/: timeout$/ {gsub(/ /, "", $1); print $1}')
survivors=$(mutmut results | awk -F: '/survived/ {print $1}')
if [ ${#timeouts[@]} -gt 0 ]; then
  SECONDS=0
  SWAPNAS_DATA=$data python scripts/mutation_rerun.py "${timeouts[@]}" --jobs "$(nproc)" > rerun.log
  grep "(re-run)" rerun.log
  echo "re-run of ${#timeouts[@]} timeouts: ${SECONDS} s"
  survivors="$survivors $(awk '/^survived: / {print $2}' rerun.log)"
fi
for m in $survivors; do
  echo "== $m"; mutmut show "$m" | grep -E '^[-+]([^-+]|$)' || true
done
