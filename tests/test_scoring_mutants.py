"""The scoring protocol's pieces, each on its own: the per-arch seeds, the init, the builds, the records.

Written against the survivors of mutation testing ``swapnas.scoring`` (session 32, docs/reliability.md): the
whole-search and whole-grid tests check scores that a dropped seed part, a lost option or a lost device still
produced, and never compared a record's times, errors or peaks with what they must be. Golden values come from
an independent computation (the digest read with ``struct``, the draws made by hand, ``statistics.pstdev``).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import struct
import time

import pytest
import torch
from torch import nn

from swapnas.data import load_batch
from swapnas.proxies import get_proxy, register
from swapnas.proxies.registry import Proxy
from swapnas.scoring import (
    Protocol, _failure, _finish, _repeat_nets, _score_base, _score_derived, _score_structural, arch_seed,
    build_scored_net, check_stored_bases, forward_rng, gaussian_init, init_scored_net, reinitialisable, score_arch,
)
from swapnas.store import Record, ScoreKey

from .message_tools import exact

CPU, META = torch.device("cpu"), torch.device("meta")


def _protocol(**kw) -> Protocol:
    return Protocol(**{"space": "sp", "dataset": "cifar10", "batch_size": 4, "seed": 5, **kw})


def _linear(arch: object, num_classes: int, width: int = 3) -> nn.Module:
    return nn.Linear(width, num_classes)


@pytest.fixture(scope="module")
def batch():
    return load_batch("cifar10", 4, inputs="synthetic", seed=0)


def _naive_seed(seed: object, space: str, arch: str, repeat: int) -> int:
    raw = struct.unpack("<Q", hashlib.sha256(f"{seed}|{space}|{arch}|{repeat}".encode()).digest()[:8])[0]
    return raw % 2**63  # the low 63 bits


def test_arch_seed_is_the_digests_first_eight_bytes_little_endian_less_the_top_bit() -> None:
    cases = [(s, sp, f"arch{i}", r) for s in (0, 7) for sp in ("nb201", "darts") for i in range(8) for r in (0, 3)]
    seeds = [arch_seed(*c) for c in cases]
    assert seeds == [_naive_seed(*c) for c in cases]
    raws = [struct.unpack("<Q", hashlib.sha256(f"{s}|{sp}|{a}|{r}".encode()).digest()[:8])[0] for s, sp, a, r in cases]
    assert any(r >= 2**63 for r in raws) and any(r % 2 for r in raws)  # the cases reach the mask's both ends
    assert arch_seed(3, "nb201", "a") == arch_seed(3, "nb201", "a", 0) != arch_seed(3, "nb201", "a", 1)


def _draws(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.empty(shape).normal_(0.0, 1.0, generator=torch.Generator().manual_seed(seed))


def test_the_init_draws_from_the_seed_of_the_protocols_seed_space_arch_and_repeat() -> None:
    for protocol, arch, repeat in ((_protocol(), "a", 1), (_protocol(seed=6), "a", 1), (_protocol(space="sq"), "a", 1),
                                   (_protocol(), "b", 2)):
        model = nn.Linear(3, 2)
        init_scored_net(model, arch, protocol, repeat)
        expected = _draws((2, 3), _naive_seed(protocol.seed, protocol.space, arch, repeat))
        assert torch.equal(model.weight, expected) and not model.bias.any()
    model = nn.Linear(3, 2)
    before = model.weight.clone()
    init_scored_net(model, "a", _protocol(init="default", bn_train=False), 0)  # the builder's init stays
    assert torch.equal(model.weight, before) and not model.training
    init_scored_net(model, "a", _protocol(bn_train=True), 0)
    assert model.training


def test_the_draws_are_float32_on_the_generators_device_whatever_the_defaults() -> None:
    expected = _draws((4, 5), 11)
    default = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        model = nn.Linear(5, 4)
        assert model.weight.dtype == torch.float64
        gaussian_init(model, torch.Generator().manual_seed(11))
    finally:
        torch.set_default_dtype(default)
    assert torch.equal(model.weight, expected.double())  # float64 gets the float32 draws
    model = nn.Linear(5, 4)
    with torch.device("meta"):  # a default device other than the generator's
        gaussian_init(model, torch.Generator().manual_seed(11))
    assert torch.equal(model.weight, expected)


def test_a_build_is_seeded_per_seed_space_arch_and_repeat_and_leaves_the_process_rng_alone() -> None:
    for protocol, arch, repeat in ((_protocol(init="default"), "a", 1), (_protocol(init="default", seed=6), "a", 1),
                                   (_protocol(init="default", space="sq"), "a", 1), (_protocol(init="default"), "b", 0)):
        state = torch.get_rng_state()
        model = build_scored_net(_linear, arch, protocol, 2, repeat, CPU)
        assert torch.equal(torch.get_rng_state(), state)
        torch.manual_seed(_naive_seed(protocol.seed, protocol.space, arch, repeat))
        assert torch.equal(model.weight, nn.Linear(3, 2).weight)
    model = build_scored_net(_linear, "a", _protocol(net={"width": 6}), 2, 0, META)  # the protocol's net, the device
    assert model.weight.shape == (2, 6) and model.weight.is_meta


def test_every_repeats_network_is_on_the_device_asked_for() -> None:
    proxy = Proxy("probe", fn=lambda model, batch: 0.0)  # keeps_model False: a build per repeat
    nets = list(_repeat_nets(proxy, "a", _linear, _protocol(repeats=3), 2, META, None))
    assert len(nets) == 3 and all(n.weight.is_meta for n in nets)


def test_a_pass_is_seeded_per_seed_space_arch_and_repeat() -> None:
    x = torch.ones(4000)
    for protocol, arch, repeat in ((_protocol(), "a", 2), (_protocol(seed=6), "a", 2), (_protocol(space="sq"), "a", 2),
                                   (_protocol(), "b", 0)):
        model = nn.Sequential(nn.Dropout(0.5)).train()
        state = torch.get_rng_state()
        with forward_rng(model, arch, protocol, repeat):
            y = model(x)
        assert torch.equal(torch.get_rng_state(), state)
        torch.manual_seed(_naive_seed(protocol.seed, protocol.space, f"{arch}#forward", repeat))
        assert torch.equal(y, nn.functional.dropout(x, 0.5))


def test_only_conv_linear_and_batchnorm_with_their_own_tensors_are_reinitialisable() -> None:
    assert reinitialisable(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Linear(4, 2)))
    assert not reinitialisable(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)))  # weight and bias, not drawn
    extra = nn.Linear(4, 4)
    extra.register_buffer("mask", torch.ones(4))  # a Linear, but with a tensor the init leaves alone
    assert not reinitialisable(extra)


def test_a_failure_record_keeps_its_time_and_the_first_2000_characters_of_the_error() -> None:
    rec = _failure(ValueError("x" * 3000), 1.5)
    assert (rec.status, rec.value, rec.std, rec.values, rec.seconds, rec.peak_mem_bytes) == \
        ("failed", None, None, [], 1.5, None)
    assert rec.error == ("ValueError: " + "x" * 3000)[:2000] and len(rec.error) == 2000


def test_finish_keeps_the_values_time_and_peak_and_names_the_first_four_non_finite_values() -> None:
    values = [1.0, math.nan, math.inf, 2.0, -math.inf, math.nan, math.inf]
    rec = _finish(values, 2.0, 7)
    assert (rec.status, rec.value, rec.std, rec.values, rec.seconds, rec.peak_mem_bytes) == \
        ("failed", None, None, values, 2.0, 7)
    assert rec.error == "non-finite score(s): [nan, inf, -inf, nan]"
    rec = _finish([1.0, 2.0, 6.0], 3.0, None)
    assert rec == Record("ok", 3.0, statistics.pstdev([1.0, 2.0, 6.0]), [1.0, 2.0, 6.0], 3.0, None, None)


def _timed(fn, *args):
    t0 = time.perf_counter()
    rec = fn(*args)
    return rec, time.perf_counter() - t0


def test_a_saturation_warning_on_jigsaw_says_that_s_counts_its_tiles(batch, monkeypatch) -> None:
    # session 50: TransNAS jigsaw's warning said "S = 144 samples" under a protocol of S = 16, without the reason
    import warnings

    from swapnas import scoring
    from swapnas.patterns import _warn_if_saturated
    from swapnas.spaces import map_rows

    assert map_rows("transnas_micro", "jigsaw") == map_rows("transnas_macro", "jigsaw") == 9
    assert map_rows("transnas_micro", "autoencoder") == map_rows("nb201", "cifar10") == map_rows("sp", "x") == 1
    jigsaw = _protocol(space="transnas_micro", dataset="jigsaw", batch_size=16)
    assert scoring._rows_note(jigsaw) == ("; on transnas_micro/jigsaw each input gives 9 rows, so S = 16 inputs x 9: "
                                          "--batch-size sets the inputs")
    assert scoring._rows_note(_protocol()) == scoring._rows_note(_protocol(space="nb201")) == ""
    monkeypatch.setattr(scoring, "_SATURATION_SHOWN", {})

    def saturated(model, batch) -> float:
        _warn_if_saturated(6280, 144, 6280)
        return 1.0

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _score_base(Proxy("probe", fn=saturated), "a", _linear, batch, jigsaw, CPU, None)
        _score_base(Proxy("other", fn=saturated), "a", _linear, batch, _protocol(), CPU, None)
    texts = [str(w.message) for w in caught]
    assert len(texts) == 2 and texts[0].endswith("report does not); on transnas_micro/jigsaw each input gives 9 rows, "
                                                 "so S = 16 inputs x 9: --batch-size sets the inputs]")
    assert texts[1].endswith("counts the archs at the 2**S ceiling; a search's report does not)]")


def test_a_base_proxy_runs_with_its_options_on_the_device_and_times_itself(batch) -> None:
    proxy = Proxy("probe", fn=lambda model, batch, scale=1.0: scale * next(model.parameters()).is_meta,
                  options={"scale": 3.0})
    rec, wall = _timed(_score_base, proxy, "a", _linear, batch, _protocol(repeats=2), META, None)
    assert rec.ok and rec.values == [3.0, 3.0] and 0 <= rec.seconds <= wall

    def boom(model, batch):
        raise ValueError("boom")

    rec, wall = _timed(_score_base, Proxy("boom", fn=boom), "a", _linear, batch, _protocol(), CPU, None)
    assert rec.error == "ValueError: boom" and 0 <= rec.seconds <= wall


def test_a_structural_proxy_gets_the_batch_and_its_options_and_times_itself(batch) -> None:
    proxy = Proxy("probe", fn=lambda model, batch, k=1: k * batch.num_classes, options={"k": 2}, structural=True)
    rec, wall = _timed(_score_structural, proxy, lambda: nn.Linear(2, 2), batch, _protocol(repeats=3), CPU)
    assert rec.ok and rec.values == [20.0] * 3 and 0 <= rec.seconds <= wall

    def boom(model, batch):
        raise ValueError("boom")

    rec, wall = _timed(_score_structural, Proxy("boom", fn=boom), lambda: nn.Linear(2, 2), batch, _protocol(), CPU)
    assert (rec.status, rec.values, rec.error) == ("failed", [], "ValueError: boom") and 0 <= rec.seconds <= wall


def _base(values: list[float], seconds: float | None, peak: int | None) -> Record:
    return Record("ok", sum(values) / len(values), 0.0, values, seconds, peak, None)


def test_a_derived_proxy_maps_its_bases_per_repeat_with_the_structure_and_adds_their_times(batch) -> None:
    def fn(vs, model, k=1.0):
        time.sleep(0.002)  # the proxy's own time, added to its bases'
        return k * sum(vs) + sum(p.numel() for p in model.parameters())

    proxy = Proxy("probe", fn=fn, base=("a", "b"), options={"k": 2.0})
    bases = [_base([1.0, 2.0], 1.0, 100), _base([10.0, 20.0], None, None)]
    rec, wall = _timed(_score_derived, proxy, bases, lambda: nn.Linear(2, 2))  # 6 parameters
    assert rec.ok and rec.values == [28.0, 50.0] and rec.peak_mem_bytes == 100
    assert 1.002 <= rec.seconds <= 1.0 + wall
    rec = _score_derived(proxy, [_base([1.0], 0.5, 100), _base([1.0], 0.25, 300)], lambda: nn.Linear(2, 2))
    assert rec.peak_mem_bytes == 300 and rec.seconds >= 0.75

    def boom(vs, model):
        raise ValueError("boom")

    rec, wall = _timed(_score_derived, Proxy("boom", fn=boom, base="a"), bases[:1], lambda: nn.Linear(2, 2))
    assert rec.error == "ValueError: boom" and 1.0 <= rec.seconds <= 1.0 + wall  # (its base's too: session 70)


def test_a_derived_proxy_of_failed_bases_names_each_and_takes_their_time() -> None:
    failed = [Record("failed", None, None, [], 1.0, None, f"E{i}") for i in (1, 2)]
    rec = _score_derived(Proxy("probe", fn=lambda vs, model: 0.0, base=("a", "b")), failed, lambda: nn.Linear(2, 2))
    # (0.0 s until session 70, though a derived proxy's seconds include its bases')
    assert rec == Record("failed", None, None, [], 2.0, None, "base proxy 'a' failed: E1; base proxy 'b' failed: E2")


def test_a_configured_base_beside_the_proxy_derived_from_it_is_refused(scratch_registry) -> None:
    register("mut_base", k=1)(lambda model, batch, k: float(k))
    register("mut_other", k=1)(lambda model, batch, k: float(k))
    register("mut_derived", base="mut_base")(lambda value, model: value)
    derived, configured = get_proxy("mut_derived"), get_proxy("mut_base").configure(k=2)
    with pytest.raises(ValueError) as err:
        check_stored_bases([configured, derived])
    assert str(err.value) == (
        "mut_base is configured (mut_base@1[k=2]) and is also a base of mut_derived, whose stored score would then "
        "come from it under mut_derived's usual key; score mut_derived and the configured mut_base in two calls")
    check_stored_bases([get_proxy("mut_base"), derived])  # the default base: its scores are the usual ones
    check_stored_bases([get_proxy("mut_other").configure(k=2), derived])  # configured, but not a base
    check_stored_bases([configured])


class _Store:
    """A :class:`~swapnas.store.RecordStore` that records what is put and with which device."""

    def __init__(self, known: dict[str, Record]):
        self.known, self.puts = known, []

    def get(self, key: ScoreKey) -> Record | None:
        return self.known.get(key.proxy)

    def put(self, key: ScoreKey, record: Record, device: str = "") -> None:
        self.puts.append((key.proxy, record.status, device))


def test_score_arch_reuses_failures_unless_asked_and_stores_the_device(batch, scratch_registry) -> None:
    calls = []
    register("mut_probe", keeps_model=True)(lambda model, batch: calls.append(1) or 1.0)
    key = get_proxy("mut_probe").key
    failed, ok = Record("failed", None, None, [], 0.0, None, "E"), Record("ok", 2.0, 0.0, [2.0], 0.0, None, None)
    proxies, protocol = [get_proxy("mut_probe")], _protocol()
    assert score_arch("a", _linear, proxies, batch, protocol, CPU, store=_Store({key: failed}))["mut_probe"] == failed
    assert calls == []  # retry_failed is off by default
    store = _Store({key: failed})
    assert score_arch("a", _linear, proxies, batch, protocol, CPU, store=store, retry_failed=True)["mut_probe"].ok
    assert calls == [1] and store.puts == [(key, "ok", "cpu")]
    assert score_arch("a", _linear, proxies, batch, protocol, CPU, store=_Store({key: ok}), retry_failed=True) == \
        {"mut_probe": ok}  # retrying failures re-runs no success
    assert calls == [1]


def test_score_arch_passes_the_batch_to_a_structural_proxy_and_the_prebuilt_net_past_other_proxies(
        batch, scratch_registry) -> None:
    seen = []
    register("mut_size", keeps_model=True, structural=True)(lambda model, batch: float(batch.num_classes))
    register("mut_fresh")(lambda model, batch: 0.0)  # does not keep the model: never gets the prebuilt one
    register("mut_keeper", keeps_model=True)(lambda model, batch: seen.append(model) or 0.0)
    protocol = _protocol()
    prebuilt = build_scored_net(_linear, "a", protocol, batch.num_classes, 0, CPU)
    out = score_arch("a", _linear, [get_proxy(n) for n in ("mut_size", "mut_fresh", "mut_keeper")], batch, protocol,
                     CPU, prebuilt=prebuilt)
    assert out["mut_size"].values == [10.0] and len(seen) == 1 and seen[0] is prebuilt


@pytest.mark.skipif(not torch.cuda.is_available(), reason="a network on a GPU (the CUDA RNG)")
def test_a_pass_of_a_network_on_a_gpu_is_seeded_and_restores_the_cuda_rng() -> None:
    x = torch.ones(4000, device="cuda")
    model = nn.Sequential(nn.Dropout(0.5)).cuda().train()
    state = torch.cuda.get_rng_state()
    with forward_rng(model, "a", _protocol(), 1):
        y = model(x)
    assert torch.equal(torch.cuda.get_rng_state(), state)
    torch.manual_seed(_naive_seed(5, "sp", "a#forward", 1))
    assert torch.equal(y, nn.functional.dropout(x, 0.5))


# ----------------------------------------------------------------------------- session 38: Protocol's methods


def test_the_net_key_is_the_net_as_sorted_json() -> None:
    a = Protocol("nb201", "cifar10", 16, net={"N": 1, "C": 8})
    b = Protocol("nb201", "cifar10", 16, net={"C": 8, "N": 1})
    assert a.net_key == b.net_key == '{"C": 8, "N": 1}'
    assert a.key("arch", get_proxy("params")).net == '{"C": 8, "N": 1}'


def test_the_fingerprint_is_sha256_of_the_documented_parts() -> None:
    def expected(**extra: object) -> str:
        parts = {"dataset": "cifar100", "init": "default", "bn_train": False, "batch": "abc", "inputs": "synthetic",
                 **extra}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    base = {"init": "default", "bn_train": False, "batch_digest": "abc", "inputs": "synthetic"}
    plain = Protocol("nb201", "cifar100", 8, **base)
    assert plain.fingerprint == expected()
    assert plain.describe() == {"space": "nb201", "dataset": "cifar100", "batch_size": 8, "repeats": 1, "seed": 0,
                                "net": {}, "fingerprint": plain.fingerprint, **base}  # no classes, version 1
    assert Protocol("nb201", "cifar100", 8, classes=5, **base).fingerprint == expected(classes=5)
    assert Protocol("nb201", "cifar100", 8, net_version="3", **base).fingerprint == expected(net_version="3")
    both = Protocol("nb201", "cifar100", 8, classes=7, net_version="2", **base)
    assert both.fingerprint == expected(classes=7, net_version="2")
    assert both.describe() == {"space": "nb201", "dataset": "cifar100", "batch_size": 8, "repeats": 1, "seed": 0,
                               "net": {}, "classes": 7, "net_version": "2", "fingerprint": both.fingerprint, **base}


def test_protocol_refusals_in_full() -> None:
    with pytest.raises(ValueError, match=exact("repeats must be >= 1 (got 0)")):
        Protocol("nb201", "cifar10", 16, repeats=0)
    with pytest.raises(ValueError, match=exact("init must be one of ('gaussian', 'default') (got 'kaiming')")):
        Protocol("nb201", "cifar10", 16, init="kaiming")
