"""SWAP variants on dev data: does a per-layer or entropy form of the pattern count rank better?

For every arch of each given dev run (a ``swapnas correlate`` results.json on a dev set,
docs/protocol.md), the run's own scored network is rebuilt under the run's protocol (same
seed, init, batch) and one forward pass records each hooked ReLU map's S-bit pattern of every
neuron (repeated inputs taken once, as ``swap_score`` does). From the same patterns:

- ``swap``: distinct patterns over all maps together (the SWAP-Score; checked equal to the run's
  stored value, arch by arch);
- ``layer_logsum``: Σ_l ln Ψ_l, Ψ_l the distinct patterns of map l alone;
- ``layer_logmean``: the mean of ln Ψ_l;
- ``layer_norm``: the mean of Ψ_l / min(2^S, neurons of map l);
- ``union_entropy``: Shannon entropy of the pattern frequencies over all neurons;
- ``layer_entropy``: Σ_l of each map's pattern entropy;
- ``maps``: the number of maps taken (a depth count).

The table gives each variant's Spearman ρ with the run's accuracy, alone (ln of counts) and
added to a fitness (``best`` in the table: ``--fitness``, by default the one each space
recommended when docs/generated/dev/swap_variants.md was made: ``swap_prog`` on NB201,
``swap_darts`` on DARTS) as a z-scored term with weights from a fixed grid. The fitness is
computed from the run's stored scores of its bases, so the runs must have scored them.
Every figure is in-sample (dev labels); nothing here changes a default unless it wins.

    python scripts/swap_variants_dev.py runs/dev_nb201_c10_R1_default/results.json \\
        runs/dev_darts_swap_C_8_layers_5_default/results.json runs/dev_nb301_C_8_layers_5_default/results.json \\
        --data-dir ../shared/data --out docs/generated/dev/swap_variants.md
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from swapnas.patterns import hooked_activations
from swapnas.proxies import get_proxy
from swapnas.scoring import build_scored_net
from swapnas.session import best_for, stored_run
from swapnas.spaces import get_space

from choose_fitness import check_dev  # scripts/ is on sys.path when run as a script

VARIANTS = ("swap", "layer_logsum", "layer_logmean", "layer_norm", "union_entropy", "layer_entropy", "maps")
WEIGHTS = (-0.5, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.5)


def _entropy(counts: torch.Tensor) -> float:
    c = counts[counts > 0].double()
    q = c / c.sum()
    return float(-(q * q.log()).sum())


def arch_variants(model: torch.nn.Module, inputs: torch.Tensor) -> dict[str, float]:
    """Every variant of one network's patterns on one batch (S ≤ 20: pattern index by one product)."""
    s = inputs.shape[0]
    weights = torch.ldexp(torch.ones(1, s), torch.arange(s))
    maps: list[torch.Tensor] = []

    def sink(out: torch.Tensor) -> None:
        bits = (out.reshape(s, -1) > 0).float()
        maps.append(torch.bincount(torch.mm(weights, bits).view(-1).to(torch.int64), minlength=2**s))

    with hooked_activations(model, sink=sink, skip_repeats=True), torch.no_grad():
        model(inputs)
    psi = [int((c > 0).sum()) for c in maps]
    ceilings = [min(2**s, int(c.sum())) for c in maps]
    union = torch.stack(maps).sum(0)
    return {"swap": float((union > 0).sum()), "layer_logsum": sum(math.log(p) for p in psi),
            "layer_logmean": float(np.mean([math.log(p) for p in psi])),
            "layer_norm": float(np.mean([p / c for p, c in zip(psi, ceilings)])),
            "union_entropy": _entropy(union), "layer_entropy": sum(_entropy(c) for c in maps), "maps": float(len(maps))}


def run_variants(doc: dict, data_dir: str) -> dict[str, np.ndarray]:
    failed = [a for a, v in zip(doc["archs"], doc["scores"]["swap"]) if v is None]
    if failed:  # checked before any network is built; a null swap would also read as "not the run's protocol" below
        raise SystemExit(f"the run's swap failed on {len(failed)} archs (first {failed[0]}): rescore them first")
    prot, batch = stored_run(doc["protocol"], data_dir)
    space = get_space(prot.space)
    rows = []
    for arch in tqdm(doc["archs"], desc=prot.space, unit="arch"):
        model = build_scored_net(space.build, space.parse(arch), prot, batch.num_classes, 0, torch.device("cpu"))
        rows.append(arch_variants(model, batch.inputs))
    out = {k: np.array([r[k] for r in rows]) for k in VARIANTS}
    stored = np.array(doc["scores"]["swap"], dtype=float)
    if not np.array_equal(out["swap"], stored):
        i = int(np.flatnonzero(out["swap"] != stored)[0])
        raise SystemExit(f"the recomputed SWAP differs from the run's stored swap (first at {doc['archs'][i]}: "
                         f"{out['swap'][i]:g} against {stored[i]:g}): not the run's protocol")
    return out


#: the fitness of each space that docs/generated/dev/swap_variants.md was made with (the spaces'
#: ``best`` at the time); a space not listed takes its current ``best`` (session.best_for)
DOCUMENTED_FITNESS = "nb201=swap_prog,darts=swap_darts"


def parse_fitness(spec: str) -> dict[str | None, str]:
    """``--fitness``: ``NAME`` (every run) or comma-separated ``SPACE=NAME``; key None = every space."""
    out: dict[str | None, str] = {}
    for item in filter(None, (x.strip() for x in spec.split(","))):
        space, _, name = item.rpartition("=")
        name = name.strip()  # "nb201 = swap_prog" names swap_prog, as the space's name is stripped too
        get_proxy(name)  # an unknown proxy name is an error here, before any network is built
        out[space.strip() or None] = name
    return out


