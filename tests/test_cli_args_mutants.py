"""The command line's argument types (``swapnas.cli.args``), from their mutation run (session 45): every type's
accepted edge values and each refusal written out whole, the merged ``--net`` pairs, ``--population`` lowering
``--sample``'s default, and which defaults ``--help`` shows."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from swapnas.cli.args import (
    MAX_SEED,
    DefaultArchs,
    DefaultSample,
    HelpFormatter,
    MergeNet,
    PopulationAction,
    archs,
    archs_per,
    data_parent,
    device_name,
    device_parent,
    executor_parent,
    finite_float,
    global_parent,
    millions,
    net_options,
    non_negative_int,
    path_text,
    positive_float,
    positive_int,
    positive_triple,
    prefetch_int,
    probability,
    ray_gpus,
    repeats_int,
    resolution_int,
    samples_int,
    scoring_parent,
    search_space,
    seed_int,
    shard,
    store_parent,
    threads_int,
    triple,
    unit_triple,
    workers_int,
)

from .message_tools import refusal


def _refused(kind: Callable[[str], object], text: str) -> str:
    return refusal(argparse.ArgumentTypeError, lambda: kind(text))


# --- numbers ---------------------------------------------------------------------------------------------------

def test_whole_numbers_take_their_lowest_value_and_refuse_below_it() -> None:
    assert positive_int("1") == 1 and positive_int(" 7 ") == 7 and non_negative_int("0") == 0
    assert _refused(positive_int, "0") == "expected a positive integer (got 0)"
    assert _refused(positive_int, "1.5") == "expected a positive integer, not '1.5'"
    assert _refused(non_negative_int, "-1") == "expected an integer >= 0 (got -1)"
    assert _refused(non_negative_int, "x") == "expected an integer >= 0, not 'x'"


def test_seeds_span_0_to_the_largest_signed_64_bit_integer() -> None:
    assert MAX_SEED == 9223372036854775807
    assert seed_int("0") == 0 and seed_int(str(MAX_SEED)) == MAX_SEED
    assert _refused(seed_int, str(MAX_SEED + 1)) == f"expected a seed in 0..{MAX_SEED} (got {MAX_SEED + 1})"
    assert _refused(seed_int, "-1") == f"expected a seed in 0..{MAX_SEED} (got -1)"
    assert _refused(seed_int, "one") == f"expected a seed in 0..{MAX_SEED}, not 'one'"


def test_floats_are_finite_and_in_their_range() -> None:
    assert finite_float("-2.5") == -2.5 and positive_float("1e-9") == 1e-9
    assert probability("0") == 0.0 and probability("1") == 1.0 and probability("0.25") == 0.25
    assert _refused(finite_float, "nan") == "expected a finite number (got nan: not a finite number)"
    assert _refused(finite_float, "abc") == "expected a finite number, not 'abc'"
    assert _refused(positive_float, "0") == "expected a finite number > 0 (got 0)"
    assert _refused(positive_float, "-inf") == "expected a finite number > 0 (got -inf: not a finite number)"
    assert _refused(probability, "1.01") == "expected a probability in [0, 1] (got 1.01)"
    assert _refused(probability, "-0.1") == "expected a probability in [0, 1] (got -0.1)"
    assert _refused(probability, "p") == "expected a probability in [0, 1], not 'p'"


def test_ray_gpus_and_sizes_in_millions() -> None:
    assert ray_gpus("0") == 0.0 and ray_gpus("0.25") == 0.25
    assert _refused(ray_gpus, "-0.5") == "--ray-gpus must be a finite number >= 0 (got -0.5)"
    assert _refused(ray_gpus, "inf") == "--ray-gpus must be a finite number >= 0 (got inf)"
    assert _refused(ray_gpus, "one") == "--ray-gpus takes a number of GPUs per task, e.g. 1 or 0.25, not 'one'"
    assert millions(" 4.5m ") == 4.5 and millions("3") == 3.0 and millions("0.1M") == 0.1
    assert _refused(millions, "5MM") == "expected a size in millions like 4.0M or 4.0, not '5MM'"
    assert _refused(millions, "0M") == "size must be a finite number > 0 (got 0M)"
    assert _refused(millions, "nanM") == "size must be a finite number > 0 (got nanM)"


def test_devices() -> None:
    for name in ("auto", "cpu", "mps", "cuda", "cuda:1", "cuda:12"):
        assert device_name(f" {name} ") == name
    for bad in ("gpu", "cuda:", "cuda:x", "cpu0", "CPU"):
        assert _refused(device_name, bad) == \
            f"unknown device {bad!r}; accepted: auto, cpu, cuda, cuda:N (GPU N), mps"


# --- archs, shards, --archs-per --------------------------------------------------------------------------------------

def test_archs_and_shards() -> None:
    assert archs("all") is None and archs("1") == 1 and archs("250") == 250
    assert _refused(archs, "0") == "--archs must be >= 1 (got 0)"
    assert _refused(archs, "ALL") == "--archs takes a number or 'all', not 'ALL'"
    assert shard("0/4") == (0, 4) and shard("3/4") == (3, 4) and shard("0/1") == (0, 1)
    for bad in ("4/4", "-1/4", "0/0"):
        assert _refused(shard, bad) == f"--shard I/K needs 0 <= I < K (got {bad})"
    for bad in ("1", "1/2/3", "a/b"):
        assert _refused(shard, bad) == f"--shard takes I/K, e.g. 0/4, not {bad!r}"


def test_archs_per_benchmark() -> None:
    assert archs_per("nb201=1000, nb101 = all,") == {"nb201": 1000, "nb101": None}
    assert archs_per("") == {}
    assert _refused(archs_per, "nb201") == "--archs-per takes BENCH=N pairs, e.g. nb201=1000; bad item 'nb201'"
    assert _refused(archs_per, " =5") == "--archs-per takes BENCH=N pairs, e.g. nb201=1000; bad item ' =5'"
    assert _refused(archs_per, "nb201=5, nb201 =6") == "--archs-per names 'nb201' twice"
    assert _refused(archs_per, "nb201=0") == "--archs-per nb201=0: must be >= 1 (got 0)"  # (its own flag: session 61)
    assert _refused(archs_per, "nb201=5=6") == "--archs-per nb201=5=6: takes a number or 'all', not '5=6'"



def test_search_space_names_the_space_of_a_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    # session 50: `search --space nb301` got argparse's list of choices, not "the DARTS space"
    assert search_space("darts") == "darts" and search_space("nb201") == "nb201" and search_space("nb101") == "nb101"
    assert _refused(search_space, "foo") == "unknown search space 'foo' (searchable: nb201, darts, flexibert)"
    assert _refused(search_space, "nb301") == ("'nb301' is a benchmark (ground truth) of the darts space, not a search "
                                               "space: search its archs with --space darts")
    assert _refused(search_space, "darts_swap").startswith("'darts_swap' is a benchmark (ground truth) of the darts ")
    from swapnas.cli import main
    with pytest.raises(SystemExit):
        main(["search", "--space", "nb301", "--out", "unused"])
    assert capsys.readouterr().err.endswith("argument --space: 'nb301' is a benchmark (ground truth) of the darts "
                                            "space, not a search space: search its archs with --space darts\n")
    with pytest.raises(SystemExit):
        main(["search", "--space", "foo", "--out", "unused"])
    assert capsys.readouterr().err.endswith("argument --space: unknown search space 'foo' (searchable: nb201, darts, "
                                            "flexibert)\n")  # was argparse's choices: nb101 and TransNAS too
    with pytest.raises(SystemExit):
        main(["search", "--space", "dart", "--out", "unused"])
    assert "unknown search space 'dart'; did you mean 'darts'? (searchable: " in capsys.readouterr().err


# --- --net and --mean / --std ---------------------------------------------------------------------------------------

def test_net_options_parse_each_type() -> None:
    assert net_options("C=16, N=2,init=default,lr=0.5,bn=True,x=false,") == \
        {"C": 16, "N": 2, "init": "default", "lr": 0.5, "bn": True, "x": False}
    assert net_options("") == {}
    assert net_options("path=a=b") == {"path": "a=b"}  # the first '=' splits key from value
    got = net_options("a= 3 ,b=1e3")
    assert got == {"a": 3, "b": 1000.0} and type(got["a"]) is int and type(got["b"]) is float


def test_net_options_refusals() -> None:
    assert _refused(net_options, "C16") == \
        "--net takes KEY=VALUE pairs joined by ',', e.g. C=16,N=2; bad item 'C16'"
    assert _refused(net_options, "=3") == "--net takes KEY=VALUE pairs joined by ',', e.g. C=16,N=2; bad item '=3'"
    assert _refused(net_options, "C=1, C =2") == "--net names C twice ('C=1, C =2'); give each key once"
    assert _refused(net_options, "lr=inf") == "--net values must be finite numbers; bad item 'lr=inf'"
    assert _refused(net_options, "lr=nan") == "--net values must be finite numbers; bad item 'lr=nan'"


def _net_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t", exit_on_error=False)
    p.add_argument("--net", type=net_options, action=MergeNet, default={})
    p.add_argument("--refine-net", type=net_options, action=MergeNet, default=None)
    p.add_argument("--sized", type=net_options, action=MergeNet, default={"C": 16, "N": 5})
    return p


def test_net_given_twice_is_merged_and_a_key_twice_refused(capsys: pytest.CaptureFixture[str]) -> None:
    p = _net_parser()
    assert p.parse_args([]).net == {}
    assert p.parse_args(["--net", "C=4"]).net == {"C": 4}
    assert p.parse_args(["--net", "C=4", "--net", "N=1,x=a"]).net == {"C": 4, "N": 1, "x": "a"}
    assert p.get_default("net") == {}  # the default dict is never written into
    # a given value replaces the default (it is not merged into it), whether the default is None or pairs
    assert p.parse_args([]).refine_net is None
    assert p.parse_args(["--refine-net", "N=5", "--refine-net", "C=2"]).refine_net == {"N": 5, "C": 2}
    assert p.parse_args([]).sized == {"C": 16, "N": 5}
    assert p.parse_args(["--sized", "C=4"]).sized == {"C": 4}
    assert p.get_default("sized") == {"C": 16, "N": 5}
    with pytest.raises(SystemExit):
        p.parse_args(["--net", "C=4,N=1", "--net", "N=2,C=3"])
    assert capsys.readouterr().err.endswith("t: error: --net names C, N twice; give each key once\n")


def test_triples() -> None:
    assert triple("0.5, -1,2") == (0.5, -1.0, 2.0) and positive_triple("1,2,3") == (1.0, 2.0, 3.0)
    assert _refused(triple, "1,2") == "expected three numbers R,G,B, got 2 in '1,2'"
    assert _refused(triple, "1,x,3") == "expected three numbers R,G,B like 0.5,0.5,0.5, not '1,x,3'"
    assert _refused(triple, "1,inf,3") == "expected three finite numbers R,G,B, not '1,inf,3'"
    assert _refused(positive_triple, "1,0,3") == "expected three numbers > 0 (a std per channel), not '1,0,3'"
    assert positive_triple("1e-9,1,1") == (1e-9, 1.0, 1.0)


# --- --population and --sample; --help's defaults -------------------------------------------------------------------

def _ea_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t")
    p.add_argument("--population", type=int, action=PopulationAction, default=100)
    p.add_argument("--sample", type=int, default=DefaultSample(DefaultSample.DEFAULT))
    return p


def test_population_lowers_only_the_default_sample() -> None:
    k = DefaultSample.DEFAULT
    assert k == 5
    p = _ea_parser()
    assert p.parse_args([]).sample == k
    assert p.parse_args(["--population", "3"]).sample == 3
    assert p.parse_args(["--population", "3"]).population == 3
    assert p.parse_args(["--population", str(k)]).sample == k
    assert p.parse_args(["--population", "50"]).sample == k
    assert p.parse_args(["--population", "3", "--sample", "4"]).sample == 4
    assert p.parse_args(["--sample", "4", "--population", "3"]).sample == 4
    # a second --population lowers from the default again, not from the first one's value
    assert p.parse_args(["--population", "2", "--population", "4"]).sample == 4


def test_help_shows_a_default_unless_unset_or_already_said() -> None:
    p = argparse.ArgumentParser(prog="t", formatter_class=HelpFormatter)
    p.add_argument("--a", default=3, help="A")
    p.add_argument("--zero", default=0, help="Z")
    p.add_argument("--none", default=None, help="N")
    p.add_argument("--off", action="store_true", help="O")
    p.add_argument("--empty", default={}, help="E")
    p.add_argument("--items", default=[], help="I")
    p.add_argument("--said", default=5, help="S (default 5)")
    p.add_argument("--quiet", default=argparse.SUPPRESS, help="Q")
    p.add_argument("pos", nargs="?", default="x", help="P")
    lines = " ".join(p.format_help().split()) + " "
    for shown in ("A (default: 3)", "Z (default: 0)", "S (default 5) "):
        assert shown in lines
    assert "(default: 5)" not in lines  # its help names the default already
    for bare in ("N ", "O ", "E ", "I ", "Q ", "P "):
        assert f" {bare}" in lines and f"{bare.strip()} (default" not in lines


# --- the shared options: each parent's flags, defaults, types, choices and metavars ---------------------------------

def _table(p: argparse.ArgumentParser) -> dict[str, tuple]:
    return {a.dest: (tuple(a.option_strings), a.default, a.type, a.choices, a.metavar, type(a).__name__)
            for a in p._actions}


def test_global_flags_default_off_on_top_and_suppressed_after_the_subcommand() -> None:
    flags = {"verbose": ("-v", "--verbose"), "quiet": ("-q", "--quiet"), "json": ("--json",)}
    for top, default in ((True, False), (False, argparse.SUPPRESS)):
        assert _table(global_parent(top)) == {
            d: (o, default, None, None, None, "_StoreTrueAction") for d, o in flags.items()}
    assert vars(global_parent(True).parse_args([])) == dict.fromkeys(flags, False)
    assert vars(global_parent().parse_args([])) == {}
    assert vars(global_parent().parse_args(["-v", "-q", "--json"])) == dict.fromkeys(flags, True)
    assert _table(global_parent()) == _table(global_parent(top=False))


def test_device_data_and_store_options() -> None:
    assert _table(device_parent()) == {
        "device": (("--device",), "auto", device_name, None, None, "_StoreAction"),
        "no_progress": (("--no-progress",), False, None, None, None, "_StoreTrueAction")}
    assert _table(data_parent()) == {"data_dir": (("--data-dir",), None, path_text, None, None, "_StoreAction")}
    store = {"store": (("--store",), None, path_text, None, None, "_StoreAction")}
    assert _table(store_parent(retry=False)) == store
    assert _table(store_parent()) == store | {
        "retry_failed": (("--retry-failed",), False, None, None, None, "_StoreTrueAction"),
        "allow_failures": (("--allow-failures",), False, None, None, None, "_StoreTrueAction")}
    assert "(default: exit 3 after writing the results)" in store_parent()._actions[-1].help


def test_executor_options() -> None:
    assert _table(executor_parent()) == {
        "executor": (("--executor",), "local", None, ["local", "ray"], None, "_StoreAction"),
        "address": (("--address",), None, None, None, "ADDR", "_StoreAction"),
        "ray_cpus": (("--ray-cpus",), None, positive_int, None, "N", "_StoreAction"),
        "ray_gpus": (("--ray-gpus",), None, ray_gpus, None, "G", "_StoreAction"),
        "workers": (("--workers",), None, workers_int, None, "N", "_StoreAction"),
        "threads": (("--threads",), 1, threads_int, None, "T", "_StoreAction"),
        "prefetch": (("--prefetch",), 0, prefetch_int, None, "K", "_StoreAction")}


def test_scoring_options() -> None:
    table = _table(scoring_parent())
    assert table.pop("archs") == (("--archs",), 1000, archs, None, None, "_StoreAction")
    assert type(scoring_parent().get_default("archs")) is DefaultArchs
    assert table == {
        "proxies": (("--proxies",), "swap,swap_reg,params", None, None, None, "_StoreAction"),
        "seed": (("--seed",), 0, seed_int, None, None, "_StoreAction"),
        "batch_size": (("--batch-size",), None, samples_int, None, None, "_StoreAction"),
        "repeats": (("--repeats",), None, repeats_int, None, None, "_StoreAction"),
        "net": (("--net",), {}, net_options, None, "K=V,…", "MergeNet"),
        "init": (("--init",), None, None, ["gaussian", "default"], None, "_StoreAction"),
        "mu": (("--mu",), None, finite_float, None, None, "_StoreAction"),
        "sigma": (("--sigma",), None, positive_float, None, None, "_StoreAction"),
        "inputs": (("--inputs",), "real", None, ["real", "synthetic"], None, "_StoreAction"),
        "fill": (("--fill",), "augment", None, ["augment", "error"], None, "_StoreAction"),
        "image_root": (("--image-root",), None, path_text, None, None, "_StoreAction"),
        "num_classes": (("--num-classes",), None, positive_int, None, "K", "_StoreAction"),
        "resolution": (("--resolution",), None, resolution_int, None, "R", "_StoreAction"),
        "mean": (("--mean",), None, unit_triple, None, "R,G,B", "_StoreAction"),
        "std": (("--std",), None, positive_triple, None, "R,G,B", "_StoreAction"),
        "shard": (("--shard",), None, shard, None, "I/K", "_StoreAction")}
    ns = scoring_parent().parse_args(["--net", "C=4", "--net", "N=1", "--archs", "all"])
    assert ns.net == {"C": 4, "N": 1} and ns.archs is None


def test_every_parent_is_a_parent_without_help_whose_every_option_is_explained() -> None:
    for p in (global_parent(), device_parent(), data_parent(), store_parent(), executor_parent(), scoring_parent()):
        assert p.add_help is False and not any(a.option_strings == ["-h", "--help"] for a in p._actions)
        assert all(isinstance(a.help, str) and len(a.help) > 10 for a in p._actions)
