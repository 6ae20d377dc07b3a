"""``swapnas search``'s body (``swapnas.cli.search_command``) and ``swapnas.search_arch`` (``swapnas.api_search``), from
their mutation run (session 47): arguments parsed by the real parser, the checks, the search, the store, the executor
and the outputs replaced by recorders, and then what each step is given, in which order, what is printed and every
refusal, written out whole."""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from swapnas import api_search
from swapnas.cli import build_parser, commands, search_command
from swapnas.cli.args import EXIT_OK
from swapnas.search import checks as search_checks
from swapnas.search import EAConfig, SearchResult
from swapnas.search.final import exact_m, final_macs, final_net, final_range
from swapnas.search.fitness import SecondStage
from swapnas.spaces import get_space

from .message_tools import refusal


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["search", "--out", "o", *argv])


def _result(space: str = "nb201", dataset: str = "cifar10", **changes: Any) -> SearchResult:
    fields: dict[str, Any] = dict(
        space=space, dataset=dataset, best="ARCH", fitness=1.234567891, params_m=0.12345, macs_m=17.26, evaluations=203,
        cycles=40, wall_seconds=76.84, seed=3, config={"cycles": 40}, protocol={}, mu=None, sigma=None,
        size_mapping=None, constraints={}, history=[], snapshots=[], fitness_proxy="swap_nb201")
    fields.update(changes)
    return SearchResult(**fields)


# --- _search_text --------------------------------------------------------------------------------------------------

def test_the_printout_of_a_plain_search_is_two_lines() -> None:
    assert search_command._search_text(_result(space="darts", extra={"ignored": 1.0})) == (
        "best darts arch (fitness 1.23457, 203 evaluations, 40 cycles, 76.8 s):\nARCH\n"
        "fitness swap_nb201 | final network: 0.123 M params, 17.3 M multiply-adds | size prior none")


def test_the_printout_names_the_prior_the_notes_and_the_second_stage() -> None:
    refine = {"shortlist": [{"arch": "OTHER", "refined": 2.0}, {"arch": "ARCH", "refined": 3.0}],
              "net": {"C": 16, "N": 5}, "batch_size": 20, "repeats": 1}
    result = _result(space="darts", mu=4.5, sigma=0.75, cycles=12, refine=refine,
                     size_mapping={"target_m": 5.0, "tolerance": 0.1})
    assert search_command._search_text(result) == (
        "best darts arch (fitness 1.23457, 203 evaluations, 12 cycles, 76.8 s):\nARCH\n"
        "fitness swap_nb201 | final network: 0.123 M params, 17.3 M multiply-adds | size prior mu=4.5 sigma=0.75\n"
        "stopped after cycle 12 of 40 by --max-evals / --max-seconds: rerun the same command with a larger budget "
        "(or none) to continue it\n"
        "the final network's 0.123 M params miss --target-params 5M by more than --tolerance 0.1 (the size prior "
        "aims, it does not constrain: add --max-params for a limit)\n"
        "Second stage: the 2 fittest re-scored on C=16,N=5, S=20, R=1; returned the arch the first stage ranked #2: "
        "the fitness shown is its second-stage value")


def _nb201_extra(datasets: dict) -> dict:
    return {"valid_accuracy": 91.6049, "valid_rank": 3, "valid_tied": 1, "test_accuracy": 94.3667, "test_rank": 1,
            "test_tied": 2, "test_optimum": 94.3667, "test_regret": 0.0, "datasets": datasets}


