"""Tests written against the survivors of session 35's mutation run of ``swapnas.session``'s scoring half
(``score_archs``, ``prepare``, ``configure``, ``stored_run``, ``_batch_options``; docs/reliability.md, "Session 35").

``score_archs`` runs with a fake executor (it records what it is sent and returns made-up records) into a real
store: what is reused, what is written and with which device label, the read-only refusal, the progress bar's
counts. ``prepare``, ``configure`` and ``stored_run`` run with ``load_batch`` / ``prepare`` replaced by recorders,
so each argument they pass on and each protocol field is checked against the values given.
"""

from __future__ import annotations

import pytest
import torch

from swapnas import session
from swapnas.data import Batch
from swapnas.executors import Executor
from swapnas.proxies import get_proxy
from swapnas.scoring import Protocol
from swapnas.spaces import get_space
from swapnas.store import Record, ScoreStore, StoreError

from .message_tools import exact

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROXIES = [get_proxy("params"), get_proxy("flops")]


def ok(value: float) -> Record:
    return Record("ok", value, 0.0, [value], 0.5, None, None)


FAILED = Record("failed", None, None, [], 0.1, None, "boom")


def tiny_batch(digest_seed: float = 0.0, classes: int = 10) -> Batch:
    return Batch(torch.full((2, 3, 4, 4), digest_seed), torch.zeros(2, dtype=torch.int64), classes, "cifar10", "test",
                 2)


class Recorder(Executor):
    """Records each call; scores an arch as 100 + its position in the call (never the stored value); skips ``skip``."""

    name = "fake"

    def __init__(self, skip: tuple = ()) -> None:
        self.calls: list = []
        self.asked: list = []
        self.skip = skip

    def device_for(self, device: torch.device) -> torch.device:
        self.asked.append(device)
        return torch.device("meta")  # the label the driver stores: where the archs were scored

    def score(self, task, device, items):
        self.calls.append((task.retry_failed, device, [(arch, dict(known)) for arch, known in items]))
        for i, (arch, _) in enumerate(items):
            if arch not in self.skip:
                yield arch, {p.name: ok(100.0 + i) for p in task.proxies}


def devices(store: ScoreStore) -> dict[tuple[str, str], tuple]:
    """(arch, proxy name) → (status, value, device) of every stored row (the store's proxy column is name@version)."""
    return {(r["arch"], r["proxy"].split("@")[0]): (r["status"], r["value"], r["device"]) for r in store.rows()}


@pytest.fixture
def stored(tmp_path):
    """(store, protocol) where a: params stored (scored 'elsewhere'), flops not; b: params failed, flops stored;
    c: nothing. The store is closed afterwards."""
    store = ScoreStore(tmp_path / "s.sqlite")
    protocol = Protocol("nb201", "cifar10", 2, batch_digest=tiny_batch().digest)
    params, flops = PROXIES
    store.put(protocol.key("a", params), ok(1.0), device="elsewhere")
    store.put(protocol.key("b", params), FAILED, device="elsewhere")
    store.put(protocol.key("b", flops), ok(2.0), device="elsewhere")
    yield store, protocol
    store.close()


def test_score_archs_sends_only_what_is_missing_and_writes_only_that(stored, capsys) -> None:
    store, protocol = stored
    fake, counts = Recorder(), {}
    recs = session.score_archs(["a", "b", "a", "c"], "nb201", PROXIES, protocol, tiny_batch(), store,
                               torch.device("cpu"), executor=fake, counts=counts)
    key_a = protocol.key("a", PROXIES[0])
    assert fake.calls == [(False, torch.device("cpu"), [("a", {key_a: ok(1.0)}), ("c", {})])]  # b's failure is kept
    assert fake.asked == [torch.device("cpu")]
    assert counts == {"reused": 1, "partly": 1}
    assert devices(store) == {
        ("a", "params"): ("ok", 1.0, "elsewhere"), ("a", "flops"): ("ok", 100.0, "meta"),  # the stored one untouched
        ("b", "params"): ("failed", None, "elsewhere"), ("b", "flops"): ("ok", 2.0, "elsewhere"),
        ("c", "params"): ("ok", 101.0, "meta"), ("c", "flops"): ("ok", 101.0, "meta")}
    assert [r.value for r in recs["params"]] == [100.0, None, 100.0, 101.0]  # what the executor returned for a
    assert [r.value for r in recs["flops"]] == [100.0, 2.0, 100.0, 101.0]
    assert store.protocols() == {protocol.fingerprint: protocol.describe()}
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert bar.startswith("nb201: 100%") and "| 4/4 [" in bar and "arch/s]" in bar  # b counted from the start


