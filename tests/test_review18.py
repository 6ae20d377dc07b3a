"""Session 18's fixes, each with a test that fails without it."""

from __future__ import annotations

import json
import random
import warnings

import pytest
import torch

from swapnas import SaturationWarning, scoring
from swapnas.data import load_batch
from swapnas.proxies import Proxy, get_proxy, register, resolve
from swapnas.scoring import Protocol, score_arch
from swapnas.spaces import nb201
from tests.registry_tools import registry_snapshot

CPU = torch.device("cpu")


@pytest.fixture()
def fresh_warning_state(monkeypatch):
    monkeypatch.setattr(scoring, "_SATURATION_SHOWN", {})


def _saturated_run(proxies: list[Proxy], n: int) -> list[warnings.WarningMessage]:
    """``n`` NB201 archs on S = 2 samples: 2**S = 4 patterns, far below the network's neurons, so Ψ = 4."""
    batch = load_batch("cifar10", 2, inputs="synthetic", seed=1)
    prot = Protocol("nb201", "cifar10", 2, repeats=2, seed=0, net={"C": 4, "N": 1}, batch_digest=batch.digest)
    rng = random.Random(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(n):
            recs = score_arch(nb201.sample(rng), nb201.build, proxies, batch, prot, CPU)
            assert all(r.ok for r in recs.values())
    return caught


def test_a_saturated_run_shows_one_saturation_warning_per_proxy(fresh_warning_state) -> None:
    proxies = [get_proxy("swap"), get_proxy("swap_reg").configure(mu=1.0, sigma=1.0), get_proxy("swap_ext")]
    caught = _saturated_run(proxies, 4)  # 4 archs x 2 repeats: 8 saturated scores per proxy
    sat = [w for w in caught if issubclass(w.category, SaturationWarning)]
    assert len(sat) == 2, [str(w.message) for w in sat]  # swap's and swap_ext's first (swap_reg reuses swap's)
    assert "the first for 'swap' of this protocol in this process" in str(sat[0].message)
    assert "the first for 'swap_ext' of this protocol in this process" in str(sat[1].message)
    assert "SWAP-Score 4 is 100% of its ceiling" in str(sat[0].message)
    assert _saturated_run([get_proxy("swap")], 2) == []  # the same process: already shown


def test_other_warnings_pass_through_and_a_failing_proxy_keeps_its_warnings(fresh_warning_state,
                                                                           scratch_registry) -> None:
    def noisy(model, batch):
        warnings.warn("a proxy's own warning", RuntimeWarning)
        raise ValueError("boom")

    register("noisy_review18")(noisy)
    caught = _saturated_run_failing("noisy_review18")
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == ["a proxy's own warning"]


def test_a_proxys_own_repeated_warning_meets_the_callers_filters_unchanged(fresh_warning_state,
                                                                          scratch_registry) -> None:
    """The first version re-emitted every warning of a pass (catch_warnings + warn_explicit): a repeated
    warning showed once per arch instead of once, and a module filter no longer matched."""
    def repeating(model, batch):
        warnings.warn("the same words every time", RuntimeWarning)
        return 1.0

    register("repeating_review18")(repeating)
    batch = load_batch("cifar10", 2, inputs="synthetic", seed=1)
    prot = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1}, batch_digest=batch.digest)
    for action, shown in (("default", 1), ("always", 3)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter(action)
            warnings.filterwarnings("ignore", category=UserWarning)
            for i in range(3):
                score_arch(nb201.sample(random.Random(i)), nb201.build, resolve("repeating_review18"), batch,
                           prot, CPU)
        assert len([w for w in caught if w.category is RuntimeWarning]) == shown, action
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module=__name__)  # the proxy's module: it was no longer matched
        score_arch(nb201.sample(random.Random(0)), nb201.build, resolve("repeating_review18"), batch, prot, CPU)
    assert [w for w in caught if w.category is RuntimeWarning] == []


def _saturated_run_failing(proxy: str) -> list[warnings.WarningMessage]:
    batch = load_batch("cifar10", 2, inputs="synthetic", seed=1)
    prot = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1}, batch_digest=batch.digest)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = score_arch(nb201.sample(random.Random(0)), nb201.build, resolve(proxy), batch, prot, CPU)[proxy]
    assert not rec.ok and "ValueError: boom" in rec.error
    return caught


def _cnn(width: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, width, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(width, 10))