def test_the_printout_of_an_nb201_search_gives_its_ground_truth_on_every_dataset() -> None:
    datasets = {"cifar10": {"test_accuracy": 94.3667, "test_rank": 1, "test_tied": 2},
                "cifar100": {"test_accuracy": 73.4933, "test_rank": 4, "test_tied": 1},
                "imagenet16-120": {"test_accuracy": 46.2, "test_rank": 18, "test_tied": 3}}
    text = search_command._search_text(_result(extra=_nb201_extra(datasets)))
    assert text.splitlines()[3:] == [
        "NB201 cifar10: valid 91.60 (rank 3), test 94.37 (rank 1 (2 tied), optimum 94.37, regret 0.00)",
        "the same arch on the other NB201 datasets: cifar100 test 73.49 (rank 4), imagenet16-120 test 46.20 "
        "(rank 18 (3 tied))"]
    alone = search_command._search_text(_result(extra=_nb201_extra({"cifar10": datasets["cifar10"]})))
    assert alone.splitlines()[3:] == [
        "NB201 cifar10: valid 91.60 (rank 3), test 94.37 (rank 1 (2 tied), optimum 94.37, regret 0.00)"]
    older = _nb201_extra({})
    del older["datasets"]  # a result.json written before session 25 has no other datasets
    assert search_command._search_text(_result(extra=older)).splitlines()[3:] == alone.splitlines()[3:]
    assert search_command._search_text(_result()).count("\n") == 2  # no ground truth: none printed


def test_the_printout_of_a_flexibert_search_names_the_benchmark_arch() -> None:
    inside = {"in_benchmark": 1, "benchmark_arch": "B", "distance": 0, "glue_score": 78.456, "rank": 7, "tied": 2,
              "of": 491, "optimum": 80.1}
    text = search_command._search_text(_result(space="flexibert", dataset="glue", extra=inside))
    assert text.splitlines()[3] == ("FlexiBERT-500 glue: in the benchmark, score 78.46 (rank 7 (2 tied) of 491, "
                                    "optimum 80.10)")
    outside = {**inside, "in_benchmark": 0, "distance": 3, "tied": 1}
    text = search_command._search_text(_result(space="flexibert", dataset="glue", extra=outside))
    assert text.splitlines()[3] == ("FlexiBERT-500 glue: not in the benchmark; nearest benchmark arch (3 choices "
                                    "differ): B, score 78.46 (rank 7 of 491, optimum 80.10)")
    assert len(text.splitlines()) == 4
    assert text.splitlines()[2].startswith("fitness swap_nb201 | final network: 0.123 M params, 17.3 M multiply-adds "
                                           "(one sequence of 128 tokens) | size prior")  # session 51: of what
    one = search_command._search_text(_result(space="flexibert", dataset="glue", extra={**outside, "distance": 1}))
    assert "nearest benchmark arch (1 choice differs): B" in one  # was "(1 choices differ)"


# --- _search_checks ------------------------------------------------------------------------------------------------

@pytest.fixture
def checks(monkeypatch) -> list:
    """Every check _search_checks calls, as a recorder writing to one log (in call order)."""
    log: list = []

    def rec(name: str, value: Any = None) -> Any:
        def call(*a: Any, **kw: Any) -> Any:
            log.append((name, a, kw))
            return value
        return call

    class Space:  # the space module: its final networks, and what the size checks are given
        FINAL_NETS = {"first": 1, "second": 2}
    mod = Space
    monkeypatch.setattr(search_checks, "searchable_space", rec("searchable_space"))
    monkeypatch.setattr(search_checks, "get_space", rec("get_space", Space))
    monkeypatch.setattr(search_checks, "resolve_data_dir", rec("resolve_data_dir"))
    monkeypatch.setattr(search_checks, "final_net", rec("final_net", "FINAL"))
    monkeypatch.setattr(search_checks, "check_size_flags", rec("check_size_flags"))
    monkeypatch.setattr(search_checks, "check_max_params", rec("check_max_params"))
    monkeypatch.setattr(search_checks, "check_max_macs", rec("check_max_macs"))
    monkeypatch.setattr(search_checks, "check_target_params", rec("check_target_params"))
    monkeypatch.setattr(search_checks, "protocol_defaults", rec("protocol_defaults", {"net": {"base": 1}}))
    monkeypatch.setattr(search_checks, "scoring_net", rec("scoring_net"))
    log.append(("mod", mod))
    return log


