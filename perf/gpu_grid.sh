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
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rows = db.execute("SELECT proxy, status, COUNT(*), AVG(seconds), MAX(peak_mem_bytes) FROM scores GROUP BY proxy, status").fetchall()
for r in rows:
    print(*r)
print("archs complete:", db.execute("SELECT COUNT(*) FROM (SELECT arch FROM scores GROUP BY arch HAVING COUNT(*) >= 18)").fetchone()[0])
db.close()
PY
tail -qn 2 "$OUT"/shard*.log > "$OUT/logs_grid.txt"; rm -rf "$OUT"/shard*
