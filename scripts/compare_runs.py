"""Are two runs identical? Compares two ``results.json`` (correlate: archs, per-arch scores,
ρ, τ, CIs) or two ``result.json`` (search: the returned arch, its fitness, every evaluation
in order). Prints one line per checked field and exits 1 if any differs.

    python scripts/compare_runs.py runs/nb201_cifar100/results.json runs/refactor_check/readme_c100/results.json
"""

from __future__ import annotations

import argparse
import json
import sys


def _fields(doc: dict) -> dict[str, object]:
    if "results" in doc:  # correlate
        out: dict[str, object] = {"archs": doc["archs"], "accuracy": doc["accuracy"]}
        for r in doc["results"]:
            out[f"{r['proxy']} scores"] = doc["scores"][r["proxy"]]
            for k in ("spearman", "kendall", "spearman_ci", "top10_spearman", "spearman_given_params", "n", "failures"):
                out[f"{r['proxy']} {k}"] = r[k]
        return out
    return {"best": doc["best"], "fitness": doc["fitness"], "evaluations": doc["evaluations"],
            "history": [(h["arch"], h["fitness"]) for h in doc["history"]], "refine": doc.get("refine")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    a, b = (_fields(json.load(open(p))) for p in (args.a, args.b))
    same = True
    for key in sorted(set(a) | set(b)):
        ok = a.get(key) == b.get(key)
        same &= ok
        shown = a.get(key) if not isinstance(a.get(key), list) else f"{len(a.get(key))} values"
        print(f"{'identical' if ok else 'DIFFERENT'}  {key}: {shown}")
    print("IDENTICAL" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
