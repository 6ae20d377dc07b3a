"""Session 64's review of the session's mends (each test failed on the code it reviewed): autocast switched off on
torch 2.2, FloatFunctional no quantized layer, accept-code of a name with an older version beside it, a token space
of one's own on a GLUE task, a pruned BatchNorm weight reset through its hook, the network-code warning of a space
of one's own, and a mistyped NASLib key told what is wrong with it."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import swapnas


# --- F1 (high): without_autocast() crashes on torch 2.2 (the minimum supported; Intel Macs' last torch) ------------

class _Autocast22(torch.autocast):
    """torch 2.2's autocast.__init__ for the kinds devices.AUTOCAST_KINDS enters: 'xpu' reads
    torch.xpu.get_autocast_xpu_dtype() (an attribute only intel_extension_for_pytorch adds: torch 2.2 has no torch.xpu
    at all, 2.3's torch.xpu has no get_autocast_xpu_dtype), 'mps' is "an unsupported autocast device_type"."""

    def __init__(self, device_type: str, *args: object, **kwargs: object) -> None:
        if device_type == "xpu":
            raise AttributeError("module 'torch' has no attribute 'xpu'")
        if device_type == "mps":
            raise RuntimeError("User specified an unsupported autocast device_type 'mps'")
        super().__init__(device_type, *args, **kwargs)


def test_swap_score_runs_under_torch_2_2s_autocast(monkeypatch: pytest.MonkeyPatch) -> None:
    """devices.without_autocast catches RuntimeError only; on torch 2.2 entering autocast('xpu', enabled=False)
    raises AttributeError, so swap_score, score/rank (run_proxy) and every session score (_score_base) fail."""
    monkeypatch.setattr(torch, "autocast", _Autocast22)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    x = torch.randn(4, 3, 8, 8)
    assert swapnas.swap_score(net, x) >= 1
    assert swapnas.score(net, x, "swap", init="none")["swap"] >= 1


# --- F2 (medium, regression): a float model holding FloatFunctional is refused as "a quantized model" ----------------

class _QuantReady(nn.Module):
    """A float network prepared for quantization as torchvision.models.quantization's blocks are (quantize=False):
    its skip add is an nn.quantized.FloatFunctional, a float module living in torch.ao.nn.quantized."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 3, 3, padding=1), nn.ReLU()
        self.skip_add = torch.ao.nn.quantized.FloatFunctional()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.skip_add.add(self.relu(self.conv(x)), x))


def test_a_float_model_with_floatfunctional_is_not_refused_as_quantized() -> None:
    from swapnas.swap_checks import quantized

    torch.manual_seed(0)
    model, x, y = _QuantReady(), torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    assert quantized(model) is None  # HEAD: "a quantized model (layers skip_add)"
    got = swapnas.score(model, (x, y), "swap,synflow")  # 8442673 scored it: {'swap': 137.0, 'synflow': 4.8e5}
    assert got["swap"] > 0 and got["synflow"] > 0


# --- F3 (medium, regression): accept-code NAME fails (exit 2) where the store also holds an older version of NAME -----

def test_accept_code_of_a_named_metric_with_an_older_version_in_the_store_succeeds(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A store used by two swapnas versions holds swap@0 beside swap@<now> (documented: the older version's scores
    stay in the store). `swapnas store accept-code STORE swap` accepts swap@<now>, then (HEAD) raises StoreError
    "swap@0 not accepted", exit 2, though it did what was asked; 8442673 exited 0."""
    from swapnas.cli import main
    from swapnas.proxies import get_proxy
    from swapnas.store import ScoreStore

    path = tmp_path / "s.sqlite"
    now = get_proxy("swap").version
    with ScoreStore(path) as s:
        s.accept_code(f"swap@{now}", "0" * 16)  # this version's scores, under code edited since
        s.accept_code("swap@0", "1" * 16)  # an older swapnas's version of swap
    code = main(["store", "accept-code", str(path), "swap"])
    out = capsys.readouterr()
    assert f"swap@{now}: the code recorded on" in out.out  # it was accepted …
    assert code == 0, out.err  # … so the command succeeded


# --- F4 (medium, regression): check_dataset_for refuses a user's token space on a GLUE task -------------------------

TOKEN_SPACE = '''
"""A user's FlexiBERT-like space that is not searchable (no FINAL_NETS): its networks read GLUE token ids."""
from swapnas.spaces import flexibert as _fb
NAME = "review64_tok"
SCORING_DEFAULTS = _fb.SCORING_DEFAULTS
parse, format_arch, sample, mutate, iso_key = _fb.parse, _fb.format_arch, _fb.sample, _fb.mutate, _fb.iso_key
build, param_range_k, default_size_prior = _fb.build, _fb.param_range_k, _fb.default_size_prior
'''


def test_a_users_token_space_may_be_scored_on_a_glue_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """space_inputs.space_datasets takes a space without TASKS whose FINAL_NETS are not GLUE tasks for an image space,
    so `correlate --space review64_tok --truth my.csv --dataset sst` (README: 'Add a space' … --truth) is refused
    ("--dataset sst is a GLUE task, and space review64_tok's networks read images"), though load_batch('sst') gives
    the token batch its networks read, as it did before session 64."""
    from swapnas.data import load_batch
    from swapnas.space_inputs import check_dataset_for
    from swapnas.spaces import SPACES

    (tmp_path / "review64_tokspace.py").write_text(TOKEN_SPACE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(SPACES, "review64_tok", "review64_tokspace")
    assert not load_batch("sst", 4).inputs.is_floating_point()  # the token ids such a space reads
    check_dataset_for("review64_tok", "sst")  # HEAD: ValueError


# --- F5 (low-medium): a pruned BatchNorm weight keeps the caller's values under init='gaussian' ----------------------

def _bn_net() -> nn.Sequential:
    torch.manual_seed(1)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 4))
    with torch.no_grad():
        m[1].weight.fill_(-3.0)  # a trained BatchNorm's scale
    return m


