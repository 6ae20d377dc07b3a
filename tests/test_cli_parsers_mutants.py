"""Every subcommand's parser (``swapnas.cli.parsers``), from its mutation run (session 46): the command line is an
interface, so each command's own options are written out here (flags, destination, default, type, choices,
required, metavar, nargs, action), with the shared options each command takes in their order; defaults read from
elsewhere (the EA's, the training recipes', the spaces' second stages) are checked against their source. The
wording of help texts, descriptions and epilogs is not compared (as for ``cli/args``, session 45)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from types import SimpleNamespace

import pytest

from swapnas.benchmarks import BENCHMARKS
from swapnas.cli import build_parser, commands, parsers, search_command
from swapnas.cli.args import (
    DEFAULT_TOLERANCE,
    HelpFormatter,
    MergeNet,
    PopulationAction,
    archs,
    archs_per,
    finite_float,
    millions,
    net_options,
    net_size_int,
    non_negative_int,
    path_text,
    positive_float,
    positive_int,
    probability,
    repeats_int,
    samples_int,
    search_space,
    seed_int,
    shard,
    synthetic_images,
)
from swapnas.search import EAConfig
from swapnas.spaces import SPACES, get_space, searchable_spaces
from swapnas.train import RECIPES, SCHEDULES, TrainConfig

Store, StoreTrue = argparse._StoreAction, argparse._StoreTrueAction


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub


def _command(name: str) -> argparse.ArgumentParser:
    return _subparsers(build_parser()).choices[name]


def _flag(action: argparse.Action) -> str:
    return action.option_strings[-1] if action.option_strings else action.dest


def _row(a: argparse.Action) -> tuple:
    return ("/".join(a.option_strings) or a.dest, a.dest, a.default, a.type, a.choices if not isinstance(
        a, argparse._SubParsersAction) else list(a.choices), a.required, a.metavar, a.nargs, type(a))


# the shared options, in the order each parent adds them (their own tests: tests/test_cli_args_mutants.py)
GLOBAL = ["--help", "--verbose", "--quiet", "--json"]
DEVICE = ["--device", "--no-progress"]
DATA = ["--data-dir"]
STORE = ["--store", "--retry-failed", "--allow-failures"]
EXECUTOR = ["--executor", "--address", "--ray-cpus", "--ray-gpus", "--workers", "--threads", "--prefetch"]
SCORING = ["--proxies", "--archs", "--seed", "--batch-size", "--repeats", "--net", "--init", "--mu", "--sigma",
           "--inputs", "--fill", "--image-root", "--num-classes", "--resolution", "--mean", "--std", "--shard"]
RECIPE_FLAGS = ["--epochs", "--batch-size", "--lr", "--momentum", "--weight-decay", "--schedule", "--lr-gamma",
                "--cutout", "--drop-path", "--auxiliary-weight", "--grad-clip", "--label-smoothing", "--channels",
                "--layers"]

#: the built-in benchmarks and spaces; one added later (a newcomer's own) comes after them in the choices
BUILT_IN_BENCHMARKS = ["nb101", "nb201", "nb301", "darts_swap", "transnas_micro", "transnas_macro", "flexibert"]
BUILT_IN_SPACES = ["nb101", "nb201", "darts", "transnas_micro", "transnas_macro", "flexibert"]
assert list(BENCHMARKS)[:7] == BUILT_IN_BENCHMARKS and list(SPACES)[:6] == BUILT_IN_SPACES
CORRELATE_SPACES = list(dict.fromkeys([*BENCHMARKS, *SPACES]))  # benchmarks, then the spaces without one (darts)

OWN = {
    "correlate": [
        ("--space", "space", "nb201", None, CORRELATE_SPACES, False, None, None, Store),
        ("--truth", "truth", None, path_text, None, False, "FILE.csv", None, Store),
        ("--arch-column", "arch_column", None, None, None, False, None, None, Store),
        ("--accuracy-column", "accuracy_column", None, None, None, False, None, None, Store),
        ("--dataset", "dataset", None, None, None, False, None, None, Store),
        ("--channels", "channels", None, net_size_int, None, False, None, None, Store),
        ("--cells", "cells", None, net_size_int, None, False, None, None, Store),
        ("--metric", "metric", "valid", None, ["valid", "test"], False, None, None, Store),
        ("--epochs", "epochs", 200, int, [200, 12], False, None, None, Store),
        ("--out", "out", None, path_text, None, True, None, None, Store),
    ],
    "grid": [
        ("--benchmarks", "benchmarks", "all", None, None, False, None, None, Store),
        ("--tasks", "tasks", "all", None, None, False, None, None, Store),
        ("--proxies", "proxies", "all", None, None, False, None, None, Store),
        ("--archs", "archs", 1000, archs, None, False, None, None, Store),
        ("--archs-per", "archs_per", {}, archs_per, None, False, "BENCH=N,…", None, Store),
        ("--seed", "seed", 0, seed_int, None, False, None, None, Store),
        ("--repeats", "repeats", 1, repeats_int, None, False, None, None, Store),
        ("--init", "init", None, None, ["gaussian", "default"], False, None, None, Store),
        ("--shard", "shard", None, shard, None, False, "I/K", None, Store),
        ("--out", "out", None, path_text, None, True, None, None, Store),
    ],
    "search": [
        ("--space", "space", "nb201", search_space, None, False, "{nb201,darts,flexibert}", None, Store),  # (s. 65)
        ("--dataset", "dataset", None, None, None, False, None, None, Store),
        ("--fitness", "fitness", "best", None, None, False, None, None, Store),
        ("--seed", "seed", 0, seed_int, None, False, None, None, Store),
        ("--score-seed", "score_seed", 0, seed_int, None, False, None, None, Store),
        ("--population", "population", 20, positive_int, None, False, None, None, PopulationAction),
        ("--sample", "sample", 5, positive_int, None, False, None, None, Store),
        ("--mutations", "mutations", 5, positive_int, None, False, None, None, Store),
        ("--cycles", "cycles", 40, non_negative_int, None, False, None, None, Store),
        ("--crossover", "crossover", 0.5, probability, None, False, None, None, Store),
        ("--max-evals", "max_evals", None, positive_int, None, False, None, None, Store),
        ("--max-seconds", "max_seconds", None, positive_float, None, False, None, None, Store),
        ("--mu", "mu", None, finite_float, None, False, None, None, Store),
        ("--sigma", "sigma", None, positive_float, None, False, None, None, Store),
        ("--target-params", "target_params", None, millions, None, False, "4.0M", None, Store),
        ("--tolerance", "tolerance", None, positive_float, None, False, None, None, Store),
        ("--prior", "prior", None, finite_float, None, False, ("CENTRE", "WIDTH"), 2, Store),
        ("--max-params", "max_params", None, millions, None, False, "5M", None, Store),
        ("--max-macs", "max_macs", None, millions, None, False, "600M", None, Store),
        ("--refine", "refine", None, non_negative_int, None, False, "K", None, Store),
        ("--refine-repeats", "refine_repeats", None, repeats_int, None, False, "R", None, Store),
        ("--refine-net", "refine_net", None, net_options, None, False, "K=V,…", None, MergeNet),
        ("--refine-batch-size", "refine_batch_size", None, samples_int, None, False, "S", None, Store),
        ("--net", "net", {}, net_options, None, False, "K=V,…", None, MergeNet),
        ("--batch-size", "batch_size", None, samples_int, None, False, None, None, Store),
        ("--repeats", "repeats", None, repeats_int, None, False, None, None, Store),
        ("--out", "out", None, path_text, None, True, None, None, Store),
    ],
    "train": [
        ("--genotype", "genotype", None, None, None, True, None, None, Store),
        ("--dataset", "dataset", "cifar10", None, ["cifar10", "imagenet"], False, None, None, Store),
        ("--data-root", "data_root", None, path_text, None, False, None, None, Store),
        ("--synthetic", "synthetic", None, synthetic_images, None, False, "N", None, Store),
        ("--epochs", "cfg_epochs", None, int, None, False, "N", None, Store),
        ("--batch-size", "cfg_batch_size", None, int, None, False, "N", None, Store),
        ("--lr", "cfg_lr", None, finite_float, None, False, "X", None, Store),
        ("--momentum", "cfg_momentum", None, finite_float, None, False, "X", None, Store),
        ("--weight-decay", "cfg_weight_decay", None, finite_float, None, False, "X", None, Store),
        ("--schedule", "cfg_schedule", None, str, ["cosine", "step"], False, None, None, Store),
        ("--lr-gamma", "cfg_lr_gamma", None, finite_float, None, False, "X", None, Store),
        ("--cutout", "cfg_cutout", None, int, None, False, "N", None, Store),
        ("--drop-path", "cfg_drop_path", None, finite_float, None, False, "X", None, Store),
        ("--auxiliary-weight", "cfg_auxiliary_weight", None, finite_float, None, False, "X", None, Store),
        ("--grad-clip", "cfg_grad_clip", None, finite_float, None, False, "X", None, Store),
        ("--label-smoothing", "cfg_label_smoothing", None, finite_float, None, False, "X", None, Store),
        ("--channels", "cfg_C", None, int, None, False, "C", None, Store),
        ("--layers", "cfg_layers", None, int, None, False, "N", None, Store),
        ("--max-steps", "max_steps", None, positive_int, None, False, "N", None, Store),
        ("--eval-every", "eval_every", 1, positive_int, None, False, "E", None, Store),
        ("--seed", "seed", 0, seed_int, None, False, None, None, Store),
        ("--workers", "workers", 4, non_negative_int, None, False, None, None, Store),
        ("--no-amp", "no_amp", False, None, None, False, None, 0, StoreTrue),
        ("--out", "out", None, path_text, None, True, None, None, Store),
    ],
    "conformance": [
        ("--space", "space", "nb201", None, ["nb201", "nb101", "nb301"], False, None, None, Store),
        ("--dataset", "dataset", "cifar10", None, ["cifar10", "cifar100", "imagenet16-120"], False, None, None, Store),
        ("--proxies", "proxies", "all", None, None, False, None, None, Store),
        ("--archs", "archs", None, archs, None, False, None, None, Store),
        ("--seed", "seed", 0, seed_int, None, False, None, None, Store),
        ("--out", "out", None, path_text, None, True, None, None, Store),
    ],
    "proxies": [("pattern", "pattern", "*", None, None, False, None, "?", Store)],
    "export": [
        ("store", "store", None, path_text, None, True, None, None, Store),
        ("--format", "format", "csv", None, ["csv", "naslib-zc"], False, None, None, Store),
        ("--protocol", "protocol", None, None, None, False, None, None, Store),
        ("--out", "out", None, path_text, None, True, None, None, Store),
    ],
    "store": [("store_action", "store_action", None, None, ["check", "salvage", "merge", "accept-code"], True,
               "{check,salvage,merge,accept-code}",
               argparse.PARSER, argparse._SubParsersAction)],
}
SHARED = {
    "correlate": GLOBAL + SCORING + DEVICE + DATA + STORE + EXECUTOR,
    "grid": GLOBAL + DEVICE + DATA + STORE + EXECUTOR,
    "search": GLOBAL + DEVICE + DATA + ["--store"] + EXECUTOR,  # a search keeps no failures to retry or allow
    "train": GLOBAL + DEVICE,
    "conformance": GLOBAL + DEVICE + DATA + STORE,
    "proxies": GLOBAL,
    "export": GLOBAL,
    "store": GLOBAL,
}
FUNCS = {"correlate": commands.correlate, "grid": commands.grid, "search": search_command.search,
         "train": commands.train, "conformance": commands.conformance, "proxies": commands.proxies,
         "export": commands.export_store, "store": commands.store}


def test_the_commands_in_order_each_with_its_function_and_formatter() -> None:
    sub = _subparsers(build_parser())
    assert list(sub.choices) == list(OWN)
    assert sub.dest == "command" and sub.required is True
    for name, p in sub.choices.items():
        assert p.get_default("func") is FUNCS[name], name
        assert p.formatter_class is HelpFormatter, name
        assert p.prog == f"{build_parser().prog} {name}"
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert list(helps) == list(OWN) and all(h and h.strip() for h in helps.values())
    for name in ("correlate", "grid", "search", "train", "conformance", "export", "store"):
        assert sub.choices[name].description, name
    for name in OWN:
        assert "example:\n  swapnas " + name in (sub.choices[name].epilog or ""), name


@pytest.mark.parametrize("name", list(OWN))
def test_each_commands_options_in_order(name: str) -> None:
    p = _command(name)
    flags = [_flag(a) for a in p._actions]
    own = [row[0].split("/")[-1] for row in OWN[name]]
    assert flags == SHARED[name] + own


@pytest.mark.parametrize("name", list(OWN))
def test_each_commands_own_options_written_out(name: str) -> None:
    p = _command(name)
    got = [_row(a) for a in p._actions[len(SHARED[name]):]]
    assert got == OWN[name]
    for a in p._actions[len(SHARED[name]):]:  # every option explained (store's actions: by their own helps, below)
        assert isinstance(a, argparse._SubParsersAction) or (a.help and a.help.strip()), f"{name} {_flag(a)}"


def test_the_shared_options_come_from_the_parents_with_their_defaults() -> None:
    """What each parent was called with shows in its options: the search's store takes no --retry-failed."""
    for name in ("correlate", "grid", "conformance"):
        a = build_parser().parse_args([name, "--out", "o"])
        assert a.retry_failed is False and a.allow_failures is False and a.store is None
    search = build_parser().parse_args(["search", "--out", "o"])
    assert not hasattr(search, "retry_failed") and not hasattr(search, "allow_failures") and search.store is None


