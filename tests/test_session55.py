"""Session 55: the changes of the session, each pinned."""

from __future__ import annotations

import pytest

from swapnas.errors import did_you_mean, near_names
from swapnas.proxies import get_proxy


def test_near_names_ignore_case_and_keep_the_choices_spelling() -> None:
    assert near_names("ImageNet16-120", ["cifar10", "imagenet16-120"]) == "'imagenet16-120'"
    assert near_names("SWAP", ["swap", "synflow", "swap_reg"], n=1) == "'swap'"
    assert near_names("zzzz", ["swap"]) == ""
    assert did_you_mean("Cifar-100", ["cifar10", "cifar100"]) == "; did you mean 'cifar100' or 'cifar10'?"
    assert did_you_mean("zzzz", ["swap"]) == ""


def test_an_unknown_proxy_in_capitals_is_pointed_to_its_lower_case_name() -> None:
    with pytest.raises(KeyError, match=r"^unknown proxy 'SYNFLOW'; did you mean 'synflow'\?; available: "):
        get_proxy("SYNFLOW")


# ---------------------------------------------------------------- swapnas store accept-code

def _store_with_codes(path, codes: dict[str, str]):
    from swapnas.store import ScoreStore

    with ScoreStore(path) as store:
        for name, digest in codes.items():  # recorded (code_changed records nothing where scores stand unrecorded)
            store.accept_code(name, digest)
    return path


def test_accept_code_records_the_running_code_of_what_differs_and_names_the_rest(tmp_path, capsys) -> None:
    from swapnas.cli import main
    from swapnas.code_changes import running_digests
    from swapnas.store import ScoreStore

    swap = f"swap@{get_proxy('swap').version}"
    now = {n: running_digests(n)[0] for n in (swap, "net:nb201@1", "params@" + get_proxy("params").version)}
    assert all(d is not None and len(d) == 16 for d in now.values())
    assert running_digests("swap@999")[0] is None and running_digests("net:nb201@7")[0] is None
    assert running_digests("mine@1")[0] is None and running_digests("net:nowhere@1")[0] is None
    codes = {swap: "0" * 16, "net:nb201@1": "1" * 16, "mine@1": "2" * 16, f"params@{get_proxy('params').version}":
             now[f"params@{get_proxy('params').version}"]}
    path = _store_with_codes(tmp_path / "s.sqlite", codes)
    assert main(["store", "accept-code", str(path), "swap"]) == 0  # only the one named
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{path}:" and lines[1].startswith(f"  {swap}: the code recorded on ") and len(lines) == 2
    assert lines[1].endswith(" is replaced by the code that runs now")
    with ScoreStore(path) as store:
        recorded = {n: d for n, (d, _) in store.recorded_code().items()}
    assert recorded == {**codes, swap: now[swap]}
    assert main(["store", "accept-code", str(path)]) == 0  # every one that differs
    out = capsys.readouterr().out
    assert "  net:nb201@1: the code recorded on " in out and swap + ":" not in out
    assert f"  already the code that runs now: params@{get_proxy('params').version}, {swap}\n" in out
    assert out.endswith("(another version, or a metric of your own: accept it from the script that registers it): "
                        "mine@1\n")
    with ScoreStore(path) as store:
        assert store.recorded_code()["net:nb201@1"][0] == now["net:nb201@1"]
        assert store.recorded_code()["mine@1"][0] == "2" * 16


def test_accept_code_refuses_a_name_the_store_does_not_record_and_a_missing_store(tmp_path, capsys) -> None:
    from swapnas.cli import main

    path = _store_with_codes(tmp_path / "s.sqlite", {"swap@1": "0" * 16})
    assert main(["store", "accept-code", str(path), "swpa"]) == 2
    assert (f"{path} records no code of 'swpa' (did you mean 'swap'?); it records swap@1"
            in capsys.readouterr().err)
    assert main(["store", "accept-code", str(tmp_path / "none.sqlite")]) == 2
    assert f"no score store at {tmp_path / 'none.sqlite'}" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
    empty = _store_with_codes(tmp_path / "e.sqlite", {})
    assert main(["store", "accept-code", str(empty)]) == 0
    assert capsys.readouterr().out == f"{empty}:\n  nothing recorded to accept\n"


# ---------------------------------------------------------------- stats.compare_spearman

