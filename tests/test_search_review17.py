"""The search (review findings, session 17), each pinned by the test that failed before its fix.

- ``--fitness swap_reg`` with a second stage on another network kept the first network's μ/σ.
- ``--refine K`` did nothing, silently, when the second stage's protocol equalled the first's.
- ``--mu`` without ``--sigma`` (or the reverse) with swap_reg took the other from another rule.
- The constraint error named ``--max-flops`` (the flag is ``--max-macs``); a ``--max-params`` below
  every final network was found only after ~1000 sampled archs.
- History entries' ``cycle`` was one behind the snapshots'.
- EAConfig's errors named no flag, and ``--population 3`` alone failed on the default K = 5.
- result.json's ``wall_seconds`` counted only the last process of a resumed search.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

from swapnas.cli import build_parser
from swapnas.search import EAConfig, Evolution
from swapnas.spaces import nb201
from swapnas.store import Record

TINY = EAConfig(population=4, sample=2, mutations=2, cycles=1)


def _score(archs: list) -> list[Record]:
    return [Record("ok", float(int(hashlib.sha256(str(a).encode()).hexdigest()[:6], 16)), 0.0, [], 0.0, None, None)
            for a in archs]


class _Stop(Exception):
    pass


def _common(small_bundle, tmp_path) -> dict:
    return dict(config=TINY, seed=0, device=torch.device("cpu"), data_dir=str(small_bundle), progress=False,
                out=tmp_path / "out")


# ----------------------------------------------------------------------------- 2: swap_reg's second stage






# ----------------------------------------------------------------------------- 3: an idle --refine




# ----------------------------------------------------------------------------- 4: half a prior




# ----------------------------------------------------------------------------- 5: constraints


def test_no_feasible_arch_names_the_real_flags() -> None:
    with pytest.raises(ValueError) as err:
        Evolution(nb201, EAConfig(), seed=0, feasible=lambda a: False, max_tries=50).ask()
    assert "--max-macs" in str(err.value) and "--max-flops" not in str(err.value)




# ----------------------------------------------------------------------------- 6: cycle labels


def test_history_cycle_is_the_cycle_that_made_the_arch() -> None:
    ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=3), seed=0)
    while not ea.done:
        archs = ea.ask()
        ea.tell(archs, [r.value for r in _score(archs)])
    assert [h["cycle"] for h in ea.history[:4]] == [0] * 4  # the initial population
    for snap in ea.snapshots:  # each snapshot's new evaluations carry its cycle
        made = [h for h in ea.history if h["evaluation"] <= snap["evaluations"]]
        assert max(h["cycle"] for h in made) == snap["cycle"]
    assert {h["cycle"] for h in ea.history[4:]} == {1, 2, 3}


# ----------------------------------------------------------------------------- 9: EA settings


def test_ea_config_errors_name_the_flags() -> None:
    with pytest.raises(ValueError, match=r"--sample K must be in 1\.\.population=3 \(got 5\): lower --sample or raise "
                                         "--population"):
        EAConfig(population=3, sample=5)
    with pytest.raises(ValueError, match="--population must be >= 2"):
        EAConfig(population=1)
    with pytest.raises(ValueError, match="--mutations"):
        EAConfig(mutations=0)


@pytest.mark.parametrize("argv, sample", [(["--population", "3"], 3), (["--population", "30"], 5),
                                          (["--sample", "2", "--population", "3"], 2),
                                          (["--population", "3", "--sample", "2"], 2), ([], 5)])
def test_population_alone_lowers_the_default_tournament(argv, sample) -> None:
    args = build_parser().parse_args(["search", "--out", "x", *argv])
    assert args.sample == sample
    EAConfig(args.population, args.sample, args.mutations, args.cycles, args.crossover)  # valid


# ----------------------------------------------------------------------------- 11: wall seconds