class _Chosen(str):
    """The chosen proxy as the log names it, with the key the checks return (session 52: resume_line reads it)."""
    key, name = "F@1[w=1]", "F"  # (its name: swap_reg's key takes --mu/--sigma, since session 63)


def _choose(monkeypatch, log: list, stage: SecondStage) -> None:
    def choose(*a: Any, **kw: Any) -> tuple:
        log.append(("choose_fitness", a, kw))
        return _Chosen("CHOSEN"), stage
    monkeypatch.setattr(search_checks, "choose_fitness", choose)


def test_the_checks_get_every_flag_and_default_the_dataset_to_the_first_final_network(checks, monkeypatch) -> None:
    _choose(monkeypatch, checks, SecondStage(20, 1, {"N": 5}, 20))
    mod = checks.pop()[1]
    args = _args("--space", "darts", "--data-dir", "DD", "--fitness", "F", "--refine", "20", "--refine-repeats", "2",
                 "--refine-net", "N=5", "--refine-batch-size", "24", "--mu", "4", "--sigma", "0.5", "--max-params",
                 "3.5", "--max-macs", "600", "--net", "C=8")
    assert search_command._search_checks(args) == "F@1[w=1]"
    assert args.dataset == "first"
    assert checks == [
        ("searchable_space", ("darts",), {}), ("get_space", ("darts",), {}), ("resolve_data_dir", ("DD",), {}),
        ("final_net", ("darts", "first"), {}), ("choose_fitness", ("darts", "F", 20, 2, {"N": 5}, 24), {"warn": False}),
        ("check_size_flags", ("CHOSEN",), {"mu": 4.0, "sigma": 0.5, "target_params": None, "prior": None}),
        ("get_space", ("darts",), {}), ("check_max_params", (mod, "FINAL", 3.5), {}),
        ("check_max_macs", (mod, "FINAL", 600.0), {}), ("check_target_params", (mod, "FINAL", None, 3.5), {}),
        ("protocol_defaults", ("darts", ["CHOSEN"]), {}),
        ("scoring_net", ("darts", "first", {"C": 8}, {"base": 1}), {}),
        ("scoring_net", ("darts", "first", {"C": 8, "N": 5}, {"base": 1}), {"flag": "--refine-net"})]


def test_the_checks_keep_a_given_dataset_and_skip_an_idle_second_stage_network(checks, monkeypatch) -> None:
    for stage in (SecondStage(20, 1, {}, 20), SecondStage(1, 1, {"N": 5}, 20)):
        _choose(monkeypatch, checks, stage)
        del checks[:]
        args = _args("--dataset", "cifar100", "--target-params", "1.5", "--prior", "0.8", "0.5", "--tolerance", "0.2")
        search_command._search_checks(args)
        assert args.dataset == "cifar100"
        assert [c[0] for c in checks].count("scoring_net") == 1  # the first stage's network only
        assert ("final_net", ("nb201", "cifar100"), {}) in checks
        assert ("check_size_flags", ("CHOSEN",), {"mu": None, "sigma": None, "target_params": 1.5,
                                                   "prior": (0.8, 0.5)}) in checks


@pytest.mark.parametrize(("argv", "stage", "message"), [
    (("--refine-net", "N=5"), SecondStage(0, 4, {"N": 5}),
     "--refine-net set the second stage, and this search has none (--fitness best on nb201: a second stage re-scores "
     "the K >= 2 fittest archs); add --refine K, or leave them out"),
    (("--refine", "1", "--refine-repeats", "2", "--refine-batch-size", "8"), SecondStage(1, 2, {}, 8),
     "--refine-repeats, --refine-batch-size set the second stage, and this search has none (--refine 1: a second "
     "stage re-scores the K >= 2 fittest archs); add --refine K, or leave them out"),
    (("--tolerance", "0.3"), SecondStage(20, 1, {}, 20),
     "--tolerance 0.3 is the relative width of --target-params, which is not given; add --target-params SIZE (e.g. "
     "4.0M), or leave --tolerance out"),
    (("--prior", "0.8", "0"), SecondStage(0, 4), "--prior CENTRE WIDTH: WIDTH must be > 0 (got 0.0)"),
    (("--prior", "0.8", "-0.5"), SecondStage(0, 4), "--prior CENTRE WIDTH: WIDTH must be > 0 (got -0.5)"),
])
def test_the_checks_refuse_flags_that_would_do_nothing(checks, monkeypatch, argv, stage, message) -> None:
    _choose(monkeypatch, checks, stage)
    assert refusal(ValueError, lambda: search_command._search_checks(_args(*argv))) == message


