"""Session 65's mutation run of its own lines (118 mutants of the new checks, 42 surviving the tests then): each test
kills a mutant that survived the session's tests and the older ones exercising the same function."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest


# ---- arg_checks -------------------------------------------------------------------------------------------------

def test_whole_returns_a_python_int_for_numpy_integers():
    """ac5 (`return value`): numpy's integers pass through as np.int64 (JSON/SQLite callers expect an int)."""
    from swapnas.arg_checks import whole
    got = whole("n", np.int64(3), 1)
    assert got == 3 and type(got) is int


def test_seed_takes_the_largest_seed_and_refuses_one_beyond():
    """ac6 (`>= MAX_SEED`) and ac8 (MAX_SEED = 2**64 - 1): the boundary of --seed's range, 0..2**63-1."""
    from swapnas.arg_checks import MAX_SEED, seed
    assert MAX_SEED == 2**63 - 1
    assert seed("seed", 2**63 - 1) == 2**63 - 1
    with pytest.raises(ValueError, match="seed must be in 0"):
        seed("seed", 2**63)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_finite_refuses_infinities_and_nan(value):
    """ac10 (`math.isnan` for `not math.isfinite`): max_seconds=inf, max_params=inf passed as "finite"."""
    from swapnas.arg_checks import finite
    with pytest.raises(ValueError, match="finite"):
        finite("max_seconds", value)


def test_check_numbers_refuses_an_infinite_limit():
    """ac10 through run_search's checks: max_params=inf is no limit at all; the command's finite_float refuses it."""
    from swapnas.search.checks import check_numbers
    with pytest.raises(ValueError, match="max_params"):
        check_numbers(seed_=0, score_seed=0, max_evals=None, max_seconds=None, max_params=float("inf"), max_macs=None)


# ---- out_checks -------------------------------------------------------------------------------------------------

def test_api_out_names_the_python_argument_not_the_flag(tmp_path):
    """oc1 (`_flags` ignoring args.flags): from Python the message says out=…, not --out …"""
    from swapnas.out_checks import api_out
    f = tmp_path / "a_file"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        api_out("train", f)
    assert str(exc.value).startswith(f"out={f}") and "--out" not in str(exc.value)


@pytest.mark.parametrize("out", [None, 3, b"/tmp/x"])
def test_api_out_refuses_a_non_path_with_a_valueerror_naming_out(out):
    """oc4 (the isinstance check dropped): None / an int / bytes raised os.fspath's or Path's bare TypeError."""
    from swapnas.out_checks import api_out
    with pytest.raises(ValueError, match="out="):
        api_out("train", out)


def _bare_bundle(root):
    """A data folder the caller names (data_dir) that does not look like a bundle on its own (no SOURCES.md)."""
    (root / "nb201").mkdir(parents=True)
    return root


def test_api_out_refuses_an_out_inside_the_data_dir_it_is_given(tmp_path, no_default_data):
    """oc6 (api_out passing data_dir=None): run_search(out=<data_dir>/nb201/run, data_dir=...) wrote into the bundle."""
    from swapnas.out_checks import api_out
    data = _bare_bundle(tmp_path / "data")
    with pytest.raises(ValueError, match="inside the data bundle"):
        api_out("search", data / "nb201" / "run", data_dir=str(data))


def test_api_out_refuses_a_store_inside_the_data_dir_it_is_given(tmp_path, no_default_data):
    """oc7 (api_out passing store=None): run_search's store inside the bundle passed; message names store=."""
    from swapnas.out_checks import api_out
    data = _bare_bundle(tmp_path / "data")
    with pytest.raises(ValueError, match=r"^store=.*inside the data bundle"):
        api_out("search", tmp_path / "run", data_dir=str(data), store=str(data / "nb201" / "s.sqlite"))


def test_refuse_export_target_refuses_a_file_in_a_bundle(tmp_path):
    """oc9 (refuse_file_in_bundle dropped from refuse_export_target): export(out=<bundle>/nb201/x.csv) replaced a
    bundle file (session 62's finding)."""
    from swapnas.out_checks import refuse_export_target
    b = tmp_path / "bundle"
    for d in ("nb201", "darts"):
        (b / d).mkdir(parents=True)
    (b / "SOURCES.md").write_text("# sources\n", encoding="utf-8")
    with pytest.raises(ValueError, match="inside the data bundle"):
        refuse_export_target("out=", b / "nb201" / "x.csv")


