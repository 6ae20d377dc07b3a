"""Session 65 audit of help texts and docstrings (each test failed on the code as found): what `--help`,
`swapnas proxies NAME` and `help(swapnas.swap_score)` say, checked against what the code does.

* correlate's --init/--repeats promised `best` beside other metrics a default; such a run is refused until the
  settings in which the protocols differ are given (nb201: --init and --repeats; the DARTS space: --init);
* train's --lr-gamma named a cifar10 default that the cifar10 recipe's cosine schedule refuses;
* search's --repeats/--batch-size said "the space's" (read: SCORING_DEFAULTS, nb201 4 repeats), yet the default
  search (best) scores under the space's FITNESS_PROTOCOL (nb201: 1 repeat);
* `swapnas proxies te_nas` (any set-level metric) named the registry's placeholder as its code, with no description;
* `swapnas proxies swap_reg` (any derived metric) left out its bases' needs (swap's nn.ReLU);
* swap_score's docstring example saturated (Ψ = N = 288) and issued the SaturationWarning the docstring explains;
* --drop-path, --prefetch and --cutout said less or other than the code does; train --synthetic 1 was parsed and
  then refused; --weight-decay, --grad-clip and --label-smoothing were documented nowhere but --help.
"""

from __future__ import annotations

import argparse
import doctest
import re
import warnings
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from torch import nn

import swapnas
import swapnas.patterns
from swapnas.cli import build_parser
from swapnas.proxies import details, get_proxy
from swapnas.scoring import with_bases
from swapnas.session import best_for, check_one_protocol, protocol_defaults, resolve_for
from swapnas.spaces import searchable_spaces
from swapnas.train import RECIPES, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def _sub(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _help_of(command: str, flag: str) -> str:
    """The help of ``flag`` as `swapnas COMMAND --help` prints it (the formatter's text, defaults added), one line."""
    sub = _sub(command)
    action = sub._option_string_actions[flag]
    return " ".join(sub._get_formatter()._expand_help(action).split())


# --- swapnas proxies NAME ---------------------------------------------------------------------------------------------

SET_LEVEL = ["te_nas", "az_nas", "vkdnw_agg", "vkdnw_single"]
DERIVED = ["swap_reg", "swap_nb201", "lswag", "swap_fisher", "swap_darts", "swap_prog", "swap_expr"]


@pytest.mark.parametrize("name", SET_LEVEL)
def test_set_level_proxy_details_name_its_description_and_its_combine(name):
    p = get_proxy(name)
    lines = details(p)
    assert lines[0] == f"{name}: {p.description}" and p.description
    assert lines[-1] == (f"code: {p.combine.__module__}.{p.combine.__name__} (its combine of the parts' scores over "
                         "the candidate set; help() on its module explains it)")
    assert not any("_no_per_arch_value" in line for line in lines)


def test_te_nas_details_in_full():
    assert details(get_proxy("te_nas")) == [
        ("te_nas: TE-NAS rank sum of NTK condition number and linear regions over the candidate set (Chen et al., "
         "ICLR 2021)."),
        "computed from: te_nas_ntk, te_nas_lr",
        "needs of a model or its inputs (its parts' included): relu (te_nas_lr) (swapnas.requirements)",
        ("code: swapnas.proxies.te_nas.rank_sum (its combine of the parts' scores over the candidate set; help() on "
         "its module explains it)")]


def test_swap_reg_details_name_swaps_relu():
    assert details(get_proxy("swap_reg"))[2:] == [
        "computed from: swap",
        "needs of a model or its inputs (its bases' included): relu (swap) (swapnas.requirements)",
        "code: swapnas.proxies.swap.swap_reg (help() on its module explains it)"]
    # a proxy without bases keeps its one needs line as it was
    assert "needs of a model or its inputs: relu (swapnas.requirements)" in details(get_proxy("swap"))


@pytest.mark.parametrize("name", DERIVED)
def test_derived_proxy_details_list_the_needs_that_scoring_it_checks(name):
    """Every need of what scoring it runs (``with_bases``: the checks of ``swapnas.requirements``) is listed, with
    the base it comes from."""
    (line,) = [line for line in details(get_proxy(name)) if line.startswith("needs of a model")]
    assert line.startswith("needs of a model or its inputs (its bases' included): ")
    assert "relu (swap" in line
    for q in with_bases([get_proxy(name)])[1:]:
        for need in q.requires:
            assert re.search(rf"{re.escape(need)} \([^)]*\b{q.name}\b", line), (need, q.name, line)


# --- correlate --init and --repeats ---------------------------------------------------------------------------------

def test_correlate_init_and_repeats_help_say_best_beside_other_metrics_needs_them():
    assert _help_of("correlate", "--repeats") == (
        "re-initialisations averaged per arch (default: the space's; nb201 4; `best` alone: its fitness protocol's, "
        "1; `best` beside other metrics on nb201: none, give --repeats and --init, the run is refused without them)")
    assert _help_of("correlate", "--init") == (
        "gaussian: N(0,1) weights (the paper's); default: the network's own init, PyTorch's (on flexibert the "
        "builder's N(0, 0.02), as BERT's) (default: the space's protocol: gaussian, but the network's own on "
        "flexibert and for `best` alone, its fitness protocol's; `best` beside other metrics, but on flexibert: "
        "none, give --init (and --repeats where the two differ in it), the run is refused without it)")
    # what the help says, as the command's check (session.check_one_protocol) does it
    unset = {"init": None, "repeats": None, "batch_size": None, "net": None}
    for space, asked in (("nb201", "--init and --repeats"), ("darts", "--init"), ("flexibert", None)):
        proxies = resolve_for(space, "best,params")
        if asked is None:
            check_one_protocol(space, proxies, unset)
            continue
        with pytest.raises(ValueError, match=f"give {asked} to score them all under one"):
            check_one_protocol(space, proxies, unset)
        check_one_protocol(space, proxies, {**unset, "init": "default", "repeats": 1})


# --- search --repeats / --batch-size ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("flag", "key", "what"), [("--repeats", "repeats", "re-initialisations"),
                                                   ("--batch-size", "batch_size", "samples S")])
