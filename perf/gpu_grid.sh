#!/usr/bin/env bash
# The NB201 all-metric table for one dataset on a GPU machine: K shard processes share the GPU
# and one score store; afterwards `swapnas correlate --proxies all … --store STORE` prints the
# table from the store. Usage: bash perf/gpu_grid.sh DATA_DIR OUT_DIR DATASET [K] [SECONDS]
set -uo pipefail
DATA=$1; OUT=$2; DS=$3; K=${4:-14}; SECS=${5:-230}
export PYTHONPATH=src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p "$OUT"
for i in $(seq 0 $((K - 1))); do
  timeout "$SECS" python -m swapnas.cli correlate --space nb201 --dataset "$DS" --proxies all --archs 1000 --seed 0 \
    --data-dir "$DATA" --device cuda --store "$OUT/grid_$DS.sqlite" --out "$OUT/shard$i" --shard "$i/$K" \
    --no-progress > "$OUT/shard$i.log" 2>&1 &
done
wait
python - "$OUT/grid_$DS.sqlite" <<'PY'
import sqlite3, sys
from swapnas.scoring import with_bases
from swapnas.session import resolve_for
# what the shards store per arch: the per-arch proxies `all` resolves to (set-level ones bring their
# parts and have no row of their own) plus the bases of the derived ones, as score_arch stores them
need = len(with_bases(resolve_for("nb201", "all")))
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rows = db.execute("SELECT proxy, status, COUNT(*), AVG(seconds), MAX(peak_mem_bytes) FROM scores GROUP BY proxy, status").fetchall()
for r in rows:
    print(*r)
ok = db.execute("SELECT COUNT(*) FROM (SELECT arch FROM scores WHERE status = 'ok' GROUP BY arch "
                "HAVING COUNT(DISTINCT proxy) >= ?)", (need,)).fetchone()[0]
print(f"archs complete (all {need} per-arch proxies ok):", ok)
db.close()
PY
tail -qn 2 "$OUT"/shard*.log > "$OUT/logs_grid.txt"; rm -rf "$OUT"/shard*
