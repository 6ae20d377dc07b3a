"""The recommended fitness: log-linear combinations, the alias ``best`` and its protocol.

Golden values recompute each base on its own network (``build_scored_net`` per repeat,
the proxy functions called directly) and combine them by hand.
"""

from __future__ import annotations

import math

import pytest
import torch

from swapnas.data import Batch
from swapnas.proxies import get_proxy, resolve
from swapnas.proxies.best import log_linear, register_log_linear
from swapnas.scoring import Protocol, build_scored_net, score_arch
from swapnas.session import best_for, configure, protocol_defaults
from swapnas.spaces import nb201
from swapnas.patterns import swap_score

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"


def test_log_linear_golden_and_errors() -> None:
    v = log_linear((20.0, -0.5, 7.0), ("a", "b", "c"), ("log", "lin", "log"), (1.0, 1.5, 0.0), "f")
    assert v == pytest.approx(math.log(20.0) - 0.75)
    with pytest.raises(ValueError, match="f: a = 0.0 is not positive"):
        log_linear((0.0, 1.0), ("a", "b"), ("log", "lin"), (1.0, 1.0), "f")
    with pytest.raises(ValueError, match="must be a per-arch proxy"):
        register_log_linear("bad_combo", {"swap_reg": ("log", 1.0)}, "x")
    with pytest.raises(ValueError, match="transforms must be"):
        register_log_linear("bad_combo", {"swap": ("sqrt", 1.0)}, "x")  # type: ignore[dict-item]


def test_best_alias_and_space_resolution() -> None:
    p = get_proxy("swap_prog")
    assert p.base_names == ("swap", "az_nas_progressivity") and p.options == {"w_swap": 1.0, "w_az_nas_progressivity": 1.5}
    assert get_proxy("best").name == "swap_darts"  # spaces without dev data, and models outside any space
    assert [q.name for q in resolve("best,swap_darts")] == ["swap_darts"]  # an alias and its target once
    assert best_for("nb201") == "swap_nb201" and best_for("nb101") == "swap_darts"  # NB201's fitness since session 11
    assert get_proxy("swap_nb201").base_names == ("swap", "az_nas_progressivity", "meco", "az_nas_trainability",
                                                  "fisher", "l2_norm")
    assert get_proxy("swap_nb201").options == {"w_swap": 1.0, "w_az_nas_progressivity": 1.816, "w_meco": 0.1,
                                               "w_az_nas_trainability": 8.216e-07, "w_fisher": -0.1, "w_l2_norm": 0.25}
    assert get_proxy("swap_nb201").needs_grad and get_proxy("swap_nb201").needs_labels
    assert best_for("transnas_micro") == best_for("transnas_macro") == "swap_darts"
    assert best_for("darts") == "swap_fisher"  # the DARTS fitness since session 10; swap_darts stays universal
    assert get_proxy("swap_fisher").base_names == ("swap", "az_nas_progressivity", "params", "l2_norm", "fisher")
    assert get_proxy("swap_fisher").options == {"w_swap": 1.0, "w_az_nas_progressivity": 0.25, "w_params": 0.5,
                                                "w_l2_norm": 1.0, "w_fisher": -0.25}
    assert get_proxy("swap_fisher").needs_grad and get_proxy("swap_fisher").needs_labels  # Fisher differentiates a loss
    assert get_proxy("swap_darts").base_names == ("swap", "az_nas_expressivity", "az_nas_progressivity", "params")
    assert get_proxy("swap_darts").options == {"w_swap": 1.0, "w_az_nas_expressivity": 1.0,
                                               "w_az_nas_progressivity": 0.25, "w_params": 0.5}
    with pytest.raises(KeyError, match="aliases: best"):
        get_proxy("nope")


def test_fitness_protocol_only_for_the_fitness_alone(small_bundle) -> None:
    alone = protocol_defaults("nb201", resolve("swap_nb201"))  # NB201's best since session 11
    assert alone == {"net": {"C": 16, "N": 1}, "batch_size": 16, "repeats": 1, "init": "default"}
    # with its own bases: the bases are metrics of their own, with the SWAP protocol (session 19; a mixed run)
    assert protocol_defaults("nb201", resolve("swap_nb201,swap,fisher"))["init"] == "gaussian"
    assert protocol_defaults("nb201", resolve("swap_prog")) == alone  # the former best keeps its protocol
    mixed = protocol_defaults("nb201", resolve("swap_prog,params"))
    assert mixed["init"] == "gaussian" and mixed["repeats"] == 4  # the space's SWAP defaults for every proxy
    darts_fit = {"net": {"C": 8, "layers": 5}, "batch_size": 16, "repeats": 1, "init": "default"}
    assert protocol_defaults("darts", resolve("swap_fisher")) == darts_fit  # DARTS best since session 10
    assert protocol_defaults("darts", resolve("swap_darts")) == darts_fit  # a former best keeps its protocol
    assert protocol_defaults("darts", resolve("swap_darts,swap_expr")) == darts_fit  # two of them: one protocol
    assert protocol_defaults("darts", resolve("swap_darts,meco"))["init"] == "gaussian"
    assert protocol_defaults("nb201", resolve("swap_darts"))["init"] == "gaussian"  # not NB201's fitness, ever
    prot, _, proxies = configure("nb201", "cifar10", "best", data_dir=str(small_bundle))
    assert (prot.init, prot.repeats) == ("default", 1) and [q.name for q in proxies] == ["swap_nb201"]
    prot, _, _ = configure("nb201", "cifar10", "best", data_dir=str(small_bundle), init="gaussian", repeats=2)
    assert (prot.init, prot.repeats) == ("gaussian", 2)  # explicit settings win


