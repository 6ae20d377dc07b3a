"""docs/outputs.md names every key of every output file and ``--json`` document (session 69: an audit found most keys
documented nowhere a user would look). Each test reads the keys an output really writes — from a file written in
tmp_path, the dataclass that becomes the JSON, or, where only a real run would make the document, the dict literals
of the function that builds it — and fails on a key the page does not name in a code span. No arch is scored (one
tiny training run on synthetic images; NB201's table is a stand-in of three archs)."""

from __future__ import annotations

import ast
import csv
import inspect
import json
import re
import textwrap
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "outputs.md"
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|",
         "|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
         "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"]


def named() -> set[str]:
    """Every name an inline code span of docs/outputs.md gives as a key: a span of names alone (``spearman_ci``,
    ``results[].spearman_ci``, ``params, flops``) names each of its words; a span of other text (``swap@1[mu=…]``,
    a command) names none, so a key is not taken as documented because its word appears in an example."""
    prose = re.sub(r"```.*?```", "", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    spans = [s for s in re.findall(r"`([^`]+)`", prose) if re.fullmatch(r"[A-Za-z0-9_\[\]., /{}]+", s)]
    return {w for span in spans for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}


def unnamed(keys: Any) -> list[str]:
    """The keys the page does not name (a key of several words, such as ``params, flops``, by each word)."""
    words = named()
    return sorted(k for k in set(keys) if not set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", k)) <= words)


def literal_keys(func: Any, having: str | None = None) -> set[str]:
    """The string keys of the dict literals in ``func``'s source (only those of a literal with the key ``having``,
    where given): an output a test cannot make without scoring is read from the code that builds it."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(func)))):
        if isinstance(node, ast.Dict):
            own = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            if having is None or having in own:
                keys |= own
    return keys


def all_keys(doc: Any, skip: tuple[str, ...] = ()) -> set[str]:
    """Every dict key in a JSON document, nested ones too, except under keys in ``skip`` (maps keyed by data: proxy
    names, archs, fingerprints)."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.add(k)
            if k not in skip:
                out |= all_keys(v, skip)
    elif isinstance(doc, list):
        for v in doc:
            out |= all_keys(v, skip)
    return out


def _protocol() -> Any:
    from swapnas.scoring import Protocol

    return Protocol(space="nb201", dataset="cifar10", batch_size=4, net={"C": 4, "N": 1}, batch_digest="0" * 16,
                    classes=10, net_version="2")  # classes and net_version: the keys written only where set


def _proxy_result(space: str = "nb201") -> Any:
    from swapnas.results import ProxyResult

    return ProxyResult("params", "params@1", space, "cifar10", 3, 0, 0.5, 0.3, (0.1, 0.9), float("nan"), 0.2, 0.01,
                       True, [], 0, 1, 1.0, 0)


def test_the_helpers_find_a_missing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a name outside every code span is missing, one inside a span (alone or in a dotted path) is
    named."""
    page = tmp_path / "outputs.md"
    page.write_text("`reused_archs` and `results[].spearman_ci`, but partly_reused_archs in prose\n"
                    "```\n`fenced_name`\n```\n", encoding="utf-8")
    monkeypatch.setitem(globals(), "DOC", page)
    assert unnamed({"reused_archs", "spearman_ci", "results", "partly_reused_archs", "fenced_name"}) == [
        "fenced_name", "partly_reused_archs"]


def test_provenance_and_protocol_keys_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from swapnas import results
    from swapnas.scoring import fingerprinted

    for name in results.ENVIRONMENT:
        monkeypatch.setenv(name, "/tmp/outdoc" if results.ENVIRONMENT[name] else "1")
    prov = results.provenance(device="cpu", threads=1)
    keys = {*prov, *literal_keys(results.provenance), *literal_keys(results._cwd), *literal_keys(results._environment)}
    assert {"source", "environment", "device", "threads", "created_utc"} <= keys
    assert unnamed(keys | set(prov["environment"])) == []
    described = _protocol().describe()
    assert {"classes", "net_version", "fingerprint"} <= set(described)
    assert unnamed(described) == []
    assert set(fingerprinted(described)) < set(described)


def test_correlate_results_json_and_csv_keys_are_named(tmp_path: Path) -> None:
    from swapnas.correlation import correlate_proxies, write_outputs
    from swapnas.results import CorrelateRun, ProxyResult

    assert unnamed(f.name for f in fields(ProxyResult)) == []
    boot = literal_keys(correlate_proxies)  # the bootstrap block, built as the archs are scored
    assert {"resamples", "seed", "interval", "draws"} <= boot
    run = CorrelateRun(_protocol().describe(), "truth", "", [_proxy_result()], {"params": [1.0, None, 3.0]},
                       [1.0, 2.0, 3.0], ARCHS, 1.0, 1, 1, "cpu", dict.fromkeys(boot, 0), [1.0, 2.0, None],
                       {"params@1": "then"})
    write_outputs(run, tmp_path / "corr")
    doc = json.loads((tmp_path / "corr" / "results.json").read_text(encoding="utf-8"))
    keys = all_keys(doc, skip=("scores", "reused_from_other_code", "environment"))
    assert {"reused_archs", "partly_reused_archs", "benchmark", "spearman_ci", "top10_precision"} <= keys
    assert unnamed(keys) == []
    with open(tmp_path / "corr" / "results.csv", encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert unnamed(c for c in header if c not in doc["scores"]) == []  # a proxy's column is named by the proxy


def test_grid_json_keys_are_named(tmp_path: Path) -> None:
    from swapnas.grid import GridColumn, write_grid

    column = GridColumn("nb201", "cifar10", "truth", _protocol().describe(), "", 3, 1.0, [asdict(_proxy_result())],
                        None, 0, 0, [], {}, {})
    write_grid([column], tmp_path / "grid", "swapnas grid", "cpu")
    doc = json.loads((tmp_path / "grid" / "grid.json").read_text(encoding="utf-8"))
    keys = all_keys(doc, skip=("environment",))
    assert {"columns", "other_code", "not_applicable", "hidden", "n_archs"} <= keys
    assert unnamed(keys | {f.name for f in fields(GridColumn)}) == []


def test_conformance_json_keys_are_named(tmp_path: Path) -> None:
    from swapnas.conformance import ConformanceRow, ConformanceRun, write_outputs

    row = ConformanceRow("jacob_cov", "jacov", 3, 0.9, 0.5, 0.6, 0, 0, 0.1, 0.2, True, [], (0.1, 1.0))
    run = ConformanceRun(_protocol().describe(), "reference", "truth", "", "cpu", 1.0, [row], [], ARCHS,
                         ["(0, 1, 2, 3, 4, 0)"] * 3, [1.0, 2.0, 3.0], {"jacob_cov": [1.0, 2.0, 3.0]},
                         {"jacob_cov": [1.0, 2.0, None]}, 1, 1, {"jacob_cov@1": "then"})
    write_outputs(run, tmp_path / "conf")
    doc = json.loads((tmp_path / "conf" / "conformance.json").read_text(encoding="utf-8"))
    keys = all_keys(doc, skip=("scores", "naslib_scores", "reused_from_other_code", "environment"))
    assert {"reused", "partly_reused", "ci_ours_naslib", "naslib_keys"} <= keys
    assert unnamed(keys | {f.name for f in fields(ConformanceRun)} | {f.name for f in fields(ConformanceRow)}) == []


def _evolution() -> Any:
    """An NB201 EA run for two cycles on a made-up fitness (no scoring): its history, snapshots and state."""
    from swapnas.search.evolution import EAConfig, Evolution
    from swapnas.spaces import get_space

    ea = Evolution(get_space("nb201"), EAConfig(population=3, sample=2, mutations=1, cycles=2), seed=0)
    while not ea.done:
        archs = ea.ask()
        ea.tell(archs, [float(len(str(a))) for a in archs])
    return ea


def test_search_result_json_keys_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import numpy as np

    from swapnas.search import SearchResult, driver, final, fitness
    from swapnas.search.evolution import EAConfig

    ea = _evolution()
    assert unnamed(f.name for f in fields(SearchResult)) == []  # fitness_negated among them
    assert unnamed(f.name for f in fields(EAConfig)) == []  # config
    assert unnamed(all_keys(ea.history) | all_keys(ea.snapshots)) == []
    constraints = literal_keys(driver.run_search, having="max_params_m")
    assert constraints == {"max_params_m", "max_macs_m"}
    assert unnamed(constraints) == []
    refine = literal_keys(fitness.second_stage) | literal_keys(fitness.refine_stage)
    assert {"k", "shortlist", "refined"} <= refine
    assert unnamed(refine) == []
    mapping = literal_keys(final.target_prior) | literal_keys(final.range_prior)  # size_mapping
    assert {"slope_k_per_M", "proxy_range_k"} <= mapping
    assert unnamed(mapping) == []
    result = SearchResult("nb201", "cifar10", ARCHS[0], 1.0, 1.0, 1.0, 1, 0, 1.0, 0, {}, {}, None, None, None, {},
                          [], [])
    bench = types.SimpleNamespace(tasks=("cifar10", "cifar100"), column=lambda name: np.array([1.0, 2.0, 2.0]),
                                  truth=lambda task: types.SimpleNamespace(column=task), index_of=lambda arch: 1)
    monkeypatch.setattr(driver, "get_benchmark", lambda *a, **k: bench)  # NB201's table, three archs of it
    extra = driver.nb201_extras(result, None)
    assert {"valid_rank", "test_regret", "datasets"} <= all_keys(extra)
    assert unnamed(all_keys(extra, skip=("datasets",)) | {k for d in extra["datasets"].values() for k in d}) == []
    flexibert = literal_keys(driver.flexibert_extras)
    assert {"in_benchmark", "benchmark_arch", "distance"} <= flexibert
    assert unnamed(flexibert) == [] and "<task>_score" in DOC.read_text(encoding="utf-8")


def test_search_state_json_keys_are_named() -> None:
    from swapnas.search import driver, state

    keys = (literal_keys(driver.evolve) | literal_keys(state._saved_seconds) | literal_keys(driver._fitness_id)
            | set(state.TIMED_PARTS))  # (session 70: the parts' keys, stage2 and size_mapping, from its table)
    assert {"fitness", "ea", "seconds", "stage2", "size_mapping", "key", "score_seed"} <= keys
    assert unnamed(keys | set(_evolution().state_dict())) == []


def test_train_result_and_history_keys_are_named(tmp_path: Path) -> None:
    from swapnas.train.recipe import TrainConfig
    from swapnas.train.run import run_train

    genotype = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), "
                "('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 2)], "
                "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                "('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
    out = tmp_path / "train"
    result = run_train(genotype, out=out, synthetic=4, epochs=1, max_steps=1, C=4, layers=3, batch_size=2, workers=0,
                       device="cpu", progress=False, lines=False)
    written = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert set(written) == set(result)
    assert unnamed(all_keys(written, skip=("environment",)) | {f.name for f in fields(TrainConfig)}) == []
    history = json.loads((out / "history.json").read_text(encoding="utf-8"))
    assert {"epoch", "train_loss", "test_top5", "seconds"} <= all_keys(history)
    assert unnamed(all_keys(history)) == []


def _store(path: Path) -> Path:
    """A store of one score and one failure, its code for ``params@1`` recorded as other code than this one's."""
    from swapnas.proxies import get_proxy
    from swapnas.store import Record, ScoreStore

    protocol = _protocol()
    with ScoreStore(path) as store:
        store.add_protocol(protocol.fingerprint, protocol.describe())
        for arch, rec in zip(ARCHS, (Record("ok", 1.0, 0.0, [1.0], 0.1, 0, None),
                                     Record("failed", None, None, [], 0.1, None, "boom"))):
            store.put(protocol.key(arch, get_proxy("params")), rec, "cpu")
        store.accept_code("params@1", "0" * 16)  # (code_changed records none beside unrecorded scores)
    return path


def test_store_reports_keys_are_named(tmp_path: Path) -> None:
    from swapnas import cli
    from swapnas.cli import commands
    from swapnas.code_changes import accept_code
    from swapnas.store_merge import merge_stores
    from swapnas.store_tools import SETTING_FIELDS, check_store, salvage_store

    store = _store(tmp_path / "a.sqlite")
    checked = check_store(store).as_json()
    assert checked["settings"] and checked["codes"] and checked["ok"]
    keys = {*checked, *all_keys(checked["settings"]), *SETTING_FIELDS}
    assert unnamed(keys) == []
    assert unnamed(asdict(merge_stores([store], tmp_path / "into.sqlite", mixed_code=True))) == []
    assert unnamed(asdict(salvage_store(store, tmp_path / "salvaged.sqlite"))) == []
    accepted = accept_code(store)
    assert accepted.accepted  # the recorded code was not the running code's
    assert unnamed(asdict(accepted)) == []
    errors = literal_keys(commands.store) | literal_keys(cli._fail)  # a damaged store's, a failed command's
    assert {"error", "exit"} <= errors
    assert unnamed(errors) == []


def test_export_keys_are_named(tmp_path: Path) -> None:
    from swapnas.cli import commands
    from swapnas.export import export

    store = _store(tmp_path / "a.sqlite")
    table = export(store, tmp_path / "scores.csv", "csv")
    with open(table, encoding="utf-8", newline="") as f:
        assert unnamed(next(csv.reader(f))) == []
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text(encoding="utf-8"))
    prov = doc["provenance"]
    setting = prov["settings"]["nb201"]["cifar10"]
    keys = {*prov, *setting, *prov["conventions"]} - {"environment"}
    assert {"settings", "conventions", "proxies", "protocol"} <= keys
    assert unnamed(keys) == []
    records = [v for archs in doc["nb201"].values() for rec in archs.values() for v in rec.values()]
    assert unnamed(all_keys(records)) == []  # score, time
    assert unnamed(literal_keys(commands.print_report)) == []  # csv's --json: "written"


def test_shard_and_proxies_json_keys_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    from swapnas.cli import commands, main

    shard = literal_keys(commands._shard_done) | literal_keys(commands.correlate) | literal_keys(commands.grid)
    assert {"shard", "failed_scores", "store", "archs", "columns"} <= shard
    assert unnamed(shard) == []
    assert main(["proxies", "swap*", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    keys = {*listed, *all_keys(listed["proxies"]), *literal_keys(commands.proxies)}
    assert {"proxies", "aliases", "higher_is_better", "per_space"} <= keys
    assert unnamed(keys) == []