def test_a_pruned_batchnorm_weight_is_reset_as_a_plain_one() -> None:
    """gaussian_init sets BatchNorm's weight to 1 with m.weight.fill_(1.0): on a prune'd BatchNorm that writes the
    computed tensor, which bake_hooks (prune.remove) then recomputes from weight_orig: the caller's -3.0 is scored
    (synflow 20577 against 6859). Until session 64 such a model was refused (deepcopy of a non-leaf); now it is
    scored silently with the caller's BatchNorm weights. Expected: the same value as the unpruned network (an
    identity mask)."""
    from torch.nn.utils import prune

    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 4, (8,))
    want = swapnas.score(_bn_net(), (x, y), "synflow", seed=0)["synflow"]
    pruned = _bn_net()
    prune.identity(pruned[1], "weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = swapnas.score(pruned, (x, y), "synflow", seed=0)["synflow"]
    assert got == pytest.approx(want, rel=1e-6)


# --- F6 (low): the network-code warning of a user's space still advises `swapnas store accept-code` -

def test_network_code_warning_of_a_users_space_names_a_command_that_can_accept_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 64 made the ProxyCodeWarning of an outside metric name `python SCRIPT.py store accept-code`, but the
    NetworkCodeWarning of a space registered from a script (README: SPACES["mine"] = "my_module") still names
    `swapnas store accept-code STORE`, which does not register that space, so it reports 'not run by this process'
    and accepts nothing."""
    from swapnas import code_changes
    from swapnas.proxies.code import NetworkCodeWarning
    from swapnas.spaces import SPACES
    from swapnas.store import ScoreStore

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    monkeypatch.setattr(sys, "argv", ["/home/me/my_swapnas.py", "correlate"])
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("net:toy@1", "0" * 16)  # recorded under other network code
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            code_changes.warn_changed_network(store, "toy", "1")
    texts = [str(w.message) for w in seen if issubclass(w.category, NetworkCodeWarning)]
    assert texts, [str(w.message) for w in seen]
    assert "`swapnas store accept-code" not in texts[0], texts[0]
    assert "my_swapnas.py store accept-code" in texts[0], texts[0]


# --- F7 (low): a mistyped NASLib key's own error is swallowed (train --genotype, --truth) ---------------------------

def test_a_mistyped_naslib_key_is_told_what_is_wrong_with_it() -> None:
    """arch_reader re-raises darts.parse's error when parse_naslib fails too, so `swapnas train --genotype KEY` with
    an op index out of range says "must look like 'Genotype(normal=[...], ...)'" and not parse_naslib's "NASLib op
    index 9 … is outside 0..6". A text that starts with '[' is a NASLib key attempt: its reader's error says more."""
    from swapnas.spaces import darts
    from swapnas.train.recipe import load_genotype

    edges = "[(0, 1), (1, 2), (0, 3), (2, 4), (1, 5), (3, 6), (0, 0), (4, 1)]"
    good = f"[{edges}, {edges}]"
    assert load_genotype(good) == darts.parse_naslib(good)
    with pytest.raises(ValueError, match="NASLib"):
        load_genotype(good[:-3] + "9)]]")  # op index 9
