"""The store tools on large stores: wall time and peak memory of ``swapnas export`` (csv, naslib-zc), ``store
merge``, ``store salvage`` and ``store check`` on a synthetic store of ``--archs`` NB201 archs × ``--proxies`` ×
``--settings`` rows.

The store is made with the package's own API (``ScoreStore.insert_rows``; ``Protocol.key`` builds every key; each
setting is a protocol of its own seed and batch digest, described in the store as a run describes it; values are
log-normal draws, 1 % failures), in ``--work`` (kept: a second run reuses it). Each tool runs in a fresh process;
``resource``'s ``ru_maxrss`` of that process is its peak resident memory. With ``--src DIR`` every tool runs under
that checkout's ``src`` too (e.g. a ``git worktree`` of an older commit), in the same run, and the outputs of both
are compared: the csv byte for byte, the naslib-zc JSON but for its provenance, the merged and salvaged stores
row for row, the check's JSON report byte for byte.

    python perf/store_scale.py --data-dir ../shared/data --work runs/store_scale [--archs 15625] [--settings 2]
        [--src /tmp/old/src]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
from contextlib import closing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
PROXIES = ("params", "flops", "swap", "synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot",
           "l2_norm", "zico", "meco", "plain", "swap_ext", "te_nas_lr", "te_nas_ntk", "vkdnw_layers", "zen")


def nb201_archs(data_dir: str, n: int) -> list[str]:
    """The benchmark's first ``n`` NB201 archs."""
    from swapnas.benchmarks import get_benchmark

    return [str(a) for a in get_benchmark("nb201", data_dir).archs_for("cifar10")][:n]


def make_store(path: Path, archs: list[str], settings: list[int], proxies: tuple[str, ...], seed: int) -> int:
    """A store at ``path`` with ``archs`` × ``proxies`` under each setting (a seed of its own and a batch digest
    that tells the setting apart); the rows written."""
    from swapnas.proxies import get_proxy
    from swapnas.scoring import Protocol
    from swapnas.store import ScoreStore

    rng, made = random.Random(seed), 0
    with ScoreStore(path) as store:
        for s in settings:
            protocol = Protocol("nb201", "cifar10", 16, repeats=2, seed=s, net={"C": 16, "N": 1},
                                batch_digest=f"synthetic-{s}")
            store.add_protocol(protocol.fingerprint, protocol.describe())
            rows = []
            for arch in archs:
                for name in proxies:
                    key = protocol.key(arch, get_proxy(name)).as_tuple()
                    if rng.random() < 0.01:
                        rows.append((*key, "failed", None, None, "[]", 0.1, None, "RuntimeError: synthetic", "cpu",
                                     1.7e9))
                        continue
                    values = [rng.lognormvariate(9, 1) for _ in range(protocol.repeats)]
                    mean = sum(values) / len(values)
                    rows.append((*key, "ok", mean, abs(values[0] - mean), json.dumps(values), 0.05, 1 << 20, None,
                                 "cpu", 1.7e9))
            made += store.insert_rows(rows)[0]
    return made


def run(src: Path, args: list[str], stdout: Path) -> tuple[float, float]:
    """``python -m swapnas ARGS`` under ``src``, its output written to ``stdout``: its wall seconds and peak
    resident memory (MiB)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryFile() as log, open(stdout, "wb") as out:  # (not pipes: a child blocks on a full one)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "swapnas", *args], env=env, stdout=out, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        log.seek(0)
        err = log.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"swapnas {' '.join(args)} failed under {src}:\n{err}")
    return wall, usage.ru_maxrss / 1024


def table_rows(path: Path) -> list[tuple]:
    """Every score row of the store at ``path``, sorted (the merged and salvaged stores are compared by these)."""
    with closing(sqlite3.connect(path)) as db:
        return sorted(db.execute("SELECT * FROM scores").fetchall(), key=repr)


def jobs(work: Path, tag: str, big: Path, small: Path) -> dict[str, list[str]]:
    """Each tool's command line, its outputs under ``work/tag``."""
    out = work / tag
    return {
        "export csv": ["export", str(big), "--format", "csv", "--out", str(out / "scores.csv")],
        "export naslib-zc (one protocol)": ["export", str(big), "--format", "naslib-zc", "--protocol",
                                            _first_protocol(big), "--out", str(out / "zc.json")],
        "store merge (the small store into a copy of the big one)": [
            "store", "merge", str(small), "--into", str(out / "merged.sqlite")],
        "store salvage": ["store", "salvage", str(big), "--out", str(out / "salvaged.sqlite")],
        "store check": ["store", "check", str(big), "--json"],
    }