def test_retry_failed_sends_the_failures_and_nothing_that_is_stored_ok(stored, capsys) -> None:
    store, protocol = stored
    fake = Recorder()
    session.score_archs(["a", "b"], "nb201", PROXIES, protocol, tiny_batch(), store, torch.device("cpu"),
                        retry_failed=True, progress=False, executor=fake)
    params, flops = PROXIES
    assert fake.calls == [(True, torch.device("cpu"), [
        ("a", {protocol.key("a", params): ok(1.0)}),
        ("b", {protocol.key("b", params): FAILED, protocol.key("b", flops): ok(2.0)})])]
    assert devices(store)[("b", "params")] == ("ok", 101.0, "meta")
    again = Recorder()
    session.score_archs(["a", "b"], "nb201", PROXIES, protocol, tiny_batch(), store, torch.device("cpu"),
                        retry_failed=True, progress=False, executor=again)
    assert again.calls == [(True, torch.device("cpu"), [])]
    assert capsys.readouterr().err == ""  # progress=False: no bar


def test_a_read_only_store_refuses_before_any_work_and_serves_what_it_holds(stored, tmp_path) -> None:
    store, protocol = stored
    store.add_protocol(protocol.fingerprint, protocol.describe())
    store.close()
    with ScoreStore(tmp_path / "s.sqlite", read_only=True) as reader:
        fake = Recorder()
        with pytest.raises(StoreError, match=exact(
                f"the score store {reader.path} is read-only (opened for reading): its 3 scores can be read, but 1 "
                "arch(s) still need scoring; copy it somewhere writable and pass --store COPY, or use --store "
                "NEW.sqlite")):
            session.score_archs(["b", "c"], "nb201", PROXIES, protocol, tiny_batch(), reader, torch.device("cpu"),
                                progress=False, executor=fake)
        assert fake.calls == []
        recs = session.score_archs(["b"], "nb201", PROXIES, protocol, tiny_batch(), reader, torch.device("cpu"),
                                   progress=False, executor=fake)
        assert [recs["params"][0].status, recs["flops"][0].value] == ["failed", 2.0]


def test_an_executor_that_drops_an_arch_is_named(stored) -> None:
    store, protocol = stored
    with pytest.raises(RuntimeError, match=exact("the fake executor returned no result for 1 arch(s)")):
        session.score_archs(["a", "c"], "nb201", PROXIES, protocol, tiny_batch(), store, torch.device("cpu"),
                            progress=False, executor=Recorder(skip=("c",)))


def test_the_network_version_reaches_the_code_check(tmp_path, monkeypatch) -> None:
    seen: list = []
    monkeypatch.setattr(session, "warn_changed_code", lambda *args: seen.append(args))
    protocol = Protocol("nb201", "cifar10", 2, batch_digest="d", net_version="7")
    with ScoreStore(tmp_path / "v.sqlite") as store:
        session.score_archs([], "nb201", PROXIES, protocol, tiny_batch(), store, torch.device("cpu"), progress=False,
                            executor=Recorder())
    assert seen == [(store, PROXIES, "nb201", "7")]


# ----------------------------------------------------------------------------- the protocol and the batch


def test_batch_options_are_the_resolution_and_the_objective() -> None:
    assert session._batch_options({"C": 8, "resolution": 16, "objective": "mlm"}) == {"resolution": 16,
                                                                                      "objective": "mlm"}
    assert session._batch_options({"C": 8}) == {"resolution": None}


def recording_loader(monkeypatch, batch: Batch) -> list:
    calls: list = []

    def load(dataset, size, **kw):
        calls.append((dataset, size, kw))
        return batch

    monkeypatch.setattr(session, "load_batch", load)
    return calls


def test_prepare_passes_every_setting_on(monkeypatch) -> None:
    batch = tiny_batch()
    calls = recording_loader(monkeypatch, batch)
    net = {"C": 8, "N": 1, "resolution": 16}
    protocol, got = session.prepare(space="nb201", dataset="cifar10", batch_size=2, repeats=3, seed=5, init="default",
                                    net=net, inputs="real", data_dir="D", image_root=None, fill="zeros")
    assert got is batch
    assert calls == [("cifar10", 2, {"data_dir": "D", "image_root": None, "inputs": "real", "seed": 5, "fill": "zeros",
                                     "labels": True, "resolution": 16})]
    assert protocol == Protocol(space="nb201", dataset="cifar10", batch_size=2, repeats=3, seed=5, init="default",
                                net=net, batch_digest=batch.digest, inputs="real", classes=None, net_version="1")
    own, _ = session.prepare(space="nb201", dataset="cifar10", batch_size=2, repeats=1, seed=0, init="gaussian",
                             net={"C": 8}, inputs="real", data_dir=None, image_root="imgs", fill="augment",
                             images={"num_classes": 7, "resolution": 24}, labels=False)
    assert calls[1][2] == {"data_dir": None, "image_root": "imgs", "inputs": "real", "seed": 0, "fill": "augment",
                           "labels": False, "resolution": 24, "num_classes": 7}
    assert own.classes == 7
    bundle, _ = session.prepare(space="nb201", dataset="cifar10", batch_size=2, repeats=1, seed=0, init="gaussian",
                                net={"C": 8}, inputs="real", data_dir=None, image_root=None, fill="augment",
                                images={"num_classes": 7})
    assert bundle.classes is None  # the classes count only for one's own images