def fitness_name(space: str, fitness: dict[str | None, str]) -> str:
    return fitness.get(space) or fitness.get(None) or best_for(space)


def _fitness(doc: dict, name: str, run: str = "the run") -> np.ndarray:
    """Fitness ``name`` per arch, from the run's stored scores (of its bases, for a derived proxy),
    computed by the registered proxy itself."""
    proxy = get_proxy(name)
    if proxy.parts:
        raise SystemExit(f"--fitness {name}: a set-level proxy; give a per-arch or derived one")
    needed = proxy.base_names or (proxy.name,)
    missing = [b for b in needed if b not in doc["scores"]]
    if missing:
        what = f"{', '.join(missing)} (base{'s' if len(missing) > 1 else ''} of fitness {name})" \
            if proxy.base_names else f"fitness {name}"
        raise SystemExit(f"{run}: no stored scores of {what}; the run has {', '.join(sorted(doc['scores']))}. "
                         f"Choose another --fitness (documented: {DOCUMENTED_FITNESS}) or score the run with it.")
    nulls = [f"{b} on {doc['scores'][b].count(None)} archs" for b in needed if None in doc["scores"][b]]
    if nulls:  # a derived fitness raised a TypeError on a null; a stored one made every ρ nan, silently
        raise SystemExit(f"{run}: no value of {', '.join(nulls)} (failed scores) for fitness {name}: rescore them "
                         "or choose another --fitness")
    if not proxy.base_names:
        return np.array(doc["scores"][name], dtype=float)
    bases = [doc["scores"][b] for b in needed]
    return np.array([proxy.fn(values, None, **proxy.options) for values in zip(*bases)])


def scans(doc: dict, var: dict[str, np.ndarray], base: np.ndarray) -> dict[str, dict[float, float]]:
    """Per variant: ρ alone (key None) and ρ of best + w · z(variant) for every w of the grid (key w);
    ``base``: the fitness (``best``) per arch."""
    acc = np.array(doc["accuracy"], dtype=float)
    rho = lambda x: float(stats.spearmanr(x, acc)[0])  # noqa: E731
    out = {}
    for k in VARIANTS:
        x = var[k]
        z = (x - x.mean()) / x.std() if x.std() > 0 else np.zeros_like(x)
        out[k] = {None: rho(x), 0.0: rho(base), **{w: rho(base + w * z) for w in WEIGHTS}}
    return out


def table(name: str, n: int, scan: dict[str, dict]) -> list[str]:
    lines = [f"### {name} ({n} archs; `best` on the stored components: ρ {scan['swap'][0.0]:.3f})", "",
             "| variant | ρ alone | best + w · z(variant): best ρ (w) | ρ at w = ±0.1 |", "|---|---|---|---|"]
    for k, sc in scan.items():
        top = max(WEIGHTS, key=sc.get)
        lines.append(f"| {k} | {sc[None]:.3f} | {sc[top]:.3f} ({top:+g}) | {sc[-0.1]:.3f} / {sc[0.1]:.3f} |")
    return lines + [""]


def joint(space: str, names: list[str], scan_list: list[dict[str, dict]]) -> list[str]:
    """One weight for all dev runs of a space, chosen by the worst ρ over them (the repository's rule)."""
    lines = [f"### {space}: one w for all {len(names)} dev runs, by the worst ρ (w = 0: `best` as it is)", "",
             f"| variant | w | worst ρ | {' | '.join(names)} |", "|---|---|---|" + "---|" * len(names)]
    for k in VARIANTS:
        top = max((0.0, *WEIGHTS), key=lambda w: min(sc[k][w] for sc in scan_list))
        per = [sc[k][top] for sc in scan_list]
        lines.append(f"| {k} | {top:+g} | {min(per):.3f} | {' | '.join(f'{r:.3f}' for r in per)} |")
    return lines + [""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("runs", nargs="+", help="dev runs' results.json")
    ap.add_argument("--data-dir", default="../shared/data", help="the swapnas data bundle")
    ap.add_argument("--out", default="docs/generated/dev/swap_variants.md", help="the markdown table to write")
    ap.add_argument("--fitness", default=DOCUMENTED_FITNESS, metavar="NAME|SPACE=NAME,…",
                    help="the fitness the variants are added to (`best` in the table), computed from the run's "
                         "stored scores: one proxy name for every run, or SPACE=NAME pairs (a space not named takes "
                         "its current `best`); the default is the documented table's")
    args = ap.parse_args()
    try:
        fitness = parse_fitness(args.fitness)
    except (KeyError, ValueError) as e:
        ap.error(f"--fitness: {e}")
    torch.set_num_threads(1)
    lines = ["SWAP variants on dev data (`python scripts/swap_variants_dev.py` with the runs below); every "
             "figure is in-sample. z(variant): the variant standardised over the run's archs.", ""]
    by_space: dict[str, list[tuple[str, dict]]] = {}
    for path in args.runs:
        doc = json.loads(Path(path).read_text())
        check_dev(doc, path)  # a variant or weight that wins here would be adopted: dev labels only
        base = _fitness(doc, fitness_name(doc["protocol"]["space"], fitness), path)  # before the slow part
        scan = scans(doc, run_variants(doc, args.data_dir), base)
        lines += table(f"`{path}`", len(doc["archs"]), scan)
        by_space.setdefault(doc["protocol"]["space"], []).append((Path(path).parent.name, scan))
    for space, runs in by_space.items():
        if len(runs) > 1:
            lines += joint(space, [n for n, _ in runs], [sc for _, sc in runs])
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
