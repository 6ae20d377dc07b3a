"""``swapnas.session``'s checks pinned message by message: the survivors of its mutation run (docs/reliability.md,
session 34). The devices are faked by monkeypatching ``torch.cuda`` and ``torch.backends.mps`` (no GPU needed);
every expected message is written out here in full.
"""

from __future__ import annotations

import random
import types

import pytest
import torch

from swapnas import session
from swapnas.proxies import get_proxy, resolve
from swapnas.devices import available_devices, resolve_device, unavailable
from swapnas.session import (
    _option_problem,
    check_archs,
    check_net,
    check_task,
    error_messages,
    pick_archs,
    shard_of,
)
from swapnas.store import Record


def _machine(monkeypatch, cuda: int, mps: bool) -> None:
    """This process sees ``cuda`` CUDA devices (0: none, and torch says 3 so a count read anyway shows) and MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda or 3)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def test_available_devices_list_each_kind(monkeypatch) -> None:
    _machine(monkeypatch, 2, True)
    assert available_devices() == ["cpu", "cuda:0", "cuda:1", "mps"]
    _machine(monkeypatch, 0, False)
    assert available_devices() == ["cpu"]
    _machine(monkeypatch, 1, True)
    monkeypatch.setattr(torch, "backends", types.SimpleNamespace())  # a torch without the MPS backend
    assert available_devices() == ["cpu", "cuda:0"]


def test_unavailable_says_why(monkeypatch) -> None:
    _machine(monkeypatch, 0, False)
    assert unavailable(torch.device("cuda")) == "CUDA is not available here (no GPU, or torch built without CUDA)"
    assert unavailable(torch.device("mps")) == "MPS is not available here"
    assert unavailable(torch.device("cpu")) is None
    _machine(monkeypatch, 2, True)
    assert unavailable(torch.device("cuda:2")) == "this machine has 2 CUDA device(s)"
    assert [unavailable(torch.device(d)) for d in ("cuda", "cuda:0", "cuda:1", "mps", "cpu")] == [None] * 5


def test_resolve_device_messages_in_full(monkeypatch) -> None:
    _machine(monkeypatch, 2, False)
    assert resolve_device("auto") == torch.device("cuda") and resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError) as e:
        resolve_device("cuda:5")
    assert str(e.value) == ("device 'cuda:5' asked for, but this machine has 2 CUDA device(s); use --device cpu or "
                            "auto (available here: cpu, cuda:0, cuda:1)")
    with pytest.raises(ValueError) as e:
        resolve_device("tpu")
    assert str(e.value) == ("unknown device 'tpu'; accepted: auto, cpu, cuda, cuda:N, mps (available here: cpu, "
                            "cuda:0, cuda:1)")
    _machine(monkeypatch, 0, True)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device("mps") == torch.device("mps")
    with pytest.raises(ValueError, match=r"^device 'cuda' asked for, but CUDA is not available here \(no GPU, or "
                                         r"torch built without CUDA\); use --device cpu or auto \(available here: "
                                         r"cpu, mps\)$"):
        resolve_device("cuda")


def test_check_archs_at_the_limit() -> None:
    check_archs(None, 5, "x")
    check_archs(5, 5, "x")
    with pytest.raises(ValueError) as e:
        check_archs(6, 5, "NB201")
    assert str(e.value) == "--archs 6: only 5 archs in NB201; use --archs all (or a number up to 5)"


def test_pick_archs_all_or_a_seeded_sample() -> None:
    archs = [f"a{i}" for i in range(10)]
    assert pick_archs(archs, None, 3) == pick_archs(archs, 10, 3) == pick_archs(archs, 11, 3) == archs
    assert pick_archs(archs, 4, 3) == random.Random(3).sample(archs, 4) != random.Random(4).sample(archs, 4)
    assert pick_archs(archs, 1, 3) == random.Random(3).sample(archs, 1)
    for n in (0, -2):
        with pytest.raises(ValueError) as e:
            pick_archs(archs, n, 3)
        assert str(e.value) == f"--archs must be >= 1 or 'all' (got {n})"


def test_shard_of_takes_every_kth() -> None:
    archs = list(range(10))
    assert shard_of(archs, None) is archs
    assert shard_of(archs, (0, 3)) == [0, 3, 6, 9] and shard_of(archs, (2, 3)) == [2, 5, 8]
    assert shard_of(archs, (0, 1)) == archs
    for bad in ((3, 3), (-1, 3), (0, 0)):
        with pytest.raises(ValueError) as e:
            shard_of(archs, bad)
        assert str(e.value) == f"--shard I/K needs 0 <= I < K (got {bad[0]}/{bad[1]})"


def test_check_task_lists_the_tasks() -> None:
    bench = types.SimpleNamespace(name="bench", tasks=("a", "b"))
    check_task(bench, "b")
    with pytest.raises(ValueError) as e:
        check_task(bench, "c")
    assert str(e.value) == "bench has no task 'c'; its tasks: a, b"


def test_error_messages_most_frequent_first_ties_alphabetically() -> None:
    def failed(error: str | None) -> Record:
        return Record("failed", None, None, [], None, None, error)
    recs = [failed("b"), failed("a"), failed("c"), failed("c"), failed(None),
            Record("ok", 1.0, 0.0, [1.0], None, None, "not a failure")]
    assert error_messages(recs) == ["c", "", "a", "b"]


@pytest.mark.parametrize(("name", "value", "default", "why"), [
    ("affine", 1, True, "affine is true or false (default True), not 1"),
    ("C", True, 16, "C takes an integer (default 16), not True"),
    ("C", 2.0, 16, "C takes an integer (default 16), not 2.0"),
    ("C", 0, 16, "C is a size (default 16): it must be >= 1, not 0"),
    ("C", -3, 1, "C is a size (default 1): it must be >= 1, not -3"),
    ("drop", "x", 0.0, "drop takes a number (default 0.0), not 'x'"),
    ("drop", False, 0.0, "drop takes a number (default 0.0), not False"),
    ("drop", float("inf"), 0.0, "drop must be a finite number, not inf"),
    ("drop", float("nan"), None, "drop must be a finite number, not nan"),
])
def test_option_problem_each_case(name, value, default, why) -> None:
    assert _option_problem(name, value, default) == why


@pytest.mark.parametrize(("value", "default"), [(False, True), (1, 16), (0, 0), (-1, 0), (2, 0.5), (0.5, 0.0),
                                                ("x", None), (3, None)])
def test_option_problem_accepts(value, default) -> None:
    assert _option_problem("opt", value, default) is None


def _use_space(monkeypatch, mod: types.SimpleNamespace) -> None:
    """``session`` sees ``mod`` as the space named ``fake`` (a KeyError for any other name)."""
    monkeypatch.setattr(session, "get_space", lambda space: {"fake": mod}[space])


def _fake_space(monkeypatch) -> list:
    """A space whose network is Linear(3, width) after depth − 1 Linear(3, 3) (and Linear(3, extra) if given): width 0
    builds, but empty; a negative size fails; a width that is a string fails with a message of its own. Its arch is
    the first draw of the random generator it is given; the archs built are returned."""
    built: list = []

    def build(arch: float, width: int | None = None, depth: int = 1, extra: int | None = None) -> torch.nn.Module:
        built.append(arch)
        if isinstance(width, str):
            raise ValueError(f"width {width!r} is not a size")
        layers = [*(torch.nn.Linear(3, 3) for _ in range(depth - 1)), torch.nn.Linear(3, width or 0)]
        return torch.nn.Sequential(*layers, *([] if extra is None else [torch.nn.Linear(3, extra)]))
    _use_space(monkeypatch, types.SimpleNamespace(build=build, sample=lambda rng: rng.random()))
    return built


def test_check_net_messages_in_full(monkeypatch) -> None:
    built = _fake_space(monkeypatch)
    check_net("fake", {"width": 2, "depth": 2})
    assert built == [random.Random(0).random()]  # one fixed arch: the check is the same on every run
    with pytest.raises(ValueError) as e:
        check_net("fake", {"width": 0, "depth": 2}, {"width": 0}, "--stage-net")
    assert str(e.value) == ("--stage-net width=0: the fake network cannot be built: layer 1.weight comes out empty "
                            "(shape (0, 3)); every size option must be >= 1")
    with pytest.raises(ValueError) as e:
        check_net("fake", {"width": -2, "depth": 1, "extra": -1})
    assert str(e.value).startswith("--net width=-2,depth=1,extra=-1: the fake network cannot be built: RuntimeError: ")
    assert str(e.value).endswith(" (width=-2, extra=-1: sizes must be >= 1)")
    with pytest.raises(ValueError) as e:
        check_net("fake", {"width": 2, "depth": 0.5}, {"depth": 0.5})
    assert str(e.value) == ("--net depth=0.5: the fake network cannot be built: depth takes an integer (default 1), "
                            "not 0.5")


def test_check_net_names_the_scored_network_s_default(monkeypatch) -> None:
    # session 51: FlexiBERT's `--net resolution=0` was told "(default 128)", the build's, under a protocol of L = 16
    from swapnas import session

    _fake_space(monkeypatch)
    monkeypatch.setattr(session.get_space("fake"), "SCORING_DEFAULTS", {"net": {"depth": 3}}, raising=False)
    with pytest.raises(ValueError, match=r"depth is a size \(default 3\): it must be >= 1, not 0$"):
        check_net("fake", {"width": 2, "depth": 0}, {"depth": 0})


def test_check_net_hint_only_for_sizes_below_one(monkeypatch) -> None:
    _fake_space(monkeypatch)
    with pytest.raises(ValueError) as e:
        check_net("fake", {"width": "wide", "depth": 1})
    assert str(e.value) == ("--net width=wide,depth=1: the fake network cannot be built: ValueError: width 'wide' "
                            "is not a size")


def _build(arch: str, C: int = 8, N: int = 1, k: int = 0, num_classes: int = 10, task: str = "a") -> torch.nn.Module:
    return torch.nn.Linear(C, N)


def _protocol_space(monkeypatch, fitness: dict | None, tasks: bool = False) -> None:
    """A space with SWAP defaults (C=8, N=1; 4 repeats) and, unless None, a fitness protocol of its own."""
    mod = types.SimpleNamespace(SCORING_DEFAULTS={"net": {"C": 8, "N": 1}, "batch_size": 16, "repeats": 4},
                                build=_build, sample=lambda rng: "arch")
    if fitness is not None:
        mod.FITNESS_PROTOCOL = fitness
    if tasks:
        mod.TASKS = ("a", "b")
    _use_space(monkeypatch, mod)


FITNESS = {"proxy": "swap", "net": {"C": 16, "N": 1, "k": 2}, "batch_size": 16, "repeats": 1, "init": "default",
           "former": ("params",), "refine": {"k": 20}}


def _mixed(given: dict) -> str:
    with pytest.raises(ValueError) as e:
        session.check_one_protocol("fake", resolve("flops,swap,params"), given)
    return str(e.value)


def test_check_one_protocol_names_what_differs_and_pins_the_fitness(monkeypatch) -> None:
    _protocol_space(monkeypatch, FITNESS)
    middle = ("the recommended fitness (`best`, or one the space recommended before) under the space's fitness "
              "protocol, the other metrics under its SWAP protocol. One run scores one protocol: give ")
    end = "or score them in separate runs (one --store can serve both)"
    assert _mixed({}) == (
        "the proxies asked for are scored under different protocols on fake (flops: init gaussian, repeats 4, net "
        "C=8,N=1; swap, params: init default, repeats 1, net C=16,N=1,k=2): " + middle + "--init and --repeats and "
        "--net to score them all under one (e.g. --init default --repeats 1 --net C=16,N=1,k=2), " + end)
    # init and repeats given, C overridden: k (in one network only) is still open
    assert _mixed({"init": "default", "repeats": 2, "net": {"C": 4}}) == (
        "the proxies asked for are scored under different protocols on fake (flops: net C=8,N=1; swap, params: net "
        "C=16,N=1,k=2): " + middle + "--net to score them all under one (e.g. --net C=16,N=1,k=2), " + end)
    session.check_one_protocol("fake", [get_proxy("flops"), get_proxy("swap")], {"init": "gaussian", "repeats": 1,
                                                                     "net": {"C": 4, "k": 0}})
    # the fitness and a former one: one protocol
    session.check_one_protocol("fake", [get_proxy("swap"), get_proxy("params")], {})
    session.check_one_protocol("fake", [get_proxy("flops")], {})


def test_own_protocol_and_best_for_without_a_former_or_a_fitness(monkeypatch) -> None:
    from swapnas.proxies.registry import ALIASES

    _protocol_space(monkeypatch, {k: v for k, v in FITNESS.items() if k != "former"})
    assert session.own_protocol("fake", get_proxy("swap")) == {"net": {"C": 16, "N": 1, "k": 2}, "batch_size": 16,
                                                         "repeats": 1, "init": "default"}
    assert session.own_protocol("fake", get_proxy("params")) == {"init": "gaussian", "net": {"C": 8, "N": 1},
                                                           "batch_size": 16, "repeats": 4}
    _protocol_space(monkeypatch, None)
    assert session.best_for("fake") == ALIASES["best"]
    assert session.own_protocol("fake", get_proxy("swap"))["repeats"] == 4


def test_scoring_net_task_and_unknown_options(monkeypatch) -> None:
    _protocol_space(monkeypatch, None, tasks=True)
    assert session.scoring_net("fake", "b") == {"C": 8, "N": 1, "task": "b"}
    assert session.scoring_net("fake", "b", {"task": "b", "k": 1}) == {"C": 8, "N": 1, "task": "b", "k": 1}
    with pytest.raises(ValueError) as e:  # another task than the one ranked (session 62: it won without a word)
        session.scoring_net("fake", "b", {"task": "a"})
    assert str(e.value) == ("--net task=a builds another task's network than --dataset's, b, which is ranked: give "
                            "--dataset a")
    with pytest.raises(ValueError) as e:
        session.scoring_net("fake", "b", {"width": 2, "depth": 1}, flag="--stage-net")
    assert str(e.value) == ("--stage-net option(s) depth, width are not options of the fake network; options: C, N, "
                            "k")  # (the task is --dataset's where the space has tasks: session 69's review)
    _protocol_space(monkeypatch, None)
    assert session.scoring_net("fake", "b") == {"C": 8, "N": 1}


def test_check_prior_bounds_and_resolve_for_message() -> None:
    session.check_prior(0.0, 0.5)
    for sigma in (0.0, -1.0, float("inf"), "1"):
        with pytest.raises(ValueError, match=r"^--sigma must be a finite number > 0 \(thousands\^2, unsquared\), "):
            session.check_prior(None, sigma)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as e:
        session.resolve_for("nb201", " , ")
    assert str(e.value) == ("--proxies needs at least one proxy name, comma-separated, or 'all' (got ' , '); "
                            "see `swapnas proxies`")


def test_scoring_net_takes_a_task_the_build_does_not_name_and_lists_options_without_the_arch(monkeypatch) -> None:
    """A multi-task space may take ``task`` without a build parameter of that name; a DARTS-like build's first
    parameter, ``genotype``, and ``num_classes`` are not offered as options."""
    def build(genotype: str, C: int = 8, num_classes: int = 10) -> torch.nn.Module:
        return torch.nn.Linear(C, num_classes)
    mod = types.SimpleNamespace(SCORING_DEFAULTS={"net": {"C": 8}}, build=build, TASKS=("a",))
    _use_space(monkeypatch, mod)
    checked: list = []
    monkeypatch.setattr(session, "check_net", lambda space, net, overrides, flag: checked.append((net, overrides)))
    assert session.scoring_net("fake", "a", {"task": "a", "C": 4}) == {"C": 4, "task": "a"}
    assert checked == [({"C": 4, "task": "a"}, {"task": "a", "C": 4})]
    with pytest.raises(ValueError) as e:
        session.scoring_net("fake", "a", {"width": 1})
    assert str(e.value) == "--net option(s) width are not options of the fake network; options: C"