# ---- search/checks ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["max_seconds", "max_params", "max_macs"])
def test_check_numbers_refuses_a_zero_limit(name):
    """sc22 (`< 0` for `<= 0`): a limit of 0 passed (the command's positive_float refuses it)."""
    from swapnas.search.checks import check_numbers
    kw = dict(max_seconds=None, max_params=None, max_macs=None)
    kw[name] = 0.0
    with pytest.raises(ValueError, match=f"{name} must be > 0"):
        check_numbers(seed_=0, score_seed=0, max_evals=None, **kw)


def test_check_search_refuses_a_prior_width_of_zero(data_dir):
    """sc13 (`prior[1] < 0`): prior=(0.8, 0.0) passed, a zero-width prior (the command: WIDTH must be > 0)."""
    from swapnas.search.checks import check_search
    with pytest.raises(ValueError, match="WIDTH must be > 0"):
        check_search("nb201", "cifar10", fitness="swap_reg", prior=(0.8, 0.0), data_dir=str(data_dir))


def _tiny_search(tmp_path, data_dir, store_path, **kw):  # noqa: D103
    import torch
    from swapnas.search.driver import run_search
    from swapnas.search.evolution import EAConfig
    from swapnas.store import ScoreStore
    args = dict(config=EAConfig(population=2, sample=2, mutations=1, cycles=0), seed=0, out=tmp_path / "s",
                device=torch.device("cpu"), data_dir=data_dir, progress=False, fitness="params")
    args.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ScoreStore(store_path) as store:
            return run_search("nb201", "cifar10", store=store, **args)


def test_run_search_refuses_a_train_out(tmp_path, data_dir):
    """sc26 (api_out('train', …) in checked): a train run's OUT was taken by run_search, and mixed into."""
    out = tmp_path / "train_out"
    out.mkdir()
    (out / "history.json").write_text(json.dumps({"provenance": {"swapnas": "0.1.0"}}), encoding="utf-8")
    with pytest.raises(ValueError, match="swapnas train"):
        _tiny_search(tmp_path, data_dir, tmp_path / "s.sqlite", out=out)
    assert not (out / "state.json").exists()


def test_run_search_refuses_a_store_inside_the_data_dir(tmp_path):
    """sc25 (checked passing store=None to api_out): a store inside the bundle named by data_dir was taken."""
    fake = tmp_path / "fake"
    (fake / "nb201").mkdir(parents=True)
    with pytest.raises(ValueError, match="^store=.*inside the data bundle"):
        _tiny_search(tmp_path, str(fake), fake / "nb201" / "s.sqlite", out=tmp_path / "o")


# ---- proxies/option_checks ----------------------------------------------------------------------------------------

def test_an_option_with_a_default_refuses_none():
    """op1 (`if value is None: return`): samples=None (default 8) passed, and failed in the metric."""
    from swapnas.proxies.option_checks import check_option
    with pytest.raises(TypeError, match="meco option samples=None"):
        check_option("meco", "samples", None, 8)


def test_a_bool_option_refuses_a_non_bool():
    """op2 (the bool check dropped): a bool option took 1 or 'no' (a non-empty str is truthy)."""
    from swapnas.proxies.option_checks import check_option
    for bad in (1, "no", None):
        with pytest.raises(TypeError, match="takes True or False"):
            check_option("p", "flag", bad, False)
    check_option("p", "flag", True, False)


def test_an_inclusive_top_of_a_range_is_taken():
    """op9 (`value >= high`): lswag_grad's stop=100 (the top percentile, inclusive) was refused."""
    from swapnas.proxies.option_checks import check_option
    check_option("lswag_grad", "stop", 100.0, 90.0)
    check_option("lswag_grad", "start", 0.0, 10.0)
    with pytest.raises(ValueError, match=r"must be in \(0, 100\]"):
        check_option("lswag_grad", "stop", 100.5, 90.0)


def test_epe_nas_k_of_zero_is_refused():
    """op15 (k's lowest taken): k=0 made epe_nas's log(. + k) -inf for a zero correlation."""
    from swapnas.proxies.option_checks import check_option
    with pytest.raises(ValueError, match=r"must be in \(0, ∞\)"):
        check_option("epe_nas", "k", 0.0, 1e-5)


