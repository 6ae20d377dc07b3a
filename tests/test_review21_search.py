"""The search (review findings, session 21), each pinned by a test that failed before its fix.

- A search whose every evaluation failed to score returned an arbitrary arch (the first sampled, fitness
  -inf) with exit 0 and no word of the failures; a search where some failed said nothing of them either.
- The initial population stopped after 1000 draws in all: ``--population 1000`` on NB201 (no constraint) got 677
  archs and a warning blaming the constraints; it now stops only after 1000 draws in a row bring nothing new.
- ``--max-macs`` below every final network was refused only after 1000 draws with a final-network size check
  each (about 13 min on NB201, an hour on DARTS); it is now refused before any draw, against the space's
  ``smallest_arch``.
"""

from __future__ import annotations

import logging

import pytest
import torch

from swapnas.proxies.registry import register
from swapnas.search import EAConfig, Evolution, driver, final_net, run_search
from swapnas.search.evolution import NoFeasibleArchs
from swapnas.spaces import nb201
from swapnas.store import ScoreStore

TINY = EAConfig(population=4, sample=2, mutations=2, cycles=2)


def _common(small_bundle, tmp_path) -> dict:
    return dict(config=TINY, seed=0, device=torch.device("cpu"), data_dir=str(small_bundle), progress=False,
                out=tmp_path / "out", net={"C": 4}, repeats=1, refine=0)


@pytest.fixture
def flaky_proxy(scratch_registry):
    """A proxy that fails on every network with an even number of convolutions (``always``: on every network)."""
    def make(always: bool) -> str:
        name = f"review21_{'always' if always else 'sometimes'}_fails"

        @register(name, version="1")
        def fails(model, batch) -> float:
            n = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
            if always or n % 2 == 0:
                raise RuntimeError("this proxy fails here")
            return float(n)

        return name

    return make


def test_a_search_whose_every_evaluation_failed_is_refused(small_bundle, tmp_path, flaky_proxy) -> None:
    with ScoreStore(tmp_path / "s.sqlite") as store, pytest.raises(ValueError) as err:
        run_search("nb201", "cifar10", store=store, fitness=flaky_proxy(True), **_common(small_bundle, tmp_path))
    text = str(err.value)  # was: an arbitrary arch returned with fitness -inf, exit 0, no word of the failures
    assert "all 8 evaluated archs failed to score" in text and "review21_always_fails@1" in text


def test_a_search_with_some_failed_evaluations_warns(small_bundle, tmp_path, flaky_proxy, caplog) -> None:
    monkey = pytest.MonkeyPatch()
    monkey.setattr(driver, "final_macs", lambda *a: 0.0)  # FlopCounterMode's first use imports torch._dynamo
    try:
        with ScoreStore(tmp_path / "s.sqlite") as store, caplog.at_level(logging.WARNING, logger="swapnas.search"):
            res = run_search("nb201", "cifar10", store=store, fitness=flaky_proxy(False),
                             **_common(small_bundle, tmp_path))
    finally:
        monkey.undo()
    failed = sum(h["fitness"] == float("-inf") for h in res.history)
    assert 0 < failed < len(res.history) and res.fitness > float("-inf")
    assert f"{failed} of the {len(res.history)} evaluated archs failed to score" in caplog.text


def test_a_large_initial_population_is_filled_when_the_space_allows(caplog) -> None:
    ea = Evolution(nb201, EAConfig(population=1000, sample=5, mutations=5, cycles=0), 0)
    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"):
        archs = ea.ask()  # was 677 archs and "the constraints leave few archs" (there are none)
    assert len(archs) == 1000 and len({nb201.iso_key(a) for a in archs}) == 1000 and "only" not in caplog.text
    draws: list[int] = []
    few = Evolution(nb201, EAConfig(population=1000, sample=5, mutations=5, cycles=0), 0,
                    feasible=lambda a: draws.append(1) or a.ops.count("none") == 6, max_tries=200)
    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"), \
            pytest.raises(ValueError, match=r"^random draws found 0 feasible distinct archs for the initial "
                                            r"population of 1000, and a search needs 2; loosen the constraints "
                                            r"\(--max-params / --max-macs\)$"):
        few.ask()  # one feasible arch: still refused after max_tries draws in a row bring nothing new
    assert len(draws) == 200 and few.seen == {}  # refused after max_tries draws in a row, none feasible here
    first: list[str] = []  # one arch feasible: the first drawn
    one = Evolution(nb201, EAConfig(population=10, sample=5, mutations=5, cycles=0), 0, max_tries=50,
                    feasible=lambda a: (first.append(str(a)) or True) if not first else str(a) == first[0])
    with pytest.raises(NoFeasibleArchs, match=r"^random draws found 1 feasible distinct arch for the initial "
                                              r"population of 10, and a search needs 2;"):
        one.ask()


