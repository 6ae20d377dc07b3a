"""What mutation testing of ``swapnas.search.fitness`` found untested (session 31,
``bash scripts/mutation_check.sh search/fitness``: 314 killed, 98 timeouts; re-run, 32 killed, 66 survived).

Every function here was reached only through whole searches, so its tests checked what a search returns and
matched its messages in part. Untested: the size flags' messages (a mutant naming ``--mu`` where ``--sigma`` was
missing passed) and the conflict of ``--prior`` with ``--mu`` alone; :func:`size_prior`'s own check of the flags
(the driver checks them first), its tolerance and the final network's classes passed to ``--target-params``'s
mapping, and a space without a ``SEARCH_PRIOR``; :func:`refine_stage`'s shortlist keys, its warnings and a second
stage whose every re-score failed; :func:`stage_net`'s base network and flag name; the idle-stage warning's text
and its bound (``k <= 1`` → ``< 1`` or ``<= 2`` passed); **the second stage's score seed** (a mutant that dropped it
scored stage two with seed 0 whatever ``--score-seed`` said, and passed); :func:`second_stage`'s bound and its record's keys. These tests
kill 62 of the 66; the other 4 are equivalent on every searchable space (see docs/reliability.md, session 31).
"""

from __future__ import annotations

import logging
import math
import random

import pytest

from swapnas.proxies import get_proxy
from swapnas.search.final import final_net, range_prior, target_prior
from swapnas.scoring import Protocol
from swapnas.search.fitness import (Fitness, SecondStage, check_size_flags, choose_fitness, refine_stage,
                                    second_stage, size_prior, stage_configure, stage_net, warn_idle_stage)
from swapnas.spaces import SPACES, nb201
from swapnas.store import Record

SWAP_REG, SWAP, SWAP_PROG = get_proxy("swap_reg"), get_proxy("swap"), get_proxy("swap_prog")
NONE = dict(mu=None, sigma=None, target_params=None, prior=None)


@pytest.mark.parametrize("flags, chosen, message", [
    (dict(prior=(0.8, 0.5), mu=5.0), SWAP_REG,  # --mu alone beside --prior: it was passed on to the --mu check
     "--prior sets swap_reg's size rule from the network's size range: give it or --target-params or --mu/--sigma, "
     "not both"),
    (dict(prior=(0.8, 0.5), target_params=1.0), SWAP_REG,
     "--prior sets swap_reg's size rule from the network's size range: give it or --target-params or --mu/--sigma, "
     "not both"),
    (dict(target_params=1.0, sigma=4.0), SWAP_REG, "give either --target-params or --mu/--sigma, not both"),
    (dict(prior=(0.8, 0.5)), SWAP,
     "--prior sets swap_reg's size rule; with best or a log-linear combination give --target-params or --mu/--sigma, "
     "for SWAP times a prior --fitness swap_reg"),
    (dict(mu=5.0), SWAP_REG, "give both --mu and --sigma (got --mu without --sigma): a size prior needs its centre "
                             "and its width; give neither for the space's rule, or --target-params"),
    (dict(sigma=4.0), SWAP, "give both --mu and --sigma (got --sigma without --mu): a size prior needs its centre "
                            "and its width; give neither for the space's rule, or --target-params"),
])
def test_each_conflict_of_the_size_flags_has_its_whole_message(flags: dict, chosen, message: str) -> None:
    with pytest.raises(ValueError) as err:
        check_size_flags(chosen, **{**NONE, **flags})
    assert str(err.value) == message
    # size_prior checks them itself, before it reads the space (the search's driver checked them first)
    with pytest.raises(ValueError) as err:
        size_prior("nb201", chosen, {"C": 16, "N": 1}, final_net("nb201", "cifar10"), tolerance=0.1,
                   **{**NONE, **flags})
    assert str(err.value) == message


def test_settings_without_a_conflict_pass() -> None:
    check_size_flags(SWAP, **NONE)  # (a size prior on swap's own values is refused: session 69)
    for chosen in (SWAP_PROG, SWAP_REG):
        for flags in ({}, dict(mu=5.0, sigma=4.0), dict(target_params=1.0)):
            check_size_flags(chosen, **{**NONE, **flags})
    check_size_flags(SWAP_REG, **{**NONE, "prior": (0.8, 0.5)})