def test_swap_prog_equals_its_bases_per_repeat() -> None:
    g = torch.Generator().manual_seed(3)
    batch = Batch(torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g), 10, "cifar10",
                  "noise", 0)
    prot = Protocol("nb201", "cifar10", 8, repeats=2, init="default", net={"C": 8, "N": 1})
    rec = score_arch(ARCH, nb201.build, [get_proxy("swap_prog")], batch, prot, torch.device("cpu"))["swap_prog"]
    prog = get_proxy("az_nas_progressivity")
    expected = []
    for r in range(2):
        psi = swap_score(build_scored_net(nb201.build, ARCH, prot, 10, r, torch.device("cpu")), batch.inputs)
        pr = prog.fn(build_scored_net(nb201.build, ARCH, prot, 10, r, torch.device("cpu")), batch, **prog.options)
        expected.append(math.log(psi) + 1.5 * pr)
    assert rec.ok and rec.values == pytest.approx(expected, rel=1e-9)
    assert rec.value == pytest.approx(sum(expected) / 2)


def _fitness_and_net(space: str, build, arch, proxy: str, s: int, net: dict, seed: int):
    """``proxy``'s record on ``arch`` (S noise images, CIFAR-10 labels, R = 1, default init), the batch, and
    a factory of fresh copies of the scored network (each base's golden value on its own copy)."""
    g = torch.Generator().manual_seed(seed)
    batch = Batch(torch.randn(s, 3, 32, 32, generator=g), torch.randint(0, 10, (s,), generator=g), 10, "cifar10",
                  "noise", 0)
    prot = Protocol(space, "cifar10", s, repeats=1, init="default", net=net)
    rec = score_arch(arch, build, [get_proxy(proxy)], batch, prot, torch.device("cpu"))[proxy]
    return rec, batch, lambda: build_scored_net(build, arch, prot, 10, 0, torch.device("cpu"))


def test_swap_fisher_equals_its_bases_on_the_darts_fitness_network() -> None:
    """The DARTS fitness against its bases computed by hand: Ψ and Fisher by their functions, #params and
    the summed tensor norms counted directly on the same network."""
    from swapnas.spaces import darts

    arch = darts.sample(__import__("random").Random(5))
    rec, batch, net = _fitness_and_net("darts", darts.build, arch, "swap_fisher", 6, {"C": 4, "layers": 5}, seed=4)
    prog, fisher = get_proxy("az_nas_progressivity"), get_proxy("fisher")
    model = net()
    n_params = sum(p.numel() for n, p in model.named_parameters() if "auxiliary" not in n)
    norms = sum(float(p.detach().double().pow(2).sum().sqrt()) for p in model.parameters())
    expected = (math.log(swap_score(net(), batch.inputs)) + 0.25 * prog.fn(net(), batch, **prog.options)
                + 0.5 * math.log(n_params) + math.log(norms) - 0.25 * math.log(fisher.fn(net(), batch)))
    assert rec.ok and rec.value == pytest.approx(expected, rel=1e-9)


def test_swap_nb201_equals_its_bases_on_the_nb201_fitness_network() -> None:
    """NB201's fitness against its bases: Ψ, progressivity, MeCo, trainability and Fisher by their own
    functions on fresh copies of the same network, the summed tensor norms counted directly."""
    # S = 16: Ψ below its ceiling on this network, so ln Ψ is not a constant here
    rec, batch, net = _fitness_and_net("nb201", nb201.build, ARCH, "swap_nb201", 16, {"C": 8, "N": 1}, seed=6)
    base = {n: get_proxy(n) for n in ("az_nas_progressivity", "meco", "az_nas_trainability", "fisher")}
    v = {n: p.fn(net(), batch, **p.options) for n, p in base.items()}
    norms = sum(float(p.detach().double().pow(2).sum().sqrt()) for p in net().parameters())
    expected = (math.log(swap_score(net(), batch.inputs)) + 1.816 * v["az_nas_progressivity"]
                + 0.1 * math.log(v["meco"]) + 8.216e-07 * v["az_nas_trainability"]
                - 0.1 * math.log(v["fisher"]) + 0.25 * math.log(norms))
    assert rec.ok and rec.value == pytest.approx(expected, rel=1e-9)


def test_proxies_command_lists_the_alias(capsys) -> None:
    from swapnas.cli import main

    assert main(["proxies", "best"]) == 0
    out = capsys.readouterr().out
    assert "alias best = swap_darts" in out and "nb201: swap_nb201" in out