def test_search_help_names_the_fitness_protocols_defaults(flag, key, what):
    """The values come from what the search scores under (session.protocol_defaults of its fitness): for best its
    FITNESS_PROTOCOL (nb201: 1 repeat), for another proxy (swap) the space's SCORING_DEFAULTS (nb201: 4)."""
    spaces = searchable_spaces()
    best = ", ".join(f"{s} {protocol_defaults(s, [get_proxy(best_for(s))])[key]}" for s in spaces)
    other = ", ".join(f"{s} {protocol_defaults(s, [get_proxy('swap')])[key]}" for s in spaces)
    assert _help_of("search", flag) == (
        f"{what} (default: the fitness's own protocol: for best (and the proxy it names, or one it named before) the "
        f"space's FITNESS_PROTOCOL, {best}; for another proxy the space's scoring defaults, {other})")
    if key == "repeats":
        assert "FITNESS_PROTOCOL, nb201 1," in _help_of("search", flag)
        assert "scoring defaults, nb201 4," in _help_of("search", flag)


# --- swap_score's docstring ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_swap_score_docstring_example_runs_without_a_warning(seed):
    torch.manual_seed(seed)
    (test,) = doctest.DocTestFinder().find(swapnas.patterns.swap_score, "swap_score",
                                          globs={"torch": torch, "nn": nn, "swap_score": swapnas.swap_score})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a SaturationWarning fails the example
        result = doctest.DocTestRunner().run(test, out=lambda _: None)
    assert (result.attempted, result.failed) == (2, 0)


# --- train --help ----------------------------------------------------------------------------------------------------

