#!/usr/bin/env bash
# Order independence of the tests (a dev check, not part of CI): every test must pass whatever ran before it, so a
# test that leans on what an earlier one left behind (the global RNG state, the registry, an environment variable)
# is found. Runs the README's test command once per order given (tests/conftest.py reads SWAPNAS_TEST_ORDER):
#
#   bash scripts/test_order_check.sh                      # reverse, then shuffle:1 (9 and 11 min in session 35)
#   bash scripts/test_order_check.sh shuffle:7 -- -m "not slow"   # the orders, then pytest's own arguments
#
# Session 35 found one such test by chance (mutmut runs tests in its own order): test_az_nas's probe test passed only
# after a test that ended by seeding the global RNG (docs/reliability.md, "Session 35").
set -uo pipefail
cd "$(dirname "$0")/.."
orders=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do orders+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#orders[@]} -gt 0 ] || orders=(reverse shuffle:1)
export SWAPNAS_DATA="${SWAPNAS_DATA:-$(cd .. && pwd)/shared/data}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
status=0
for order in "${orders[@]}"; do
  echo "== SWAPNAS_TEST_ORDER=$order"
  # every failing test's line and the count (a tail could cut the list; the warnings would bury it)
  SWAPNAS_TEST_ORDER=$order python -m pytest -q -p no:cacheprovider tests "$@" |
    grep -E "^(FAILED |ERROR)|[0-9]+ (passed|failed|error)" || status=1
done
exit $status