def _naive_difference(a, b, y, n_boot, seed):
    """Each resample drawn as correlate's interval draws it (one row of rng.integers per resample), ρ by scipy."""
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        diffs.append(stats.spearmanr(a[idx], y[idx])[0] - stats.spearmanr(b[idx], y[idx])[0])
    d = np.array(diffs)
    d = d[np.isfinite(d)]
    p = min(1.0, 2 * min((np.sum(d <= 0) + 1) / (len(d) + 1), (np.sum(d >= 0) + 1) / (len(d) + 1)))
    return (np.percentile(d, 2.5), np.percentile(d, 97.5)), p


def test_compare_spearman_against_a_naive_paired_bootstrap() -> None:
    import numpy as np

    from swapnas.stats import compare_spearman, correlate

    rng = np.random.default_rng(5)
    y = rng.normal(size=60)
    a = y + rng.normal(scale=0.8, size=60)
    b = np.round(y + rng.normal(scale=1.5, size=60))  # ties, as #params has
    got = compare_spearman(a, b, y, n_boot=300, seed=3)
    ci, p = _naive_difference(a, b, y, 300, 3)
    assert got.n == 60 and got.difference == got.spearman_a - got.spearman_b
    assert got.spearman_a == correlate(a, y, n_boot=0).spearman and got.spearman_b == correlate(b, y, n_boot=0).spearman
    assert got.difference_ci == pytest.approx(ci, abs=1e-12) and got.p_value == pytest.approx(p, abs=1e-12)
    assert 0 < got.p_value < 1
    flipped = compare_spearman(b, a, y, n_boot=300, seed=3)  # the same resamples: the mirror image
    assert flipped.difference == -got.difference and flipped.p_value == got.p_value
    assert flipped.difference_ci == pytest.approx((-ci[1], -ci[0]), abs=1e-12)


def test_compare_spearman_invariants_signs_and_refusals() -> None:
    import math

    import numpy as np

    from swapnas.stats import compare_spearman

    y = np.arange(20.0)
    same = compare_spearman(y ** 2, y ** 3, y, n_boot=50)  # both rank as the truth: no difference in any resample
    assert (same.difference, same.difference_ci, same.p_value) == (0.0, (0.0, 0.0), 1.0)
    # a lower-is-better score is negated; a NaN in either score leaves that arch out of both
    a, b = y.copy(), -(y + 3 * np.sin(y))
    a[4] = np.nan
    got = compare_spearman(a, b, y, higher_is_better=(True, False), n_boot=50)
    assert got.n == 19 and got.spearman_a == 1.0 and got.spearman_b < 1.0 and got.difference > 0
    assert math.isnan(compare_spearman(np.ones(20), y, y, n_boot=10).spearman_a)
    with pytest.raises(ValueError, match=r"^a, b and truth must have one value per arch \(got 20, 19, 20\)$"):
        compare_spearman(y, y[1:], y)
    with pytest.raises(ValueError, match=r"^n_boot is the number of bootstrap resamples, an integer 1 or more "
                                         r"\(got 0\)$"):
        compare_spearman(y, y, y, n_boot=0)


def test_the_citation_file_names_this_version_and_the_papers_authors() -> None:
    """CITATION.cff (session 55: a researcher found no way to cite the package) moves with the version."""
    from pathlib import Path

    import swapnas

    text = (Path(__file__).parents[1] / "CITATION.cff").read_text(encoding="utf-8")
    assert f'\nversion: "{swapnas.__version__}"\n' in text and "\nlicense: Apache-2.0\n" in text
    assert [line.split(": ")[1] for line in text.splitlines() if "family-names" in line] == [
        "Peng", "Song", "Fayek", "Ciesielski", "Chang"]
    assert 'value: "arXiv:2403.04161"' in text and "(ICLR 2024)" in text


# ---------------------------------------------------------------- provenance: the git commit of the code

