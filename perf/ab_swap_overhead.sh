#!/usr/bin/env bash
# swap_score against a forward pass where both are overhead-bound (NB201 C=16 N=5, S=64, 4x4 inputs: little arithmetic,
# as small networks on a GPU), for two source trees, alternated twice in one run (old, new, old, new).
# Usage: git worktree add /tmp/old REV; bash perf/ab_swap_overhead.sh /tmp/old/src [NEW_SRC, default src]
set -uo pipefail
OLD=$1; NEW=${2:-src}
for i in 1 2; do
  for tree in "$OLD" "$NEW"; do
    echo "== $tree, run $i"
    PYTHONPATH=$tree OMP_NUM_THREADS=1 python perf/swap_cost.py --device cpu --only "full net C16 N5, S=64" \
      --resolution 4 --archs 20 --repeat 7 2>&1 | grep -v "Warning\|swap_score(" | tail -n 1
  done
done