def _first_protocol(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT MIN(protocol) FROM scores").fetchone()[0])


def prepare(work: Path, tag: str, big: Path) -> None:
    """A fresh output folder for ``tag``, with the copy of the big store that the merge goes into."""
    out = work / tag
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    with closing(sqlite3.connect(big)) as src, closing(sqlite3.connect(out / "merged.sqlite")) as dst:
        src.backup(dst)


def same_outputs(work: Path, a: str, b: str) -> list[str]:
    """What differs between the outputs of ``a`` and ``b`` (empty: the same)."""
    diffs = []
    if (work / a / "scores.csv").read_bytes() != (work / b / "scores.csv").read_bytes():
        diffs.append("scores.csv")
    docs = [json.loads((work / t / "zc.json").read_text(encoding="utf-8")) for t in (a, b)]
    if docs[0] | {"provenance": None} != docs[1] | {"provenance": None}:
        diffs.append("zc.json")
    if docs[0]["provenance"].get("settings") != docs[1]["provenance"].get("settings"):
        diffs.append("zc.json's settings")
    if (work / a / "check.out").read_bytes() != (work / b / "check.out").read_bytes():
        diffs.append("store check's report")
    for name in ("merged.sqlite", "salvaged.sqlite"):
        if table_rows(work / a / name) != table_rows(work / b / name):
            diffs.append(name)
    return diffs


def _folder(tag: str) -> str:
    """The outputs' folder of a column (session 63: the --src column's was "--src", which `ls` takes as a flag)."""
    return tag.removeprefix("--").replace(" ", "_")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", required=True, help="folder for the stores and the outputs (kept)")
    ap.add_argument("--archs", type=int, default=15625)
    ap.add_argument("--settings", type=int, default=1, help="settings (protocols) of every arch and proxy")
    ap.add_argument("--src", type=Path, default=None, help="another checkout's src, run beside this one")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    big = work / f"big_{a.archs}x{len(PROXIES)}x{a.settings}.sqlite"
    # named by its setting (--settings): a reused --work with other --settings must not merge a setting the big
    # store holds (session 66: small.sqlite was kept whatever --settings made it)
    small = work / f"small_setting{a.settings}.sqlite"
    if not big.exists():
        rows = make_store(big, nb201_archs(a.data_dir, a.archs), list(range(a.settings)), PROXIES, seed=0)
        print(f"made {big}: {rows:,} rows, {big.stat().st_size / 2**20:.0f} MiB", flush=True)
    if not small.exists():  # 50 archs under a setting of their own: every row is new to the big store
        make_store(small, nb201_archs(a.data_dir, 50), [a.settings], PROXIES[:3], seed=1)
    with closing(sqlite3.connect(big)) as db:
        n = db.execute("SELECT count(*) FROM scores").fetchone()[0]
    checkouts = {"this checkout": HERE, **({"--src checkout": a.src} if a.src else {})}
    print(f"{n:,} rows; each tool in a fresh process (wall s, peak RSS MiB)\n")
    print("| tool | " + " | ".join(checkouts) + " |")
    print("|---|" + "---|" * len(checkouts))
    for tag in checkouts:
        prepare(work, _folder(tag), big)
    names = list(jobs(work, "x", big, small))
    for name in names:
        cells = []
        for tag, src in checkouts.items():
            folder = work / _folder(tag)
            wall, rss = run(src, jobs(work, folder.name, big, small)[name], folder / f"{name.split()[1]}.out")
            cells.append(f"{wall:.1f} s, {rss:.0f} MiB")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if a.src:
        diffs = same_outputs(work, "this_checkout", "src_checkout")
        print("\noutputs: " + ("the same (csv byte for byte, naslib-zc but its provenance, merged and salvaged "
                               "stores row for row, store check's JSON report byte for byte)"
                               if not diffs else "DIFFER in " + ", ".join(diffs)))


if __name__ == "__main__":
    main()