def test_source_revision_from_git_answers(monkeypatch) -> None:
    from swapnas import results
    from swapnas.report import made_with

    def fake(answers):
        return lambda *args: answers[args[0]]

    revision = results.source_revision.__wrapped__
    monkeypatch.setattr(results, "_git", fake({"ls-files": None}))  # a wheel, an untracked tree, or no git
    assert revision() == ""
    monkeypatch.setattr(results, "_git", fake({"ls-files": "__init__.py", "rev-parse": "0123456789ab", "status": ""}))
    assert revision() == "0123456789ab"
    monkeypatch.setattr(results, "_git", fake({"ls-files": "__init__.py", "rev-parse": "0123456789ab",
                                               "status": "M src/swapnas/stats.py"}))
    assert revision() == "0123456789ab+modified"
    monkeypatch.setattr(results, "_git", fake({"ls-files": "__init__.py", "rev-parse": None, "status": None}))
    assert revision() == ""  # a checkout without a commit yet
    monkeypatch.setattr(results, "source_revision", lambda: "0123456789ab+modified")
    prov = results.provenance()
    assert list(prov)[:2] == ["swapnas", "source"] and prov["source"] == "0123456789ab+modified"
    assert made_with(prov).startswith(f"swapnas {prov['swapnas']}, git 0123456789ab+modified, torch ")
    monkeypatch.setattr(results, "source_revision", lambda: "")
    assert "source" not in results.provenance()
    assert ", git " not in made_with(results.provenance())


def test_source_revision_of_this_checkout() -> None:
    import subprocess
    from pathlib import Path

    from swapnas import results

    if results._git("ls-files", "--error-unmatch", "__init__.py") is None:
        pytest.skip("swapnas does not run from a git checkout here")
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True,
                          cwd=Path(results.__file__).parent).stdout.strip()
    assert results.source_revision.__wrapped__().split("+")[0] == head
    assert results._git("no-such-git-command") is None


# ---------------------------------------------------------------- swapnas.score reproduces a stored repeat

def test_score_with_the_arch_seed_gives_each_stored_repeat() -> None:
    """The recipe docs/protocol.md gives (a helper's reproducibility audit, session 55): one repeat of ``score`` seeded
    with ``arch_seed(seed, space, arch, r)`` on the space's network and the run's batch is repeat r of the store."""
    import random

    import torch

    import swapnas
    from swapnas.scoring import Protocol, arch_seed, score_arch
    from swapnas.spaces import nb201

    arch = nb201.sample(random.Random(4))
    batch = swapnas.load_batch("cifar10", 8, inputs="synthetic", seed=1)
    prot = Protocol("nb201", "cifar10", 8, repeats=2, seed=3, net={"C": 4, "N": 1}, batch_digest=batch.digest)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the command line's default: float metrics' last digits depend on the thread count
    try:
        stored = score_arch(arch, nb201.build, [get_proxy("swap"), get_proxy("grad_norm")], batch, prot,
                            torch.device("cpu"))
        model = nb201.build(arch, num_classes=10, C=4, N=1)
        for r in range(2):
            got = swapnas.score(model, (batch.inputs, batch.targets), ["swap", "grad_norm"], num_classes=10,
                                seed=arch_seed(3, "nb201", str(arch), r))
            assert got == {"swap": stored["swap"].values[r], "grad_norm": stored["grad_norm"].values[r]}
        assert stored["grad_norm"].values[0] != stored["grad_norm"].values[1]  # two draws, not one twice
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------- store check leaves no -shm / -wal