def test_train_lr_gamma_help_names_no_default_that_is_refused():
    assert (RECIPES["cifar10"].schedule, RECIPES["imagenet"].schedule) == ("cosine", "step")
    assert _help_of("train", "--lr-gamma") == (
        "step schedule only: lr factor per epoch (default: the imagenet recipe's 0.97; cifar10 with --schedule "
        "step: 0.97; refused under the cosine schedule (the cifar10 recipe's))")


def test_train_drop_path_and_cutout_help_say_what_the_loop_does():
    assert _help_of("train", "--drop-path") == (
        "drop-path probability, ramped linearly: epoch e (from 0) of E drops paths with X*e/E (0 in the first, "
        "X*(E-1)/E in the last), 0 = off (default: the recipe's, cifar10 0.2, imagenet 0.0)")
    from swapnas.train import drop_path_at
    config = TrainConfig(epochs=4, drop_path=0.2)
    assert [drop_path_at(config, e) for e in range(4)] == [0.0, 0.05, 0.1, 0.2 * 3 / 4]
    assert _help_of("train", "--cutout") == (
        "cutout square side, 0 = off (applied to CIFAR-10 and to --synthetic images, with --dataset imagenet too; "
        "ignored on ImageNet image folders, with a warning) (default: the recipe's, cifar10 16, imagenet 0)")


def test_prefetch_help_names_the_metrics_it_builds_ahead_for():
    assert _help_of("correlate", "--prefetch") == (
        "--executor local, throughput mode: a thread builds and initialises the next K archs' networks while the "
        "current one is scored, where every metric scored, bases included, keeps the model it scores (swap, "
        "swap_ext, params, vkdnw, AZ-NAS's expressivity, progressivity and trainability, and metrics derived from "
        "those alone: swap_reg, flexibert's `best`); with another (nwot, fisher, nb201's and darts' `best`, …) a "
        "warning says so and each network is built as it is scored (same scores; default 0 = off)")

    def builds_ahead(name: str) -> bool:  # LocalExecutor.score's test
        bases = [p for p in with_bases([get_proxy(name)]) if p.base is None and not p.structural]
        return all(p.keeps_model for p in bases)
    for name in ("swap", "swap_ext", "params", "vkdnw", "az_nas_expressivity", "az_nas_progressivity",
                 "az_nas_trainability", "swap_reg", best_for("flexibert")):
        assert builds_ahead(name), name
    for name in ("nwot", "fisher", best_for("nb201"), best_for("darts")):
        assert not builds_ahead(name), name


def test_train_synthetic_refuses_one_image_when_parsed(capsys):
    args = ["train", "--genotype", "g", "--out", "o", "--synthetic"]
    assert build_parser().parse_args([*args, "2"]).synthetic == 2
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*args, "1"])
    assert exc.value.code == 2
    assert "argument --synthetic: expected an integer >= 2 (got 1)" in capsys.readouterr().err
    assert _help_of("train", "--synthetic") == ("train on N random images (10 classes, N >= 2; N more to test on) "
                                                "instead: smoke runs and tests")


def test_training_doc_gives_every_recipe_flag_with_the_recipes_defaults():
    """docs/training.md's table: one row per TrainConfig field (--weight-decay, --grad-clip and --label-smoothing
    were in --help only), each with the cifar10 and imagenet recipes' values."""
    rows = {}
    for line in (ROOT / "docs" / "training.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`--"):
            rows[cells[0].strip("`").split()[0]] = cells[2:]
    flags = {f.name: "--channels" if f.name == "C" else "--" + f.name.replace("_", "-") for f in fields(TrainConfig)}
    assert sorted(rows) == sorted(flags.values())
    for name, flag in flags.items():
        for recipe, cell in zip(("cifar10", "imagenet"), rows[flag]):
            value = getattr(RECIPES[recipe], name)
            if isinstance(value, str):
                assert cell == value, (flag, recipe)
            else:
                assert float(re.search(r"[0-9.]+(?:e-?[0-9]+)?", cell)[0]) == value, (flag, recipe, cell)