def test_search_budget_defaults_are_the_eas() -> None:
    d = EAConfig()
    args = build_parser().parse_args(["search", "--out", "o"])
    assert (args.population, args.sample, args.mutations, args.cycles, args.crossover) == \
        (d.population, d.sample, d.mutations, d.cycles, d.crossover)
    helps = {a.dest: a.help for a in _command("search")._actions}
    assert f"(default {d.population})" in helps["population"]
    assert f"(default {d.sample}, or P when only a smaller --population is given)" in helps["sample"]
    assert f"(default {d.mutations})" in helps["mutations"] and f"(default {d.cycles})" in helps["cycles"]
    assert f"(default {d.crossover})" in helps["crossover"]
    assert f"(default {DEFAULT_TOLERANCE})" in helps["tolerance"]
    # a smaller --population lowers --sample's default (PopulationAction), a given --sample stays
    assert build_parser().parse_args(["search", "--out", "o", "--population", "3"]).sample == 3
    assert build_parser().parse_args(["search", "--out", "o", "--population", "3", "--sample", "2"]).sample == 2


def test_search_stage_help_shows_each_spaces_second_stage() -> None:
    own = {s: r for s in searchable_spaces() if (r := getattr(get_space(s), "FITNESS_PROTOCOL", {}).get("refine"))}
    assert list(own) == ["nb201", "darts"]  # the spaces with a second stage of their own
    helps = {a.dest: a.help for a in _command("search")._actions}
    nb, da = own["nb201"], own["darts"]
    assert f"the space's, nb201 {nb['k']}, darts {da['k']}; else 0 = none)" in helps["refine"]
    assert f"the space's, nb201 {nb['repeats']}, darts {da['repeats']}; else 4)" in helps["refine_repeats"]
    nets = [",".join(f"{k}={v}" for k, v in r["net"].items()) for r in (nb, da)]
    assert nets == ["N=5", "C=16"]
    assert f"the space's, nb201 {nets[0]}, darts {nets[1]}; else none)" in helps["refine_net"]
    assert (f"the space's, nb201 {nb['batch_size']}, darts {da['batch_size']}; else the first stage's)"
            in helps["refine_batch_size"])
    assert "--refine-* protocol" in helps["refine"]