def _one_score_store(path):
    from swapnas.store import Record, ScoreKey, ScoreStore

    with ScoreStore(path) as store:
        store.put(ScoreKey("nb201", "a", "swap@1", "fp", 0, 8, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    return path


def test_store_check_leaves_nothing_beside_a_sound_store_and_spares_a_running_ones_files(tmp_path) -> None:
    from swapnas.store import Record, ScoreKey, ScoreStore
    from swapnas.store_tools import check_store

    path = _one_score_store(tmp_path / "s.sqlite")
    assert check_store(path).ok and sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
    with ScoreStore(path) as running:  # a run still writing: its -wal and -shm stay, and so do its scores
        running.put(ScoreKey("nb201", "b", "swap@1", "fp", 0, 8, 1, "{}"),
                    Record("ok", 2.0, 0.0, [2.0], 0.1, None, None))
        report = check_store(path)
        assert report.ok and report.scores == 2
        assert {"s.sqlite-wal", "s.sqlite-shm"} <= {p.name for p in tmp_path.iterdir()}
        running.put(ScoreKey("nb201", "c", "swap@1", "fp", 0, 8, 1, "{}"),
                    Record("ok", 3.0, 0.0, [3.0], 0.1, None, None))
    assert check_store(path).scores == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


def test_two_runs_recording_a_code_at_once_keep_the_first_ones_row(tmp_path) -> None:
    """The review of session 55: a run reads no row, another run records one, then the first's plain INSERT failed
    ('UNIQUE constraint failed', reported as a damaged store) in 11 of 20 two-process trials."""
    import sqlite3

    from swapnas.store import ScoreStore

    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        real = store._db

        class Interleaved:  # another process records its code between this one's read and its write
            def __init__(self) -> None:
                self.done = False

            def execute(self, sql: str, *args):
                if sql.startswith("INSERT") and not self.done:
                    self.done = True
                    with sqlite3.connect(path) as other:
                        other.execute("INSERT INTO proxy_code VALUES ('swap@1', 'theirs', 5.0)")
                return real.execute(sql, *args)

            def __getattr__(self, name: str):
                return getattr(real, name)

        store._db = Interleaved()  # type: ignore[assignment]
        assert store.code_changed("swap@1", "mine") == 5.0  # theirs stands, and differs from this run's code
        store._db = real
        assert store.recorded_code() == {"swap@1": ("theirs", 5.0)}


def test_merge_and_salvage_carry_the_recorded_code(tmp_path, capsys) -> None:
    """The review of session 55: both dropped the proxy_code table, so the next run recorded whatever code it ran
    as the code of the old scores, without a warning."""
    from swapnas.cli import main
    from swapnas.store import ScoreStore
    from swapnas.store_merge import merge_stores, merge_text
    from swapnas.store_tools import salvage_store

    a = _store_with_codes(_one_score_store(tmp_path / "a.sqlite"), {"swap@1": "aaaa", "net:nb201@1": "nnnn"})
    b = _store_with_codes(tmp_path / "b.sqlite", {"swap@1": "bbbb", "mine@1": "mmmm"})
    merged = merge_stores([a, b], tmp_path / "into.sqlite", mixed_code=True)  # (refused without it: session 61)
    assert merged.other_code == ["swap@1"] and merged.added == 1
    assert "  the sources' scores of swap@1 were made by other code than " in merge_text(merged)
    with ScoreStore(tmp_path / "into.sqlite") as into:
        assert {n: d for n, (d, _) in into.recorded_code().items()} == {
            "swap@1": "aaaa", "net:nb201@1": "nnnn", "mine@1": "mmmm"}
    assert merge_stores([b], tmp_path / "into.sqlite", True).other_code == ["swap@1"]  # INTO's own record counts
    assert merge_stores([a], tmp_path / "into.sqlite").other_code == []
    salvaged = salvage_store(a, tmp_path / "saved.sqlite")
    assert salvaged.recovered == 1
    with ScoreStore(tmp_path / "saved.sqlite") as saved:
        assert {n: d for n, (d, _) in saved.recorded_code().items()} == {"swap@1": "aaaa", "net:nb201@1": "nnnn"}
    assert main(["store", "merge", str(b), "--into", str(tmp_path / "into2.sqlite")]) == 0
    assert "other code" not in capsys.readouterr().out


def test_review55_small_gaps(tmp_path) -> None:
    """The review of session 55's small findings, each pinned."""
    import math
    import warnings

    import numpy as np

    from swapnas import code_changes
    from swapnas.proxies import register
    from swapnas.stats import compare_spearman
    from swapnas.store import ScoreStore
    from tests.registry_tools import registry_snapshot

    # compare_spearman: one bool for both scores; a bad sign argument named; one degenerate resample, no IndexError
    y = np.arange(10.0)
    both = compare_spearman(-y, -(y ** 2), y, higher_is_better=False, n_boot=20)
    assert (both.spearman_a, both.spearman_b) == pytest.approx((1.0, 1.0))
    with pytest.raises(ValueError, match=r"^higher_is_better is a bool, or a pair of them \(one per score\), not "):
        compare_spearman(y, y, y, higher_is_better=(True,))
    lone = compare_spearman([1, 2, 3], [3, 1, 2], [1, 2, 3], n_boot=1, seed=4)
    assert lone.difference == 1.5 and math.isnan(lone.p_value)
    # a proxy name or version a store's code record could not tell apart
    with registry_snapshot():
        for name, version in (("a@b", "1"), ("mine", "1@x"), ("net:nb201", "1")):
            with pytest.raises(ValueError, match=r"cannot be told apart in a score store's keys; choose another$"):
                register(name, version=version)(lambda model, batch: 0.0)
    # the warning quotes a path with a space and says a read-only store is accepted in a copy
    path = tmp_path / "sp ace" / "s.sqlite"
    with ScoreStore(path) as store:
        assert store.code_changed("toy@1", "d1") is None
    code_changes._CODE_CHECKED.clear()
    with ScoreStore(path, read_only=True) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from types import SimpleNamespace
        code_changes.warn_changed_code(store, [SimpleNamespace(name="toy", version="1", fn=_one_score_store)])
    code_changes._CODE_CHECKED.clear()
    assert f"`{code_changes._accepting_command(True)} store accept-code '{path}'` (in a writable copy: this one is " \
        "read-only) records" in str(caught[0].message)


def test_prefetch_names_several_metrics_that_change_the_network_in_the_plural(caplog) -> None:
    import torch

    from swapnas.executor_local import LocalExecutor, ScoreTask

    from .tiny_tasks import tiny_nb201_task

    protocol, batch, proxies, archs = tiny_nb201_task("snip,grad_norm,swap", batch_size=8, repeats=1, n_archs=1, seed=3)
    with caplog.at_level("WARNING", logger="swapnas"):
        list(LocalExecutor(prefetch=2).score(ScoreTask("nb201", tuple(proxies), batch, protocol), torch.device("cpu"),
                                             [(archs[0], {})]))
    assert [r.getMessage().split("…); ")[1] for r in caplog.records] == [
        "grad_norm, snip change it, so each arch's network is built as it is scored: to build ahead, score them in a "
        "run of their own (one store keeps both runs' scores)"]


# ---------------------------------------------------------------- a caller's float64 default dtype

def test_a_float64_default_dtype_changes_no_score_and_is_given_back(tmp_path) -> None:
    """A notebook user's session 55: with torch.set_default_dtype(torch.float64), swap_score failed (its pattern
    weights took the default dtype) and every arch of search_arch failed (networks float64 here, float32 in the
    workers); zen's and the synthetic batch's draws took the default dtype too."""
    import random

    import torch
    from torch import nn

    import swapnas
    from swapnas.proxies import resolve
    from swapnas.scoring import Protocol
    from swapnas.session import score_archs
    from swapnas.spaces import nb201
    from swapnas.store import ScoreStore

    def run(store_name: str) -> tuple:
        torch.manual_seed(0)
        f32 = {"dtype": torch.float32}  # the same weights whatever the default
        net = nn.Sequential(nn.Conv2d(3, 8, 3, **f32), nn.ReLU(), nn.Conv2d(8, 8, 3, **f32), nn.ReLU())
        psi = swapnas.swap_score(net, torch.randn(16, 3, 8, 8, **f32))
        batch = swapnas.load_batch("cifar10", 8, inputs="synthetic", seed=1)
        prot = Protocol("nb201", "cifar10", 8, repeats=1, seed=0, net={"C": 4, "N": 1}, batch_digest=batch.digest)
        archs = [nb201.sample(random.Random(i)) for i in range(2)]
        with ScoreStore(tmp_path / store_name) as store:
            recs = score_archs(archs, "nb201", resolve("swap,zen"), prot, batch, store, torch.device("cpu"),
                               progress=False)
        return psi, batch.inputs.dtype, batch.digest, {k: [r.value for r in v] for k, v in recs.items()}

    plain = run("a.sqlite")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert run("b.sqlite") == plain and plain[1] == torch.float32
        assert torch.get_default_dtype() == torch.float64  # given back
        net64 = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        assert swapnas.swap_score(net64, torch.randn(16, 3, 8, 8)) > 0  # a float64 model as it is
    finally:
        torch.set_default_dtype(before)


def test_store_check_lists_the_recorded_code(tmp_path, monkeypatch) -> None:
    import sqlite3

    from swapnas.store_tools import check_store, check_text

    monkeypatch.setenv("TZ", "UTC")
    import time
    time.tzset()
    try:
        path = _store_with_codes(_one_score_store(tmp_path / "s.sqlite"), {"swap@1": "d", "net:nb201@1": "n"})
        with sqlite3.connect(path) as db:
            db.execute("UPDATE proxy_code SET created = 0")
        report = check_store(path)
        assert report.codes == {"swap@1": "1970-01-01 00:00+00:00", "net:nb201@1": "1970-01-01 00:00+00:00"}
        assert check_text(report).splitlines()[-1] == (
            "  code of the scores, recorded: net:nb201@1 (1970-01-01 00:00+00:00), swap@1 (1970-01-01 00:00+00:00) "
            "(a run whose code differs warns; `swapnas store accept-code` records new code)")
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE proxy_code")  # a store made before codes were recorded
        assert check_store(path).codes == {} and "code of the scores" not in check_text(check_store(path))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