def test_the_checks_pass_the_edges_of_their_refusals(checks, monkeypatch) -> None:
    _choose(monkeypatch, checks, SecondStage(2, 4, {"N": 3}, None))  # K = 2: a second stage runs, on its network
    search_command._search_checks(_args("--refine", "2", "--refine-repeats", "2", "--refine-net", "N=3"))
    assert checks[-1] == ("scoring_net", ("nb201", "first", {"N": 3}, {"base": 1}), {"flag": "--refine-net"})
    _choose(monkeypatch, checks, SecondStage(1, 4))
    search_command._search_checks(_args("--prior", "0.8", "0.001", "--tolerance", "0.2", "--target-params", "1"))
    search_command._search_checks(_args("--prior", "0.8", "1"))


def test_the_real_checks_refuse_a_search_before_out_exists(small_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"

    def check(*argv: str) -> str:
        args = build_parser().parse_args(["search", "--out", str(out), "--data-dir", str(small_bundle), *argv])
        return refusal(ValueError, lambda: search_command._search_checks(args))
    nb201, final = get_space("nb201"), final_net("nb201", "cifar10")  # the sizes: tested in test_review21_search
    lo, hi = final_range(nb201, final)
    assert check("--max-params", "0.01") == (f"--max-params 0.01M is below the smallest final network of this space "
                                             f"({exact_m(lo)}M; its range is {exact_m(lo)}-{exact_m(hi)}M): no "
                                             "arch is feasible; raise the limit")
    lo = final_macs(nb201, nb201.smallest_arch(), final)
    assert check("--max-macs", "1") == (f"--max-macs 1M is below the smallest final network of this space "
                                        f"({exact_m(lo)}M multiply-adds): no arch is feasible; raise the limit")
    assert check("--target-params", "1.0", "--max-params", "0.5") == (
        "--target-params 1M is above --max-params 0.5M: no feasible arch has that size; lower the target or raise "
        "the limit")
    assert check("--refine-net", "X=1").startswith("--refine-net option(s) X are not options of the nb201 network")
    assert check("--net", "X=1").startswith("--net option(s) X are not options of the nb201 network")
    assert not out.exists()


# --- search_run and search -----------------------------------------------------------------------------------------

class Context:
    """A context manager that writes its entry and exit into ``log``."""

    def __init__(self, name: str, log: list) -> None:
        self.name, self.log = name, log

    def __enter__(self) -> Context:
        self.log.append(f"enter {self.name}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append(f"exit {self.name}")


@pytest.fixture
def run(monkeypatch, tmp_path) -> dict:
    """search_run's collaborators as recorders; the dict holds the log, the run_search keywords and the result."""
    got: dict = {"log": [], "result": _result()}
    log = got["log"]

    @contextlib.contextmanager
    def lock(out: Path) -> Iterator[None]:
        log.append(f"lock {out.name}")
        try:
            yield
        finally:
            log.append("unlock")

    def run_search(space: str, dataset: str, **kw: Any) -> SearchResult:
        log.append(f"run_search {space} {dataset}")
        got["kw"] = kw
        return got["result"]

    def store_for(args: argparse.Namespace) -> Context:
        log.append(f"store_for {args.out}")
        got["store"] = Context("store", log)
        return got["store"]

    def executor_of(args: argparse.Namespace) -> tuple:
        log.append(f"executor_of {args.out}")
        got["executor"] = Context("executor", log)
        got["executor"].threads = 3  # (its workers' torch threads: the provenance records them, session 70)
        return got["executor"], "DEVICE"

    def extras(result: SearchResult, data_dir: str | None) -> dict:
        log.append(f"extras {result.best} {data_dir}")
        return {"from": "extras"}

    def write(result: SearchResult, out: Path, device: str, threads: int) -> list:
        log.append(f"write {result.best} {out.name} {device} {threads}")
        return ["W"]
    def checks(args: argparse.Namespace) -> str:
        log.append(f"checks {args.space}")
        args.dataset = args.dataset or "first"  # as the real checks do
        return "F@1[w=1]"  # the fitness key, as they return it
    monkeypatch.setattr(search_command, "_search_checks", checks)
    monkeypatch.setattr(search_command, "out_folder", lambda args: log.append("out_folder") or tmp_path / args.out)
    monkeypatch.setattr(search_command, "out_lock", lock)
    monkeypatch.setattr(search_command, "executor_of", executor_of)
    monkeypatch.setattr(commands, "store_for", store_for)  # (store_in, shared since session 62, opens it)
    monkeypatch.setattr(search_command, "run_search", run_search)
    monkeypatch.setattr(search_command, "SEARCH_EXTRAS", {"nb201": extras})
    monkeypatch.setattr(search_command, "write_result", write)
    return got


def test_search_run_passes_every_option_to_the_search_in_order(run, tmp_path) -> None:
    args = _args("--data-dir", "DD", "--seed", "4", "--score-seed", "5", "--mu", "1", "--sigma", "2", "--max-params",
                 "3", "--max-macs", "400", "--max-evals", "50", "--max-seconds", "60", "--net", "C=8", "--batch-size",
                 "12", "--repeats", "3", "--fitness", "swap", "--refine", "7", "--refine-repeats", "2", "--refine-net",
                 "N=2", "--refine-batch-size", "9", "--population", "11", "--sample", "3", "--mutations", "4",
                 "--cycles", "6", "--crossover", "0.25", "--no-progress")
    result, written = search_command.search_run(args)
    assert result is run["result"] and written == ["W"] and result.extra == {"from": "extras"}
    assert run["log"] == ["checks nb201", "out_folder", "lock o", "executor_of o", "enter executor", "store_for o",
                          "enter store", "run_search nb201 first", "exit store", "exit executor", "extras ARCH DD",
                          "write ARCH o DEVICE 3", "unlock"]
    assert run["kw"] == dict(
        config=EAConfig(11, 3, 4, 6, 0.25), seed=4, store=run["store"], out=tmp_path / "o", device="DEVICE",
        score_seed=5, mu=1.0, sigma=2.0, target_params=None, tolerance=None, prior=None, max_params=3.0,
        max_macs=400.0, max_evals=50, max_seconds=60.0, net={"C": 8}, batch_size=12, repeats=3, data_dir="DD",
        progress=False, fitness="swap", refine=7, refine_repeats=2, refine_net={"N": 2}, refine_batch_size=9,
        executor=run["executor"])


def test_search_run_passes_the_size_rule_as_given(run) -> None:
    search_command.search_run(_args("--target-params", "1.5", "--tolerance", "0.3"))
    assert (run["kw"]["target_params"], run["kw"]["tolerance"], run["kw"]["prior"]) == (1.5, 0.3, None)
    search_command.search_run(_args("--prior", "0.8", "0.5"))
    # (tolerance: None since session 65, run_search applies the default, DEFAULT_TOLERANCE, itself)
    assert (run["kw"]["target_params"], run["kw"]["tolerance"], run["kw"]["prior"]) == (None, None, (0.8, 0.5))
    assert run["kw"]["progress"] is True and run["kw"]["config"] == EAConfig()


@pytest.mark.parametrize(("argv", "warned"), [
    (("--sample", "1", "--crossover", "0.5"), True), (("--sample", "1", "--crossover", "1"), True),
    (("--sample", "1", "--crossover", "0.01"), True), (("--sample", "1", "--crossover", "0"), False),
    (("--sample", "2", "--crossover", "1"), False), (("--sample", "3", "--crossover", "0.5"), False)])
def test_search_run_warns_of_a_crossover_that_a_tournament_of_one_cannot_do(run, caplog, argv, warned) -> None:
    with caplog.at_level(logging.WARNING, logger="swapnas"):
        search_command.search_run(_args(*argv))
    crossover = argv[3]
    expected = [f"--sample 1: a crossover takes the best two of the tournament, so --crossover {float(crossover):g} "
                "does nothing; give --sample 2 or more, or --crossover 0"] if warned else []
    assert [r.getMessage() for r in caplog.records if r.name == search_command.log.name] == expected
    assert all(r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize("error", [FileNotFoundError("no table"), ValueError("bad table")])
def test_search_run_writes_its_result_without_the_ground_truth_it_cannot_read(run, monkeypatch, capsys, error) -> None:
    def fails(result: SearchResult, data_dir: str | None) -> dict:
        raise error
    monkeypatch.setitem(search_command.SEARCH_EXTRAS, "nb201", fails)
    result, written = search_command.search_run(_args())
    assert result.extra == {} and written == ["W"] and run["log"][-2:] == ["write ARCH o DEVICE 3", "unlock"]
    assert capsys.readouterr().err == f"swapnas: warning: no nb201 ground truth for the found arch ({error})\n"


def test_search_run_lets_other_errors_of_the_ground_truth_through(run, monkeypatch) -> None:
    def fails(result: SearchResult, data_dir: str | None) -> dict:
        raise KeyError("a bug")
    monkeypatch.setitem(search_command.SEARCH_EXTRAS, "nb201", fails)
    with pytest.raises(KeyError):
        search_command.search_run(_args())
    assert run["log"][-1] == "unlock"


def test_search_run_asks_no_ground_truth_of_a_space_without_one(run) -> None:
    run["result"] = _result(space="darts")
    result, _ = search_command.search_run(_args("--space", "darts", "--data-dir", "DD"))
    assert result.extra == {} and not [line for line in run["log"] if line.startswith("extras")]


def test_search_prints_the_result_and_returns_ok(monkeypatch) -> None:
    result = _result()
    seen: list = []
    monkeypatch.setattr(search_command, "search_run", lambda args: (result, ["a", "b"]) if args.out == "there" else 0)
    monkeypatch.setattr(search_command, "print_report", lambda *a: seen.append(a))
    args = _args("--out", "there")
    assert search_command.search(args) == EXIT_OK
    assert seen == [(args, search_command._search_text(result), ["a", "b"], Path("there") / "result.json")]


# --- swapnas.search_arch -------------------------------------------------------------------------------------------

def test_the_raising_parser_raises_value_error_naming_search_arch() -> None:
    assert refusal(ValueError, lambda: api_search._RaisingParser().error("bad value")) == \
        "swapnas.search_arch: bad value"


def test_the_actions_hold_the_global_and_the_search_options() -> None:
    actions = api_search._actions(build_parser())
    assert actions["--verbose"].dest == "verbose" and actions["-q"].dest == "quiet"  # global
    assert actions["--fitness"].dest == "fitness" and actions["--refine-net"].dest == "refine_net"  # search's own
    assert "--proxies" not in actions  # correlate's


def test_each_keyword_becomes_the_command_lines_tokens() -> None:
    actions = api_search._actions(build_parser())
    assert api_search._tokens(actions, "no_progress", True) == ["--no-progress"]
    assert api_search._tokens(actions, "no_progress", False) == []
    assert api_search._tokens(actions, "seed", None) == []
    assert api_search._tokens(actions, "seed", 3) == ["--seed=3"]
    assert api_search._tokens(actions, "fitness", "-x") == ["--fitness=-x"]
    assert api_search._tokens(actions, "net", {"C": 16, "N": 5}) == ["--net=C=16,N=5"]
    assert api_search._tokens(actions, "refine_net", {}) == ["--refine-net="]
    assert api_search._tokens(actions, "prior", (0.8, 5e-05)) == ["--prior", "0.8", "0.00005"]
    assert api_search._tokens(actions, "prior", [1, "2"]) == ["--prior", "1", "2"]


def test_a_bool_for_a_value_or_a_non_bool_for_a_flag_is_a_type_error() -> None:
    actions = api_search._actions(build_parser())
    assert refusal(TypeError, lambda: api_search._tokens(actions, "no_progress", 1)) == \
        "swapnas.search_arch: no_progress is a flag: pass True or False (got 1)"
    assert refusal(TypeError, lambda: api_search._tokens(actions, "refine", False)) == \
        "swapnas.search_arch: refine takes a value (--refine K), not False; pass None (or leave it out) for the default"
    assert refusal(TypeError, lambda: api_search._tokens(actions, "seed", True)) == \
        "swapnas.search_arch: seed takes a value (--seed SEED), not True; pass None (or leave it out) for the default"


@pytest.fixture
def parsed(monkeypatch) -> list:
    """search_run replaced: the namespaces search_arch parses, and the thread count inside the call."""
    seen: list = []

    def search_run(args: argparse.Namespace) -> tuple:
        seen.append((args, torch.get_num_threads()))
        torch.set_num_threads(1)  # as the command's --threads does
        return "RESULT", ["written"]
    monkeypatch.setattr(search_command, "search_run", search_run)
    return seen


def test_search_arch_parses_the_keywords_as_the_command_and_returns_the_result(parsed, tmp_path) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        got = api_search.search_arch("darts", "cifar10", out=tmp_path / "o", seed=2, net={"C": 8}, no_progress=True,
                                     prior=(0.8, 0.5), fitness="swap_reg")
        assert got == "RESULT" and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    args, threads = parsed[0]
    assert threads == 2
    assert (args.command, args.space, args.dataset, args.out, args.seed, args.net, args.no_progress, args.prior,
            args.fitness) == ("search", "darts", "cifar10", str(tmp_path / "o"), 2, {"C": 8}, True, [0.8, 0.5],
                              "swap_reg")
    api_search.search_arch(out="p")
    assert (parsed[1][0].space, parsed[1][0].dataset, parsed[1][0].out) == ("nb201", None, "p")


def test_search_arch_gives_the_threads_back_when_the_search_fails(monkeypatch) -> None:
    def fails(args: argparse.Namespace) -> tuple:
        torch.set_num_threads(1)
        raise ValueError("refused")
    monkeypatch.setattr(search_command, "search_run", fails)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert refusal(ValueError, lambda: api_search.search_arch(out="o")) == "refused"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_search_arch_refuses_an_unknown_option_listing_every_option(parsed) -> None:
    message = refusal(TypeError, lambda: api_search.search_arch(out="o", zeta=1, alpha=2))
    known = sorted(set(vars(build_parser().parse_args(["search", "--out", "o"]))) -
                   {"command", "func", "out", "space", "dataset"})
    assert message == (f"swapnas.search_arch() got unknown option(s) alpha, zeta; it takes swapnas search's options "
                       f"with _ for -: {', '.join(known)}")
    assert "seed" in known and "func" not in message.split(": ")[-1].split(", ") and not parsed
    for own in ("command", "func"):  # what the parse gives beside the options is no option
        assert refusal(TypeError, lambda: api_search.search_arch(out="o", **{own: 1})).startswith(
            f"swapnas.search_arch() got unknown option(s) {own}; ")


def test_search_arch_a_bad_value_is_the_parsers_value_error(parsed) -> None:
    assert refusal(ValueError, lambda: api_search.search_arch(out="o", seed="x")).startswith(
        "swapnas.search_arch: argument --seed: ")
    assert not parsed