# ---- correlation._checked_proxies --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def _nb201(data_dir):
    from swapnas.benchmarks import get_benchmark
    from swapnas.session import configure
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = get_benchmark("nb201", data_dir)
        protocol, batch, _ = configure("nb201", "cifar10", "params", seed=0, batch_size=8, repeats=1,
                                       data_dir=data_dir)
    return bench, protocol, batch


def test_checked_proxies_takes_every_arch_and_at_most_beyond(_nb201):
    """co4 (`>= held`): n_archs equal to the archs there are was refused; co5 (AtMost ignored): the command's default
    --archs (at most) beyond them was refused."""
    from swapnas.arg_checks import AtMost
    from swapnas.correlation import _checked_proxies
    bench, protocol, batch = _nb201
    held = len(bench.archs_for("cifar10"))
    assert [p.name for p in _checked_proxies(bench, "cifar10", "params", held, protocol, batch)] == ["params"]
    assert _checked_proxies(bench, "cifar10", "params", AtMost(held + 1), protocol, batch)
    with pytest.raises(ValueError, match=f"more than the {held} archs"):
        _checked_proxies(bench, "cifar10", "params", held + 1, protocol, batch)


def test_checked_proxies_refuses_a_protocol_of_another_space(_nb201, data_dir):
    """co3 (only the dataset compared): a darts cifar10 protocol was correlated with nb201's cifar10 ground truth."""
    from swapnas.correlation import _checked_proxies
    from swapnas.session import configure
    bench, _, _ = _nb201
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        protocol, batch, _ = configure("darts", "cifar10", "params", seed=0, batch_size=8, repeats=1,
                                       data_dir=data_dir)
    with pytest.raises(ValueError, match="the protocol scores darts networks"):
        _checked_proxies(bench, "cifar10", "params", 3, protocol, batch)


# ---- requirements.LABEL_REQUIREMENTS ------------------------------------------------------------------------------

def _labels(loss, targets, num_classes):
    from types import SimpleNamespace
    from swapnas.requirements import LABEL_REQUIREMENTS
    ok, _ = LABEL_REQUIREMENTS["class_pairs"]
    return ok(SimpleNamespace(loss=loss, targets=targets, num_classes=num_classes))


def test_class_pairs_reads_only_class_labels_of_at_most_100_classes():
    """rq1 (loss 'ce' dropped): a regression batch's distinct float targets were refused as 'one sample per class';
    rq3 (`< 100`): CIFAR-100's batch of distinct labels was taken; rq4 (the class bound dropped): a batch of distinct
    labels of more than 100 classes (ImageNet16-120, whose epe_nas reads no class pairs) was refused."""
    import torch
    assert _labels("mse", torch.arange(8.0), 1)
    assert not _labels("ce", torch.arange(8), 100)
    assert _labels("ce", torch.arange(8), 120)
    assert _labels("ce", torch.tensor([0, 0, 1, 2]), 10)


# ---- az_nas wrappers ------------------------------------------------------------------------------------------------

def test_az_nas_looks_through_a_wrapper_of_a_flat_model():
    """az3 (no unwrapping at the top): nn.Sequential(flat) gave one block, the whole model, not flat's layers."""
    from torch import nn
    from swapnas.proxies.az_nas import block_modules

    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3)

    flat = Flat()
    assert block_modules(nn.Sequential(flat)) == [flat.conv1, flat.conv2]


# ---- _common.output_loss one output ------------------------------------------------------------------------------

def test_one_output_check_reads_the_class_dimension_not_the_last():
    """cm2 (`output.shape[-1] == 1`): (S, C, L) logits of L = 1 were refused, (S, 1, L) ones taken (a loss of 0)."""
    import torch
    from swapnas.proxies._common import output_loss
    assert torch.isfinite(output_loss(torch.randn(4, 3, 1), torch.zeros(4, 1, dtype=torch.long)))
    with pytest.raises(ValueError, match="one output"):
        output_loss(torch.randn(4, 1, 5), torch.zeros(4, 5, dtype=torch.long))


# ---- api_failures hints -------------------------------------------------------------------------------------------

def _relu_net(units, weight):
    import torch
    from torch import nn
    net = nn.Sequential(nn.Linear(2, units, bias=False), nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(weight, dtype=torch.float32))
    return net