def test_rank_gives_equal_values_one_rank_and_the_unscored_share_the_last() -> None:
    import swapnas

    x = torch.randn(4, 3, 8, 8)
    models = {"narrow": _cnn(2), "wide": _cnn(8), "wide_too": _cnn(8), "mid": _cnn(4),
              "mlp": torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 10)),  # no ReLU: nwot cannot
              "mlp_too": torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 10))}
    rows = swapnas.rank(models, x, ["params"])
    assert [(r["model"], r["rank"]) for r in rows] == [("mlp", 1), ("mlp_too", 1), ("wide", 3), ("wide_too", 3),
                                                       ("mid", 5), ("narrow", 6)]
    rows = swapnas.rank(models, x, ["nwot"])
    assert [r["rank"] for r in rows][-2:] == [5, 5] and {r["model"] for r in rows[-2:]} == {"mlp", "mlp_too"}
    assert all(r["nwot"] is None for r in rows[-2:])


def test_proxies_keep_the_order_asked_and_a_set_level_one_brings_its_parts_after() -> None:
    assert [p.name for p in resolve("swap_reg,params,swap")] == ["swap_reg", "params", "swap"]
    assert [p.name for p in resolve("te_nas,swap")] == ["te_nas", "swap", "te_nas_ntk", "te_nas_lr"]
    assert [p.name for p in resolve("swap,best,swap_darts")] == ["swap", "swap_darts"]  # an alias and its target once


# ----------------------------------------------------------------------------- a proxy's code beside its scores


def _logit_mean(model, batch):
    """Docstring and comments do not count."""
    return float(model(batch.inputs).mean())  # a comment


def _logit_max(model, batch):
    """Docstring and comments do not count."""
    return float(model(batch.inputs).max())


_VARIANTS = {
    "plain": "def f(model, batch):\n    return float(model(batch.inputs).mean())\n",
    "layout": ('@register("x", version="2")\ndef f(model,\n      batch):\n    """A docstring."""\n'
               '    # a comment\n    return float(model(batch.inputs).mean())  # another\n'),
    "body": "def f(model, batch):\n    return float(model(batch.inputs).max())\n",
}


def test_code_digest_reads_the_code_not_its_comments_docstring_or_decorator(tmp_path, monkeypatch) -> None:
    import importlib

    from swapnas.proxies.code import code_digest, legacy_code_digest

    monkeypatch.syspath_prepend(str(tmp_path))
    digests = {}
    for name, src in _VARIANTS.items():
        (tmp_path / f"variant_{name}.py").write_text("register = lambda *a, **k: (lambda f: f)\n" + src)
        digests[name] = code_digest(importlib.import_module(f"variant_{name}").f)
    assert digests["plain"] is not None and len(digests["plain"]) == 16
    assert digests["layout"] == digests["plain"] and digests["body"] != digests["plain"]
    # the canonical form's hash, the same on Python 3.10 to 3.13 (session 62: scripts/digest_versions.py; ast.dump's
    # form, hashed first, differed from 3.12 on; ast.unparse's, hashed until session 62 and still by legacy_code_digest,
    # differs for f-strings with quotes inside and tuples in comprehensions)
    assert digests["plain"] == "25e0cff09a1d18c6"
    assert legacy_code_digest(importlib.import_module("variant_plain").f) == "064ad7ef668d3a62"
    assert code_digest(len) is None  # a built-in: no source


def _run(store_path, proxy_fn, tmp_name: str, read_only: bool = False):
    from swapnas.session import score_archs
    from swapnas.store import ScoreStore

    batch = load_batch("cifar10", 4, inputs="synthetic", seed=1)
    prot = Protocol("nb201", "cifar10", 4, repeats=1, seed=0, net={"C": 4, "N": 1}, batch_digest=batch.digest)
    archs = [nb201.sample(random.Random(i)) for i in range(2)]
    with registry_snapshot(), ScoreStore(store_path, read_only=read_only) as store, \
            warnings.catch_warnings(record=True) as caught:
        register(tmp_name, version="3")(proxy_fn)  # the same name, other code: a proxy edited between two runs
        warnings.simplefilter("always")
        recs = score_archs(archs, "nb201", resolve(tmp_name), prot, batch, store, CPU, progress=False)
    return [r.value for r in recs[tmp_name]], [str(w.message) for w in caught if w.category.__name__ ==
                                               "ProxyCodeWarning"]