def test_size_prior_follows_the_rule_of_each_flag() -> None:
    net = {"C": 16, "N": 1}
    final = final_net("nb201", "cifar100")
    # swap_reg without flags: the space's SEARCH_PRIOR over the scored network of 100 classes; --prior replaces it
    assert size_prior("nb201", SWAP_REG, net, final, tolerance=0.1, **NONE) == \
        range_prior(nb201, net, 100, nb201.SEARCH_PRIOR)
    assert size_prior("nb201", SWAP_REG, net, final, tolerance=0.1, **{**NONE, "prior": (0.5, 0.25)}) == \
        range_prior(nb201, net, 100, (0.5, 0.25))
    # --mu/--sigma as given; any other fitness without flags has no size prior
    assert size_prior("nb201", SWAP_REG, net, final, tolerance=0.1, **{**NONE, "mu": 5.0, "sigma": 4.0}) == \
        (5.0, 4.0, None)
    assert size_prior("nb201", SWAP, net, final, tolerance=0.1, **NONE) == (None, None, None)
    # a space without a SEARCH_PRIOR: swap_reg's own rule applies later (session.configure), nothing here
    assert size_prior("darts", SWAP_REG, {"C": 8}, final_net("darts", "cifar10"), tolerance=0.1, **NONE) == \
        (None, None, None)


def test_target_params_passes_its_tolerance_and_the_final_networks_classes(capsys) -> None:
    net = {"C": 16, "N": 1}
    final = final_net("nb201", "cifar100")
    mu, sigma, info = size_prior("nb201", SWAP_PROG, net, final, tolerance=0.25, **{**NONE, "target_params": 0.8},
                                 progress=False)
    ref_mu, ref_sigma, ref = target_prior(nb201, net, final, 0.8, 0.25, num_classes=100, progress=False)
    assert (mu, sigma) == (ref_mu, ref_sigma) and sigma == pytest.approx((0.25 * mu) ** 2, rel=1e-12)
    assert {k: v for k, v in info.items() if k != "seconds"} == {k: v for k, v in ref.items() if k != "seconds"}
    assert info["target_m"] == 0.8 and info["tolerance"] == 0.25
    # the scored network's classifier has 100 outputs: its sizes differ from the 10-class network's
    assert mu != target_prior(nb201, net, final, 0.8, 0.25, num_classes=10, progress=False)[0]
    assert "size prior (--target-params)" not in capsys.readouterr().err
    size_prior("nb201", SWAP_PROG, net, final, tolerance=0.25, **{**NONE, "target_params": 0.8})
    assert "size prior (--target-params)" in capsys.readouterr().err  # a progress bar by default


def test_the_fitness_choices_messages_are_whole(monkeypatch, caplog) -> None:
    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    with caplog.at_level(logging.WARNING, logger="swapnas.search.fitness"):
        chosen, _ = choose_fitness("toy", "best")
    assert [r.getMessage() for r in caplog.records] == [
        "space toy recommends no fitness (its FITNESS_PROTOCOL names no proxy): --fitness best is the registry's "
        f"alias, {chosen.name}, under the space's scoring defaults, chosen on no data of this space; name one with "
        "--fitness (e.g. swap, swap_reg)"]
    with pytest.raises(ValueError) as err:
        choose_fitness("nb201", "az_nas")
    assert str(err.value) == ("--fitness az_nas: a set-level proxy ranks a whole candidate set and has no per-arch "
                              "value; choose a per-arch or derived proxy (`swapnas proxies`)")


def _rec(value: float | None) -> Record:
    if value is None:
        return Record("failed", None, None, [], 0.0, None, "RuntimeError: boom")
    return Record("ok", value, 0.0, [value], 0.0, None, None)


def _history() -> list[dict]:
    archs = [str(nb201.sample(random.Random(i))) for i in range(5)]
    fitness = [3.0, float("-inf"), 5.0, 1.0, 4.0]  # the -inf one (a failed first-stage score) is never re-scored
    return [{"arch": a, "fitness": f} for a, f in zip(archs, fitness)]


def test_refine_stage_rescores_the_k_fittest_and_returns_the_best_of_them(caplog) -> None:
    history, fit = _history(), Fitness(SWAP, nb201, {"C": 16, "N": 1}, 10)
    asked: list[list[str]] = []

    def score(archs: list) -> list[Record]:
        asked.append([str(a) for a in archs])
        return [_rec(v) for v in (2.0, 7.0, 6.0)]

    with caplog.at_level(logging.WARNING):
        shortlist, top = refine_stage(history, nb201, 3, score, fit)
    fittest = [history[i]["arch"] for i in (2, 4, 0)]
    assert asked == [fittest] and caplog.records == []
    assert shortlist == [{"arch": a, "fitness": f, "refined": r} for a, f, r in zip(fittest, (5.0, 4.0, 3.0),
                                                                                    (2.0, 7.0, 6.0))]
    assert top is not None and str(top[0]) == history[4]["arch"] and top[1] == 7.0


