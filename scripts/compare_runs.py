"""Are two runs identical? Compares two ``results.json`` (correlate: archs, per-arch scores,
ρ, τ, CIs, P@10%, each proxy's key), two ``grid.json`` (grid: each column's arch sample, by its seed and count,
since grid.json records no archs, and each metric's figures there) or two ``result.json`` (search: the returned
arch, its fitness, every evaluation in order, the second stage, and what the run reports of the arch: its final size and
multiply-adds, the fitness's key, μ/σ, the limits and the benchmark figures). Prints one line per
checked field and exits 1 if any differs.

A field that only one of the two files holds because it was added to the output after the older run
(``LATER_FIELDS``, and each benchmark figure under a search's ``extra``, e.g. session 25's ``datasets``) is listed
as not compared; every other field must be equal, and a metric only one run scored differs in each of its figures.

    python scripts/compare_runs.py runs/nb201_cifar100/results.json runs/refactor_check/readme_c100/results.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys

#: search fields beside the evaluations: what result.json reports of the run and of its returned arch
SEARCH_REPORTED = ("fitness_proxy", "params_m", "macs_m", "mu", "sigma", "size_mapping", "constraints", "extra",
                   "config", "cycles", "seed", "space", "dataset", "fitness_negated")
#: fields compared only when both files hold them (results written before the field existed lack it)
LATER_FIELDS = frozenset(SEARCH_REPORTED) | {"key", "top10_precision", "options"}
_ABSENT = object()


def _figures(results: list[dict], prefix: str = "") -> dict[str, object]:
    """Each metric's figures in a correlate's or a grid column's ``results``."""
    out: dict[str, object] = {}
    for r in results:
        for k in ("spearman", "kendall", "spearman_ci", "top10_spearman", "spearman_given_params", "n", "failures"):
            out[f"{prefix}{r['proxy']} {k}"] = r[k]
        out[f"{prefix}{r['proxy']} key"] = r.get("key", _ABSENT)
        if "top10_precision" in r:  # P@10%, since session 56
            out[f"{prefix}{r['proxy']} top10_precision"] = r["top10_precision"]
        if r.get("options") is not None:  # at full precision, since session 69
            out[f"{prefix}{r['proxy']} options"] = r["options"]
    return out


def _fields(doc: dict) -> dict[str, object]:
    if "results" in doc:  # correlate
        out: dict[str, object] = {"archs": doc["archs"], "accuracy": doc["accuracy"]}
        out |= {f"{r['proxy']} scores": doc["scores"][r["proxy"]] for r in doc["results"]}
        return out | _figures(doc["results"])
    if "columns" in doc:  # grid (until session 57 a KeyError)
        out = {}
        for c in doc["columns"]:
            label = f"{c['benchmark']}/{c['task']} "
            out[f"{label}n_archs"] = c["n_archs"]
            out[f"{label}seed"] = c.get("protocol", {}).get("seed", _ABSENT)  # (with n_archs, the archs: 69)
            out |= _figures(c["results"], label)
        return out
    if "best" not in doc:
        raise SystemExit("compare_runs.py compares two results.json (correlate), grid.json (grid) or result.json "
                         "(search); this file holds none of them")
    out = {"best": doc["best"], "fitness": doc["fitness"], "evaluations": doc["evaluations"],
           "history": [(h["arch"], h["fitness"]) for h in doc["history"]], "refine": doc.get("refine")}
    extra = doc.get("extra") or {}  # the benchmark figures, key by key: later runs report more of them
    return (out | {k: doc.get(k, _ABSENT) for k in SEARCH_REPORTED if k != "extra"}
            | {f"extra {k}": v for k, v in extra.items()})


def _later(key: str, a: dict[str, object], b: dict[str, object]) -> bool:
    """Whether ``key`` may be in one run only because it was added to the output later: a metric's figure only where
    both runs scored the metric (session 69: one that only one run scored was "added to the output since")."""
    row, _, field = key.rpartition(" ")
    if field in ("key", "top10_precision", "options"):
        return f"{row} n" in a and f"{row} n" in b
    return key.startswith("extra ") or field in LATER_FIELDS


def _both_nan(a: object, b: object) -> bool:
    """NaN == NaN: results written before strict JSON (de4346f) hold NaN tokens, e.g. params' ρ|params."""
    return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)


def compare(a: dict[str, object], b: dict[str, object]) -> tuple[bool, list[str]]:
    """(same, one line per field) of two runs' fields."""
    same, lines = True, []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, _ABSENT), b.get(key, _ABSENT)
        if _later(key, a, b) and (va is _ABSENT) != (vb is _ABSENT):
            lines.append(f"not compared  {key}: in one run only (added to the output since the other)")
            continue
        ok = va == vb or _both_nan(va, vb)
        same &= ok
        shown = va if not isinstance(va, list) else f"{len(va)} values"
        lines.append(f"{'identical' if ok else 'DIFFERENT'}  {key}: {'absent' if va is _ABSENT else shown}")
    return same, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    a, b = (_fields(json.load(open(p))) for p in (args.a, args.b))
    same, lines = compare(a, b)
    print("\n".join(lines))
    print("IDENTICAL" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