def test_a_limit_random_draws_rarely_meet_is_told_with_the_sizes_random_archs_have(small_bundle, tmp_path,
                                                                                   monkeypatch) -> None:
    # session 50: --max-params 1.6M on DARTS passed the range check (1.370-5.144M) and then failed with "could not
    # find 2 feasible distinct archs", though smaller archs exist: random draws rarely reach them
    import random

    from swapnas.search.final import final_macs, final_size
    final = final_net("nb201", "cifar10")
    rng = random.Random(0)
    sizes = sorted(final_size(nb201, nb201.sample(rng), final) for _ in range(100))
    rng = random.Random(0)
    macs = sorted(final_macs(nb201, nb201.sample(rng), final) for _ in range(100))
    fit = sum(v <= 0.5 for v in sizes)
    assert driver.random_sizes(nb201, final, 0.5, 100.0, draws=100) == (
        f"--max-params 0.5M: of 100 random archs' final networks {fit} fit; the smallest has {sizes[0]:.3f}M params, "
        f"1 % have <= {sizes[1]:.3f}, 5 % <= {sizes[5]:.3f}, half <= {sizes[50]:.3f}; --max-macs 100M: of 100 random "
        f"archs' final networks {sum(v <= 100 for v in macs)} fit; the smallest has {macs[0]:.3f}M multiply-adds, 1 % "
        f"have <= {macs[1]:.3f}, 5 % <= {macs[5]:.3f}, half <= {macs[50]:.3f}. The initial population is drawn at "
        "random (up to 1000 draws in a row for each new arch), so smaller archs exist that it rarely reaches: a limit "
        "that 1 % of random archs meet leaves it enough")
    import itertools
    from types import SimpleNamespace
    counter = itertools.count()  # 200 distinct sizes, 0.0 to 199.0 (M params), each arch its own
    from swapnas.search import final as final_module
    monkeypatch.setattr(final_module, "final_size", lambda mod, arch, final: float(arch))
    text = driver.random_sizes(SimpleNamespace(sample=lambda rng: next(counter)), {}, 7.0, None)
    assert text.startswith("--max-params 7M: of 200 random archs' final networks 8 fit; the smallest has 0.000M "
                           "params, 1 % have <= 2.000, 5 % <= 10.000, half <= 100.000. The initial population")
    assert "(up to 50 draws in a row" in driver.random_sizes(SimpleNamespace(sample=lambda rng: next(counter)), {},
                                                             7.0, None, tries=50)
    assert driver.random_sizes(SimpleNamespace(sample=lambda rng: next(counter)), {}, None, None) == ""
    monkeypatch.setattr(driver, "_limits", lambda *a: {"feasible": lambda arch: False})  # no arch within the limit
    monkeypatch.setattr(driver, "random_sizes", lambda *a, **k: "SIZES")
    with ScoreStore(tmp_path / "s.sqlite") as store, pytest.raises(NoFeasibleArchs) as exc:
        run_search("nb201", "cifar10", store=store, fitness="params", max_params=5.0,
                   **_common(small_bundle, tmp_path))
    assert str(exc.value).startswith("random draws found 0 feasible distinct archs") and str(exc.value).endswith(
        "loosen the constraints (--max-params / --max-macs). SIZES")