def test_train_has_one_flag_per_recipe_field_typed_by_the_cifar10_recipe() -> None:
    actions = {a.dest: a for a in _command("train")._actions}
    base, imagenet = RECIPES["cifar10"], RECIPES["imagenet"]
    assert [f"cfg_{f.name}" for f in fields(TrainConfig)] == [d for d in actions if d.startswith("cfg_")]
    for f in fields(TrainConfig):
        a = actions[f"cfg_{f.name}"]
        value = getattr(base, f.name)
        assert a.type is (finite_float if isinstance(value, float) else type(value)), f.name
        assert a.default is None
        default = (f" (default: the recipe's, cifar10 {value}, imagenet {getattr(imagenet, f.name)})"
                   if f.name != "lr_gamma" else  # (the step schedule's only: session 65)
                   f" (default: the imagenet recipe's {imagenet.lr_gamma}; cifar10 with --schedule step: {value}; "
                   "refused under the cosine schedule (the cifar10 recipe's))")
        assert a.help.endswith(default) and len(a.help) > len(default)
    assert actions["cfg_schedule"].choices == list(SCHEDULES)
    assert actions["cfg_C"].option_strings == ["--channels"]
    # given flags land in their cfg_ dests, with the types above
    args = build_parser().parse_args(["train", "--genotype", "g", "--out", "o", "--lr", "0.5", "--channels", "8",
                                      "--schedule", "step"])
    assert (args.cfg_lr, args.cfg_C, args.cfg_schedule) == (0.5, 8, "step")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--genotype", "g", "--out", "o", "--lr", "nan"])