def test_a_proxy_edited_under_the_same_version_warns_once_and_reuses_its_scores(tmp_path, monkeypatch) -> None:
    from swapnas import code_changes

    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    path = tmp_path / "s.sqlite"
    first, warned = _run(path, _logit_mean, "review18_code")
    assert warned == []
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # a new process
    again, warned = _run(path, _logit_max, "review18_code")
    assert again == first  # reused as stored: the key names the version, not the code
    assert len(warned) == 1 and "proxy 'review18_code': its function differs" in warned[0]
    assert 'version="4"' in warned[0] and str(path) in warned[0]
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    again, warned = _run(path, _logit_max, "review18_code")  # until session 55 this run was quiet
    assert again == first and len(warned) == 1
    assert f"`{code_changes._accepting_command(True)} store accept-code {path}`" in warned[0]
    from swapnas.proxies.code import code_digest
    from swapnas.store import ScoreStore

    with ScoreStore(path) as store:  # what `swapnas store accept-code` does for it
        store.accept_code("review18_code@3", code_digest(_logit_max))
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    assert _run(path, _logit_max, "review18_code")[1] == []
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    warned = _run(path, _logit_mean, "review18_code", read_only=True)[1]  # compared, not recorded
    assert len(warned) == 1 and "proxy 'review18_code': its function differs" in warned[0]
    with ScoreStore(path) as store:
        assert store.code_changed("review18_code@3", code_digest(_logit_max)) is None
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    import sqlite3

    with sqlite3.connect(path) as db:  # a store made before digests were recorded: no table; until session 57 no
        db.execute("DROP TABLE proxy_code")  # warning, and the run recorded its own code as the code of those scores
    warned = _run(path, _logit_mean, "review18_code")[1]
    assert len(warned) == 1 and "were made before swapnas recorded code beside scores (whether its function made " \
        "them cannot be told)" in warned[0]
    with ScoreStore(path) as store:
        assert "review18_code@3" not in store.recorded_code()


def test_the_toy_space_passes_the_space_parametrised_checks(monkeypatch) -> None:
    """The documented example of a new space (tests/toy_space.py) meets what the registry-parametrised tests ask
    of every space: a newcomer copying it failed two of them (a non-arch raised AttributeError; a space of fewer
    than 40 archs could not pass the round trip)."""
    from swapnas.spaces import SPACES
    from tests.test_fuzz import test_valid_strings_round_trip
    from tests.test_validation import test_build_and_parse_refuse_non_archs

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    test_valid_strings_round_trip("toy")  # 27 archs: 40 samples give fewer distinct strings
    test_build_and_parse_refuse_non_archs("toy")


def test_a_broken_space_leaves_the_cli_working_and_is_named_when_used(monkeypatch, capsys, tmp_path) -> None:
    from swapnas.cli import main
    from swapnas.spaces import SPACES

    (tmp_path / "space_with_a_bug.py").write_text("NAME = undefined_name\n")  # fails as it runs: NameError
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(SPACES, "buggy", "space_with_a_bug")
    monkeypatch.setitem(SPACES, "broken", "swapnas.spaces.chian")  # a typo in the registry line
    assert main(["proxies"]) == 0  # every command built its parser by importing every space: a traceback
    capsys.readouterr()
    assert main(["search", "--space", "buggy", "--out", str(tmp_path / "s")]) == 2
    assert "which cannot be imported (NameError: name 'undefined_name' is not defined)" in capsys.readouterr().err
    assert main(["search", "--space", "broken", "--out", str(tmp_path / "s")]) == 2
    assert "space 'broken' is registered as 'swapnas.spaces.chian', which cannot be imported" in capsys.readouterr().err
    assert main(["search", "--space", "nb101", "--out", str(tmp_path / "s")]) == 2  # was "invalid choice", no reason
    assert "space 'nb101' cannot be searched: it defines no final networks, cell drawing or crossover (it lacks " \
        "FINAL_NETS, cell_edges, crossover" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_an_unknown_proxy_whose_file_exists_is_told_to_import_it(monkeypatch, tmp_path) -> None:
    from swapnas.proxies import get_proxy, registry

    (tmp_path / "mean_abs_act.py").write_text("# a new metric, not yet in proxies/__init__.py\n")
    monkeypatch.setattr(registry, "__file__", str(tmp_path / "registry.py"))
    with pytest.raises(KeyError, match=r"proxies/mean_abs_act.py exists: add `mean_abs_act` to the `from \. import"):
        get_proxy("mean_abs_act")
    with pytest.raises(KeyError, match=r"^unknown proxy 'other'; available"):
        get_proxy("other")
    from swapnas.cli import commands  # session 53: `swapnas proxies NAME` said only "no proxy matches"
    from .test_cli_commands_mutants import _args

    with pytest.raises(ValueError) as caught:
        commands.proxies(_args("proxies", "mean_abs_act"))
    assert str(caught.value) == ("no proxy matches 'mean_abs_act' (proxies/mean_abs_act.py exists: add `mean_abs_act` "
                                 "to the `from . import (…)` list in proxies/__init__.py); see `swapnas proxies`")
    with pytest.raises(ValueError, match=r"^no proxy matches 'swpa' \(did you mean 'swap'\?\); see `swapnas proxies`$"):
        commands.proxies(_args("proxies", "swpa"))


