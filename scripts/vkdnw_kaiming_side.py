"""VKDNW under the authors' init: re-score ``vkdnw`` of a stored conformance run after Kaiming-normal init.

The VKDNW authors initialise with Kaiming-normal fan-in (ReLU gain) Conv/Linear weights, zero biases and
BatchNorm γ = 1, β = 0; the CLI offers only ``--init gaussian`` or ``default``. This side check rebuilds
every arch of a ``swapnas correlate … --proxies vkdnw,vkdnw_single,vkdnw_agg`` run exactly as the run did
(its protocol, batch and per-arch build seed), re-initialises it that way (weights drawn from a generator
seeded per arch), scores ``vkdnw`` and re-ranks ``vkdnw_single`` / ``vkdnw_agg`` with the run's other parts.
It reads the run's ground truth only to report ρ (analysis; it chooses nothing).

    python scripts/vkdnw_kaiming_side.py runs/vkdnw_conf_c10/results.json --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy import stats
from torch import nn

from swapnas.correlation import set_level_records
from swapnas.proxies import get_proxy
from swapnas.scoring import arch_seed, build_scored_net
from swapnas.session import stored_run
from swapnas.spaces import get_space
from swapnas.store import Record


def kaiming_init(model: nn.Module, generator: torch.Generator) -> None:
    """The authors' init: Kaiming-normal fan-in (ReLU gain) Conv/Linear weights, zero biases, BN γ=1, β=0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                std = (2.0 / nn.init._calculate_fan_in_and_fan_out(m.weight)[0]) ** 0.5
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._NormBase) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


def _records(values: list) -> list[Record]:
    return [Record("ok", float(v), 0.0, [float(v)], 0.0, None, None) if v is not None else
            Record("failed", None, None, [], 0.0, None, "failed in the run") for v in values]


def _rho(x: list, y) -> float:
    """Spearman ρ over the archs with a value on both sides (results.json holds a score that failed as null;
    correlate's ρ leaves such archs out the same way)."""
    a, b = (np.array([np.nan if v is None else v for v in s], dtype=float) for s in (x, y))
    ok = np.isfinite(a) & np.isfinite(b)
    return float(stats.spearmanr(a[ok], b[ok])[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="results.json of the vkdnw conformance run")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    doc = json.loads(open(args.run).read())
    protocol, batch = stored_run(doc["protocol"], args.data_dir)
    build, vkdnw = get_space(protocol.space).build, get_proxy("vkdnw")
    t0, cpu0, kaiming = time.perf_counter(), time.process_time(), []
    for arch in doc["archs"]:
        model = build_scored_net(build, get_space(protocol.space).parse(arch), protocol, batch.num_classes, 0,
                                 torch.device("cpu"))
        kaiming_init(model, torch.Generator().manual_seed(arch_seed(protocol.seed, protocol.space, arch, 0)))
        kaiming.append(vkdnw.fn(model, batch, **vkdnw.options))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    acc = np.array(doc["accuracy"])
    parts = {name: _records(doc["scores"][name]) for name in get_proxy("vkdnw_agg").parts}
    rows = []
    for label, values in (("PyTorch default init (the run)", doc["scores"]["vkdnw"]), ("Kaiming-normal (authors)", kaiming)):
        parts["vkdnw"] = _records(values)
        single = [r.value for r in set_level_records(get_proxy("vkdnw_single"), parts)]
        agg = set_level_records(get_proxy("vkdnw_agg"), parts)
        ok = np.array([r.ok for r in agg])
        rows.append((label, _rho(values, acc), _rho(single, acc), _rho([r.value for r in agg], acc), int(ok.sum())))
    print("| init | vkdnw ρ | vkdnw_single ρ | vkdnw_agg ρ (n) |\n|---|---|---|---|")
    for label, v, s, a, n in rows:
        print(f"| {label} | {v:.3f} | {s:.3f} | {a:.3f} ({n}) |")
    print(f"per-arch VKDNW, default vs Kaiming init: ρ = {_rho(doc['scores']['vkdnw'], kaiming):.3f}; "
          f"{len(kaiming)} archs in {wall:.0f} s wall, {cpu:.0f} s CPU ({wall / len(kaiming):.1f} s per arch)")


if __name__ == "__main__":
    main()