def test_train_data_root_and_synthetic_exclude_each_other(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--genotype", "g", "--out", "o", "--data-root", "d", "--synthetic", "4"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_store_actions_check_salvage_and_merge() -> None:
    actions = _subparsers(_command("store")).choices
    assert list(actions) == ["check", "salvage", "merge", "accept-code"]
    for name, p in actions.items():
        assert p.formatter_class is HelpFormatter and p.epilog.startswith("example:\n  swapnas store " + name)
    assert [_row(a) for a in actions["check"]._actions[len(GLOBAL):]] == [
        ("store", "store", None, path_text, None, True, None, None, Store)]
    assert [_row(a) for a in actions["salvage"]._actions[len(GLOBAL):]] == [
        ("store", "store", None, path_text, None, True, None, None, Store),
        ("--out", "out", None, path_text, None, True, None, None, Store)]
    assert [_flag(a) for a in actions["check"]._actions[:len(GLOBAL)]] == GLOBAL
    assert [_flag(a) for a in actions["salvage"]._actions[:len(GLOBAL)]] == GLOBAL
    helps = {a.dest: a.help for a in _subparsers(_command("store"))._choices_actions}
    assert list(helps) == ["check", "salvage", "merge", "accept-code"] and all(helps.values())
    assert [_row(a) for a in actions["accept-code"]._actions[len(GLOBAL):]] == [
        ("store", "store", None, path_text, None, True, None, None, Store),
        ("names", "names", None, None, None, True, "NAME", "*", Store)]
    args = build_parser().parse_args(["store", "salvage", "a.sqlite", "--out", "b.sqlite"])
    assert (args.store_action, args.store, args.out, args.func) == ("salvage", "a.sqlite", "b.sqlite", commands.store)
    assert [_row(a) for a in actions["merge"]._actions[len(GLOBAL):]] == [
        ("sources", "sources", None, path_text, None, True, None, "+", Store),
        ("--into", "into", None, path_text, None, True, None, None, Store),
        ("--mixed-code", "mixed_code", False, None, None, False, None, 0, StoreTrue)]
    args = build_parser().parse_args(["store", "merge", "a.sqlite", "b.sqlite", "--into", "c.sqlite"])
    assert (args.store_action, args.sources, args.into) == ("merge", ["a.sqlite", "b.sqlite"], "c.sqlite")


def test_store_action_arguments_are_explained() -> None:
    for name, p in _subparsers(_command("store")).choices.items():
        for a in p._actions[len(GLOBAL):]:
            assert a.help and a.help.strip(), f"store {name} {_flag(a)}"


def test_search_stage_help_of_spaces_with_and_without_a_second_stage(monkeypatch) -> None:
    """The help lists the spaces whose FITNESS_PROTOCOL names a second stage, its network's options joined by
    commas; a space without a FITNESS_PROTOCOL (or without a stage in it) is left out."""
    stage = {"k": 3, "repeats": 2, "net": {"C": 8, "N": 2}, "batch_size": 9}
    real = parsers.get_space

    def changed(space: str) -> SimpleNamespace:  # nb201 without a FITNESS_PROTOCOL, darts with another stage
        module = dict(vars(real(space)))
        if space == "nb201":
            del module["FITNESS_PROTOCOL"]
        elif space == "darts":
            module["FITNESS_PROTOCOL"] = {**module["FITNESS_PROTOCOL"], "refine": stage}
        return SimpleNamespace(**module)
    monkeypatch.setattr(parsers, "get_space", changed)
    helps = {a.dest: a.help for a in _command("search")._actions}
    assert helps["refine"].endswith("(default for best: the space's, darts 3; else 0 = none)")
    assert helps["refine_repeats"].endswith("(default for best: the space's, darts 2; else 4)")
    assert helps["refine_net"].endswith("default for best: the space's, darts C=8,N=2; else none)")
    assert helps["refine_batch_size"].endswith("(default for best: the space's, darts 9; else the first stage's)")