def test_refine_stage_says_how_many_rescores_failed_and_when_none_is_left(caplog) -> None:
    history, fit = _history(), Fitness(SWAP, nb201, {"C": 16, "N": 1}, 10)
    with caplog.at_level(logging.WARNING):
        shortlist, top = refine_stage(history, nb201, 3, lambda archs: [_rec(None), _rec(1.5), _rec(None)], fit)
    assert top is not None and str(top[0]) == history[4]["arch"] and top[1] == 1.5
    assert [c["refined"] for c in shortlist][::2] == [pytest.approx(float("nan"), nan_ok=True)] * 2
    assert [r.getMessage() for r in caplog.records] == [
        "2 of the 3 second-stage re-scores failed: those archs rank last (the store's records name the errors; a "
        "rerun reads the same failures)"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        shortlist, top = refine_stage(history, nb201, 2, lambda archs: [_rec(None), _rec(None)], fit)
    assert top is None and len(shortlist) == 2  # every re-score failed: the caller keeps the first stage's best
    assert [r.getMessage() for r in caplog.records] == [
        "2 of the 2 second-stage re-scores failed: those archs rank last, so the search returns the first stage's "
        "best (the store's records name the errors; a rerun reads the same failures)"]


def test_stage_net_starts_from_the_fitnesss_own_network_and_names_its_flag(monkeypatch) -> None:
    best = get_proxy("swap_nb201")
    assert stage_net("nb201", "cifar10", best, {"N": 5}) == {"C": 16, "N": 5}
    # every space's fitness network is its SCORING_DEFAULTS' today: one that differs shows which one is read
    monkeypatch.setattr(nb201, "FITNESS_PROTOCOL", {**nb201.FITNESS_PROTOCOL, "net": {"C": 8, "N": 1}})
    assert stage_net("nb201", "cifar10", best, {"N": 5}) == {"C": 8, "N": 5}
    assert stage_net("nb201", "cifar10", SWAP, {"N": 5}) == {"C": 16, "N": 5}
    # a space of several tasks builds the searched task's head
    assert stage_net("transnas_micro", "class_object", SWAP, {})["task"] == "class_object"
    with pytest.raises(ValueError) as err:
        stage_net("nb201", "cifar10", best, {"width": 3})
    assert str(err.value) == ("--refine-net option(s) width are not options of the nb201 network; options: C, N")


def _first(repeats: int = 1, batch_size: int = 16) -> Protocol:
    return Protocol("nb201", "cifar10", batch_size, repeats=repeats, net={"C": 16, "N": 1})


def test_an_idle_second_stage_is_named_whole_and_only_from_two_archs_on(caplog) -> None:
    best = get_proxy("swap_nb201")
    with caplog.at_level(logging.WARNING):
        warn_idle_stage("nb201", "cifar10", best, SecondStage(k=1), _first(), None)  # one arch: no second stage
        assert caplog.records == []
        # a stage that leaves S and R to the first stage's (None) and changes no network option is idle
        warn_idle_stage("nb201", "cifar10", best, SecondStage(k=2, net={"C": 16}), _first(repeats=3), {})
    assert [r.getMessage() for r in caplog.records] == [
        "--refine 2 does nothing: its second stage would score under the first stage's protocol (C=16,N=1, S=16, "
        "R=3), so the search returns the first stage's best; give --refine-repeats R (other than 3), --refine-net "
        "K=V (e.g. a larger network) or --refine-batch-size S to re-score the 2 fittest under another protocol"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for stage, net in ((SecondStage(k=5, repeats=2), None), (SecondStage(k=5, batch_size=8), None),
                           (SecondStage(k=5, net={"N": 2}), None), (SecondStage(k=5), {"C": 8})):
            warn_idle_stage("nb201", "cifar10", best, stage, _first(), net)
    assert caplog.records == []  # each differs from the first stage in R, S, the network or its first-stage net


def test_stage_configure_keeps_the_score_seed_and_sets_swap_regs_prior_per_network(small_bundle) -> None:
    final = final_net("nb201", "cifar10")
    sizes = dict(mu=None, sigma=None, target_params=None, tolerance=0.1, prior=None, progress=False)
    first_prior = range_prior(nb201, {"C": 16, "N": 1}, 10, nb201.SEARCH_PRIOR)[:2]
    first = _first()
    make = stage_configure("nb201", "cifar10", SWAP_REG, final, first, first_prior, sizes, seed=7,
                           data_dir=str(small_bundle))
    protocol, _, (proxy,) = make(batch_size=8, repeats=2, net={"N": 2})
    assert (protocol.seed, protocol.batch_size, protocol.repeats, protocol.net) == (7, 8, 2, {"C": 16, "N": 2})
    # swap_reg's prior is in units of the scored network: the larger one gets its own, by the same rule
    assert (proxy.options["mu"], proxy.options["sigma"]) == \
        range_prior(nb201, {"C": 16, "N": 2}, 10, nb201.SEARCH_PRIOR)[:2] != first_prior
    protocol, _, (proxy,) = make(batch_size=8, repeats=2, net={})  # the first stage's network: its prior
    assert protocol.seed == 7 and (proxy.options["mu"], proxy.options["sigma"]) == first_prior


class _EA:
    """What second_stage reads of the EA: its best and its history."""

    def __init__(self) -> None:
        self.history = _history()
        self.best = (nb201.parse(self.history[2]["arch"]), 5.0)


def test_second_stage_runs_from_two_archs_on_and_records_its_protocol_and_shortlist() -> None:
    ea, fit, first = _EA(), Fitness(SWAP, nb201, {"C": 16, "N": 1}, 10), _first()
    calls: list[dict] = []

    def configure_stage(**kwargs) -> tuple:
        calls.append(kwargs)
        return Protocol("nb201", "cifar10", kwargs["batch_size"], repeats=kwargs["repeats"],
                        net={"C": 16, "N": 1, **kwargs["net"]}), None, (SWAP,)

    def scorer(proxy, protocol, batch):
        return lambda archs: [_rec(v) for v in (1.0, 9.0)[:len(archs)]]

    # one arch re-scored is no second stage: the EA's best, no record, nothing configured
    assert second_stage(ea, SecondStage(k=1, repeats=2), first, fit, {}, configure_stage, scorer) == (ea.best, None)
    assert calls == []
    (best, value), record = second_stage(ea, SecondStage(k=2, repeats=2, net={"N": 2}), first, fit, {"C": 16},
                                         configure_stage, scorer)
    assert calls == [{"batch_size": 16, "repeats": 2, "net": {"C": 16, "N": 2}}]
    assert (str(best), value) == (ea.history[4]["arch"], 9.0)
    assert record == {"k": 2, "repeats": 2, "batch_size": 16, "net": {"C": 16, "N": 2}, "shortlist": [
        {"arch": ea.history[2]["arch"], "fitness": 5.0, "refined": 1.0},
        {"arch": ea.history[4]["arch"], "fitness": 4.0, "refined": 9.0}]}


# ----------------------------------------------------------------------------- session 38: Fitness's methods

ARCH = nb201.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")


def _thousands(num_classes: int, **net: int) -> float:
    """The scored network's parameters, in thousands, counted on a real build."""
    return sum(p.numel() for p in nb201.build(ARCH, num_classes=num_classes, **net).parameters()) / 1e3


def test_the_size_term_is_minus_the_squared_distance_over_sigma_of_the_scored_networks_size() -> None:
    theta = _thousands(100, C=4, N=1)
    assert theta != _thousands(10, C=4, N=1) and theta != _thousands(100, C=8, N=1)  # classes and net both count
    fit = Fitness(SWAP, nb201, {"C": 4, "N": 1}, 100, mu=theta + 3.0, sigma=2.0)
    assert fit.size_term(ARCH) == pytest.approx(-(3.0 ** 2) / 2.0, rel=1e-9)
    assert Fitness(SWAP, nb201, {"C": 4, "N": 1}, 100, mu=theta - 5.0, sigma=4.0).size_term(ARCH) == \
        pytest.approx(-(5.0 ** 2) / 4.0, rel=1e-9)
    for mu, sigma in ((None, 2.0), (theta + 3.0, None), (None, None)):  # a prior needs both
        assert Fitness(SWAP, nb201, {"C": 4, "N": 1}, 100, mu=mu, sigma=sigma).size_term(ARCH) == 0.0
    assert Fitness(SWAP_REG, nb201, {"C": 4, "N": 1}, 100, mu=theta + 3.0, sigma=2.0).size_term(ARCH) == 0.0


def test_the_value_is_the_signed_score_plus_the_size_term_and_nan_without_a_score() -> None:
    theta = _thousands(10, C=4, N=1)
    ok = Record("ok", 7.0, 0.0, [7.0], 1.0, None, None)
    higher = Fitness(SWAP, nb201, {"C": 4, "N": 1}, 10, mu=theta + 1.0, sigma=0.5)
    assert higher.value(ARCH, ok) == pytest.approx(7.0 - 2.0, rel=1e-9)
    lower = Fitness(get_proxy("te_nas_ntk"), nb201, {"C": 4, "N": 1}, 10, mu=theta + 1.0, sigma=0.5)
    assert not lower.proxy.higher_is_better
    assert lower.value(ARCH, ok) == pytest.approx(-7.0 - 2.0, rel=1e-9)
    for rec in (Record("failed", 7.0, None, [], 1.0, None, "boom"), Record("ok", None, None, [], 1.0, None, None)):
        assert math.isnan(higher.value(ARCH, rec))