def recording_prepare(monkeypatch, classes: int = 10) -> list:
    calls: list = []

    def prepare(**kw):
        calls.append(kw)
        return Protocol(kw["space"], kw["dataset"], kw["batch_size"]), tiny_batch(classes=classes)

    monkeypatch.setattr(session, "prepare", prepare)
    return calls


def test_configure_passes_the_defaults_and_the_options_on(monkeypatch) -> None:
    calls = recording_prepare(monkeypatch)
    checked: list = []
    monkeypatch.setattr(session, "check_one_protocol", lambda space, proxies, given: checked.append(given))
    monkeypatch.setattr(session, "protocol_defaults",
                        lambda space, proxies: {"net": {"C": 4, "N": 1}, "batch_size": 3, "repeats": 2,
                                                "init": "default"})
    session.configure("nb201", "cifar10", "swap")
    assert calls == [{"space": "nb201", "dataset": "cifar10", "batch_size": 3, "repeats": 2, "seed": 0,
                      "init": "default", "net": {"C": 4, "N": 1}, "inputs": "real", "data_dir": None,
                      "image_root": None, "fill": "augment", "images": None, "labels": False}]
    assert checked == [{"init": None, "repeats": None, "batch_size": None, "net": None}]
    session.configure("nb201", "cifar10", "fisher", seed=2, batch_size=5, repeats=1, net={"C": 8}, init="gaussian",
                      inputs="synthetic", data_dir="D", image_root="imgs", fill="zeros", images={"num_classes": 7})
    assert calls[1] == {"space": "nb201", "dataset": "cifar10", "batch_size": 5, "repeats": 1, "seed": 2,
                        "init": "gaussian", "net": {"C": 8, "N": 1}, "inputs": "synthetic", "data_dir": "D",
                        "image_root": "imgs", "fill": "zeros", "images": {"num_classes": 7}, "labels": True}
    assert checked[1] == {"init": "gaussian", "repeats": 1, "batch_size": 5, "net": {"C": 8}}
    with pytest.raises(ValueError, match=exact("no proxies to score: give at least one (see `swapnas proxies`)")):
        session.configure("nb201", "cifar10", [])


def test_configure_gives_swap_reg_the_spaces_prior_where_none_is_given(monkeypatch) -> None:
    recording_prepare(monkeypatch, classes=100)
    mu, sigma = get_space("nb201").default_size_prior({"C": 16, "N": 1}, 100)
    assert (mu, sigma) != get_space("nb201").default_size_prior({"C": 16, "N": 1}, 10)
    swap = get_proxy("swap")

    def options(**given) -> tuple:
        _, _, proxies = session.configure("nb201", "cifar10", "swap,swap_reg", **given)
        assert proxies[0] == swap  # only swap_reg is configured
        return proxies[1].options["mu"], proxies[1].options["sigma"]

    assert options() == (mu, sigma)
    assert options(mu=3.0) == (3.0, sigma)
    assert options(sigma=0.5) == (mu, 0.5)
    assert options(mu=3.0, sigma=0.5) == (3.0, 0.5)


def test_stored_run_rebuilds_the_runs_protocol_with_one_repeat(monkeypatch) -> None:
    batch = tiny_batch()
    calls = recording_loader(monkeypatch, batch)
    run = {"space": "nb201", "dataset": "cifar10", "batch_size": 8, "seed": 3, "init": "default", "bn_train": False,
           "repeats": 4, "net": {"C": 16, "N": 1, "resolution": 16}, "batch_digest": batch.digest}
    protocol, got = session.stored_run(run, data_dir="D")
    assert got is batch and calls == [("cifar10", 8, {"seed": 3, "data_dir": "D", "inputs": "real", "resolution": 16})]
    assert protocol == Protocol("nb201", "cifar10", 8, repeats=1, seed=3, init="default", bn_train=False,
                                net=run["net"], batch_digest=batch.digest, inputs="real", classes=None, net_version="1")
    later = {**run, "inputs": "synthetic", "classes": 7, "net_version": "2"}
    protocol, _ = session.stored_run(later)
    assert (protocol.inputs, protocol.classes, protocol.net_version) == ("synthetic", 7, "2")
    assert calls[1][2]["inputs"] == "synthetic"
    other = tiny_batch(1.0).digest
    differs = f"the batch differs from the run's ({batch.digest} vs {other})"
    with pytest.raises(ValueError, match=exact(f"{differs}: pass the data directory the run used")):
        session.stored_run({**run, "batch_digest": other})
    with pytest.raises(ValueError, match=exact(
            f"the batch differs from the run's ({batch.digest} vs {other}) (the run scored your own --image-root "
            "images: this reads the bundle's): pass the data directory the run used")):
        session.stored_run({**later, "batch_digest": other})