@pytest.mark.parametrize("space, final", [
    ("nb201", {"net": {"C": 4, "N": 1, "num_classes": 10}, "resolution": 8}),
    ("darts", {"net": {"C": 4, "layers": 3, "num_classes": 10}, "resolution": 8}),
    ("flexibert", {"net": {"sizes": "design", "num_classes": 2, "resolution": 16}, "resolution": 16}),
])
def test_smallest_arch_has_the_fewest_macs_and_params_of_sampled_archs(space, final) -> None:
    import random

    from swapnas.search.final import final_macs, final_size
    from swapnas.spaces import get_space

    mod, rng = get_space(space), random.Random(0)
    small = mod.smallest_arch()
    lo_macs, lo_params = final_macs(mod, small, final), final_size(mod, small, final)
    others = [mod.sample(rng) for _ in range(12)]
    sizes = [(final_macs(mod, a, final), final_size(mod, a, final)) for a in others]
    assert all(m >= lo_macs and p >= lo_params for m, p in sizes) and max(sizes) > (lo_macs, lo_params)


def test_max_macs_below_the_smallest_final_network_is_refused_before_any_draw(small_bundle, tmp_path,
                                                                              monkeypatch) -> None:
    def no_draws(*args, **kwargs):
        raise AssertionError("the search drew an arch")
    monkeypatch.setattr(nb201, "sample", no_draws)
    with ScoreStore(tmp_path / "s.sqlite") as store, \
            pytest.raises(ValueError, match=r"--max-macs 1M is below the smallest final network of this space "
                                            r"\(\d+\.\d+M multiply-adds\): no arch is feasible; raise the limit"):
        run_search("nb201", "cifar10", store=store, max_macs=1.0, **_common(small_bundle, tmp_path))
    assert not (tmp_path / "out").exists()


def test_max_macs_below_every_network_leaves_no_out_from_the_command_line(small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli import main

    assert main(["search", "--space", "nb201", "--max-macs", "1", "--data-dir", str(small_bundle),
                 "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "--max-macs 1M is below the smallest final network" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_limits_random_draws_rarely_meet_are_reached_by_descent() -> None:
    # session 50: DARTS --max-params 1.6M (or 1.4M) was refused, random draws never reaching such cells; now the
    # initial population descends from random draws to the limits (only when random draws leave fewer than 2)
    def nones(a) -> int:
        return list(a.ops).count("none")

    cfg = EAConfig(population=6, sample=2, mutations=2, cycles=0)
    plain = Evolution(nb201, cfg, 3, feasible=lambda a: nones(a) >= 5, max_tries=30)
    with pytest.raises(NoFeasibleArchs, match=r"^random draws found [01] feasible distinct archs? for the initial"):
        plain.ask()
    runs = []
    for _ in range(2):
        ea = Evolution(nb201, cfg, 3, feasible=lambda a: nones(a) >= 5, max_tries=30, excess=lambda a: 5 - nones(a))
        runs.append([str(a) for a in ea.ask()])
    archs = [nb201.parse(a) for a in runs[0]]
    assert runs[0] == runs[1] and len(archs) == 6 and all(nones(a) >= 5 for a in archs)  # seeded, all feasible
    assert len({nb201.iso_key(a) for a in archs}) == 6
    never = Evolution(nb201, cfg, 3, feasible=lambda a: False, max_tries=5, excess=lambda a: 1.0)
    with pytest.raises(NoFeasibleArchs, match=r"^random draws and descents from them toward the limits found 0 "):
        never.ask()


def test_the_excess_is_the_largest_relative_overshoot_of_the_limits_given() -> None:
    from swapnas.search.final import final_macs, final_size
    final, arch = final_net("nb201", "cifar10"), nb201.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    size, macs = final_size(nb201, arch, final), final_macs(nb201, arch, final)
    assert driver._limits(nb201, final, None, None)["excess"] is None
    assert driver._limits(nb201, final, 0.5, None)["excess"](arch) == pytest.approx(size / 0.5 - 1)
    both = driver._limits(nb201, final, 2 * size, macs / 2)
    assert both["excess"](arch) == pytest.approx(1.0) and not both["feasible"](arch)  # macs twice their limit
    assert driver._limits(nb201, final, 2 * size, 2 * macs)["feasible"](arch)