def test_kernel_rank_hint_only_where_the_rank_bound_explains_it():
    """af1 (shared codes not checked), af2 (`s < units + 1`), af3 (sample count not checked): the rank-bound hint
    was given where it is wrong (S <= N_A + 1, or two samples sharing a code)."""
    import torch
    from types import SimpleNamespace
    from swapnas.api_failures import _kernel_rank_hint
    net = _relu_net(2, [[1.0, 0.0], [0.0, 1.0]])
    three = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])  # codes 11, 10, 01: distinct, S = N_A + 1
    assert _kernel_rank_hint(net, SimpleNamespace(inputs=three)) == ""
    shared = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [2.0, 2.0]])  # S = 4 > 3, but 11 twice
    assert _kernel_rank_hint(net, SimpleNamespace(inputs=shared)) == ""
    four = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])  # 4 distinct codes, S > N_A + 1
    assert "rank at most 3" in _kernel_rank_hint(net, SimpleNamespace(inputs=four))


def test_no_trainable_parameter_hint_only_without_trainable_parameters():
    """af5 (the parameter check dropped): a model with trainable weights was told it has none."""
    import torch
    from torch import nn
    from types import SimpleNamespace
    from swapnas.api_failures import hint
    from swapnas.proxies import get_proxy
    batch = SimpleNamespace(inputs=torch.randn(2, 2), targets=torch.tensor([0, 1]), loss="ce")
    exc = RuntimeError("One of the differentiated Tensors ... argument to `grad()` cannot be empty")
    assert "no trainable parameter" not in hint(get_proxy("grad_norm"), nn.Linear(2, 2), batch, exc)
    frozen = nn.Linear(2, 2).requires_grad_(False)
    assert "no trainable parameter" in hint(get_proxy("grad_norm"), frozen, batch, exc)


# ---- train/run._check_counts ----------------------------------------------------------------------------------------

def test_run_train_refuses_synthetic_one_by_name():
    """tr5 (synthetic's least 1): synthetic=1 passed the up-front check (the command's --synthetic takes 2 or more)."""
    from swapnas.train.run import _check_counts
    with pytest.raises(ValueError, match="synthetic must be >= 2"):
        _check_counts(0, 0, 1, None, 1, None)
    _check_counts(0, 0, 1, None, 2, None)


def test_az_nas_probes_of_token_ids_are_not_those_of_float_inputs():
    """az6 (every dtype hashed as float32): integer inputs (token ids) drew the probes of a float batch of the same
    values, not their own (the docstring: other dtypes by their name)."""
    import torch
    from swapnas.proxies.az_nas import probe_generator
    ids = torch.arange(12).reshape(3, 4)
    a = torch.randn(5, generator=probe_generator(ids))
    b = torch.randn(5, generator=probe_generator(ids.float()))
    c = torch.randn(5, generator=probe_generator(ids.double()))
    assert not torch.equal(a, b) and torch.equal(b, c)


def test_check_search_returns_swap_regs_key_of_the_prior_given(data_dir):
    """sc15 (the mu branch dropped): the key announced for fitness swap_reg with mu/sigma was the default prior's."""
    from swapnas.proxies import get_proxy
    from swapnas.search.checks import check_search
    _, key = check_search("nb201", "cifar10", fitness="swap_reg", mu=500.0, sigma=100.0, data_dir=str(data_dir))
    assert key == get_proxy("swap_reg").configure(mu=500.0, sigma=100.0).key


def test_run_correlation_without_proxies_names_the_python_argument(small_bundle):
    """The mutation run found the "no proxies" branch dead: resolve_for refused first, naming --proxies to a Python
    caller."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure

    protocol, batch, _ = configure("darts", "cifar10", "params", batch_size=4, repeats=1, data_dir=str(small_bundle))
    for empty in ("", " , ", []):
        with pytest.raises(ValueError) as info:
            run_correlation(bench=get_benchmark("nb301", str(small_bundle)), task="cifar10", proxies=empty, n_archs=3,
                            protocol=protocol, batch=batch, store=None, device=None)  # type: ignore[arg-type]
        assert str(info.value) == (f"proxies={empty!r}: no proxies to score; give at least one name or Proxy (see "
                                   "swapnas.list_proxies())")