def test_a_run_adding_a_proxy_says_the_archs_were_partly_reused(small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli import main

    out = tmp_path / "run"
    argv = ["correlate", "--space", "nb301", "--archs", "2", "--repeats", "1", "--batch-size", "4", "--inputs",
            "synthetic", "--no-progress", "--data-dir", str(small_bundle), "--out", str(out), "--proxies"]
    assert main([*argv, "params"]) == 0
    capsys.readouterr()
    assert main([*argv, "params,flops"]) == 0  # every arch had params stored: it said "2 of 2 archs reused"
    text = capsys.readouterr().out
    assert "(some proxies' stored scores of 2 of 2 archs reused, the others scored now)" in text
    doc = json.loads((out / "results.json").read_text())
    assert doc["reused_archs"] == 0 and doc["partly_reused_archs"] == 2


def test_best_on_a_space_that_recommends_no_fitness_says_so(monkeypatch, caplog) -> None:
    from swapnas.search.fitness import choose_fitness
    from swapnas.spaces import SPACES

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    with caplog.at_level("WARNING"):
        chosen, _ = choose_fitness("toy", "best")
    assert "space toy recommends no fitness (its FITNESS_PROTOCOL names no proxy): --fitness best is the registry's " \
           f"alias, {chosen.name}" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        choose_fitness("nb201", "best")
        choose_fitness("toy", "swap")
    assert "recommends no fitness" not in caplog.text


@pytest.mark.parametrize("space, task, net", [("flexibert", "glue", {}), ("transnas_micro", "class_object",
                                                                          {"resolution": 32}),
                                              ("flexibert", "glue", {"objective": "mlm"})])
def test_stored_run_rebuilds_the_batch_of_token_task_and_resized_runs(small_bundle, space, task, net) -> None:
    """stored_run read the batch at the dataset's default size (FlexiBERT's 16 tokens became 128) and without
    the masked-token objective, then blamed the data directory."""
    from swapnas.session import configure, stored_run

    protocol, batch, _ = configure(space, task, "swap", repeats=1, batch_size=8, data_dir=str(small_bundle), net=net)
    again, rebuilt = stored_run(protocol.describe(), str(small_bundle))
    assert again.fingerprint == protocol.fingerprint and rebuilt.digest == batch.digest


def test_a_damaged_image_root_file_is_named_not_a_traceback(tmp_path) -> None:
    """A non-image .png in a class folder (e.g. macOS's ._x.png) raised PIL's UnidentifiedImageError, a truncated
    CIFAR pickle an UnpicklingError (tracebacks, exit 1), a pickle without 'data' a bare KeyError ('data')."""
    import pickle

    from swapnas.bundle import DataFileError

    bad = tmp_path / "folders" / "cat"
    bad.mkdir(parents=True)
    (bad / "._x.png").write_bytes(b"not an image")
    with pytest.raises(DataFileError, match=r"_x\.png: not a readable image"):
        load_batch("cifar10", 1, image_root=str(tmp_path / "folders"))
    pickles = tmp_path / "pickles" / "cifar-10-batches-py"
    pickles.mkdir(parents=True)
    whole = pickle.dumps({"data": [[0] * 3072] * 4, "labels": [0, 1, 2, 3]})
    (pickles / "test_batch").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataFileError, match=r"test_batch: not a readable pickle \(UnpicklingError"):
        load_batch("cifar10", 2, image_root=str(tmp_path / "pickles"))
    (pickles / "test_batch").write_bytes(pickle.dumps({"pixels": [], "labels": []}))
    with pytest.raises(DataFileError, match=r"test_batch: the pickle has no data \(it has pixels, labels\)"):
        load_batch("cifar10", 2, image_root=str(tmp_path / "pickles"))


def test_class_folders_read_the_image_kinds_torchvision_reads(tmp_path) -> None:
    """Class folders read .png/.jpg/.jpeg only: .bmp, .webp and .tif images were skipped without a word."""
    from PIL import Image

    for i, suffix in enumerate((".bmp", ".webp", ".tif")):
        folder = tmp_path / f"class{i}"
        folder.mkdir()
        Image.new("RGB", (8, 8), (40 * (i + 1), 0, 0)).save(folder / f"img{suffix}")
    (tmp_path / "class0" / "notes.txt").write_text("not an image: skipped")
    batch = load_batch("cifar10", 3, image_root=str(tmp_path))
    assert batch.n_real == 3 and sorted(batch.targets.tolist()) == [0, 1, 2]
