"""``swapnas export``: a score store as CSV, or in NASLib's zero-cost JSON layout.

- ``csv``: one row per stored score (failures included) with every key column, so the store
  can be read without SQLite.
- ``naslib-zc``: ``{space: {arch: {proxy: {"score": value, "time": seconds}}}}``, NASLib's
  ``zc_*.json`` nesting, arch keys in NASLib's encoding where the space has one
  (``to_naslib``; nb201 and others without one keep our canonical string). Only successful scores;
  when one (space, arch, proxy) was stored under several protocols, ``--protocol`` picks one
  (default: it must be unique).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .results import provenance, strict_json
from .spaces import SPACES, get_space
from .store import ScoreStore

FORMATS = ("csv", "naslib-zc")


def _arch_key(space: str, arch: str) -> str:
    mod = get_space(space) if space in SPACES else None
    to_naslib = getattr(mod, "to_naslib", None)
    if mod is None or to_naslib is None:
        return arch
    try:
        return to_naslib(mod.parse(arch))
    except ValueError:  # an arch NASLib cannot encode (e.g. a DARTS 'none' op): our string
        return arch


def export(store_path: str | os.PathLike, out: str | os.PathLike, fmt: str = "csv",
           protocol: str | None = None) -> Path:
    """Write the store at ``store_path`` to ``out`` in ``fmt`` (``FORMATS``); the path written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not Path(store_path).is_file():
        raise FileNotFoundError(f"no score store at {store_path} (the --store of a correlate/grid/search run)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with ScoreStore(store_path) as store:
        rows = store.rows()
    if fmt == "csv":
        with out.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(ScoreStore.COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
        return out
    ok = [r for r in rows if r["status"] == "ok" and (protocol is None or r["protocol"] == protocol)]
    doc: dict = {}
    seen: dict[tuple, str] = {}
    for r in ok:
        where = (r["space"], r["arch"], r["proxy"])
        if where in seen and seen[where] != r["protocol"]:
            raise ValueError(f"{r['proxy']} of {r['arch']} is stored under protocols {seen[where]} and "
                             f"{r['protocol']}: choose one with --protocol")
        seen[where] = r["protocol"]
        arch = doc.setdefault(r["space"], {}).setdefault(_arch_key(r["space"], r["arch"]), {})
        arch[r["proxy"].split("@")[0]] = {"score": r["value"], "time": r["seconds"]}
    out.write_text(strict_json({"provenance": provenance(), **doc}))
    return out


__all__ = ["FORMATS", "export"]
