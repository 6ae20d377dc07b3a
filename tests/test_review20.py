"""Session 20: found while patching the grid's stale cells (scripts/grid_patch.py)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from swapnas.correlation import error_messages
from swapnas.bundle import Batch
from swapnas.grid import GridColumn, markdown, write_grid
from swapnas.proxies import get_proxy
from swapnas.store import Record, local_minute

PROTOCOL = {"net": {}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0}


def _column(results: list[dict]) -> GridColumn:
    return GridColumn("transnas_micro", "jigsaw", "gt", PROTOCOL, "", 10, 1.0, results)


def _failed(n: int, errors: list[str]) -> dict:
    return {"proxy": "epe_nas", "key": "epe_nas@2", "spearman": float("nan"), "kendall": float("nan"), "n": 0,
            "failures": n, "seconds_per_arch": float("nan"), "errors": errors, "spearman_given_params": float("nan")}


def test_a_grid_with_an_all_failed_cell_renders_again_from_its_own_json(tmp_path) -> None:
    """Every arch failed → no seconds (NaN, null in grid.json): the table said `nans`, and a grid read back
    from its grid.json crashed in the cost table."""
    ok = {"proxy": "swap", "key": "swap@1", "spearman": 0.5, "kendall": 0.4, "n": 10, "failures": 0,
          "seconds_per_arch": 0.1, "errors": [], "spearman_given_params": 0.2}
    cols = [_column([ok, _failed(10, ["ValueError: no class with 2 samples"])])]
    assert "| epe_nas | 0 (10) — |" in markdown(cols)
    write_grid(cols, tmp_path)
    back = [GridColumn(**c) for c in json.loads((tmp_path / "grid.json").read_text())["columns"]]
    assert back[0].results[1]["seconds_per_arch"] is None
    assert "| epe_nas | 0 (10) — |" in markdown(back)


def test_failure_messages_lead_with_the_most_frequent() -> None:
    """The grid showed the alphabetically first message of a cell: one arch's RuntimeError hid why the other 99
    failed (a ValueError)."""
    def failed(e: str) -> Record:
        return Record("failed", None, None, [], None, None, e)

    recs = [failed("ValueError: why most failed") for _ in range(3)]
    recs += [failed("RuntimeError: one arch"), Record("ok", 1.0, 0.0, [1.0], 0.1, None, None)]
    assert error_messages(recs) == ["ValueError: why most failed", "RuntimeError: one arch"]
    text = markdown([_column([_failed(4, error_messages(recs))])])
    assert "- transnas_micro/jigsaw epe_nas: ValueError: why most failed" in text
    assert "RuntimeError" not in text.split("Failure messages")[1]


class _NoInputPath(nn.Module):
    """The output does not depend on the input (a cell whose edges are all 'none', as on TransNAS micro)."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], 3) * 1.0


@pytest.mark.parametrize("name", ["jacob_cov", "epe_nas"])
def test_input_gradient_metrics_say_when_the_output_ignores_the_input(name: str) -> None:
    """Was autograd's "One of the differentiated Tensors appears to not have been used in the graph"."""
    batch = Batch(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]), 3, "cifar10", "test", 4)
    with pytest.raises(ValueError, match=f"{name}: the outputs do not depend on the inputs"):
        get_proxy(name).fn(_NoInputPath(), batch)
    frozen = _NoInputPath().requires_grad_(False)  # no parameter needs a gradient either
    with pytest.raises(ValueError, match="do not depend on the inputs"):
        get_proxy(name).fn(frozen, batch)
    assert math.isfinite(get_proxy(name).fn(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), batch))


def _grid_patch():
    from tests.script_tools import load_script

    return load_script("grid_patch")


def test_grid_patch_replaces_cells_only_where_archs_and_protocol_agree() -> None:
    gp = _grid_patch()
    cell = {"proxy": "epe_nas", "key": "epe_nas@1", "spearman": 0.4, "kendall": 0.3, "n": 9, "failures": 1,
            "seconds_per_arch": 0.1, "errors": [], "spearman_given_params": 0.2}
    params = {**cell, "proxy": "params", "key": "params@1", "spearman": 0.7, "spearman_given_params": 0.1}
    old = [_column([cell, params])]
    count = [0]
    new = [_column([{**cell, "key": "epe_nas@2", "spearman": -0.1}, {**params, "spearman_given_params": float("nan")}])]
    lines = gp.patch(old, new, count)
    assert count == [2] and len(lines) == 2 and "epe_nas@1 ρ 0.400" in lines[0] and "epe_nas@2 ρ -0.100" in lines[0]
    assert old[0].results[0]["spearman"] == -0.1 and math.isnan(old[0].results[1]["spearman_given_params"])
    unchanged = gp.patch(old, [_column([{**params, "spearman_given_params": float("nan")}])], count)
    assert unchanged == [] and count == [3]  # replaced, but nothing to report
    with pytest.raises(SystemExit, match="same key params@1 but ρ"):  # same code, another ρ: other archs
        gp.patch(old, [_column([{**params, "spearman": 0.6}])], count)
    with pytest.raises(SystemExit, match="same key params@1 but ρ"):  # one ρ null (NaN in JSON): a TypeError before
        gp.patch(old, [_column([{**params, "spearman": None}])], count)
    other = GridColumn("transnas_micro", "jigsaw", "gt", {**PROTOCOL, "seed": 1}, "", 10, 1.0, [params])
    with pytest.raises(SystemExit, match="protocol or arch count differs"):
        gp.patch(old, [other], count)
    with pytest.raises(SystemExit, match="adds none"):
        gp.patch(old, [_column([{**params, "proxy": "zen"}])], count)


def test_a_network_version_other_than_1_enters_the_key_and_version_1_keys_stay_as_stored() -> None:
    from swapnas.scoring import Protocol

    def prot(version: str) -> Protocol:
        return Protocol("nb201", "cifar10", 16, repeats=1, seed=0, init="default", net={"C": 16, "N": 1},
                        batch_digest="c9d2889e331436c7", inputs="real", net_version=version)

    # the fingerprint runs/ stores and results.json files hold for this protocol (made before network versions)
    assert prot("1").fingerprint == "2a0ca293ab322668" and "net_version" not in prot("1").describe()
    assert prot("2").fingerprint != prot("1").fingerprint and prot("2").describe()["net_version"] == "2"


def _score_toy(store_path, monkeypatch, version: str = "1") -> tuple[list, list[str]]:
    import random
    import warnings

    from swapnas.session import configure, score_archs
    from swapnas.spaces import SPACES, get_space
    from swapnas.store import ScoreStore

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    monkeypatch.setattr(get_space("toy"), "NET_VERSION", version, raising=False)
    protocol, batch, proxies = configure("toy", "cifar10", "params", inputs="synthetic")
    archs = [get_space("toy").sample(random.Random(i)) for i in range(2)]
    with ScoreStore(store_path) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_archs(archs, "toy", proxies, protocol, batch, store, torch.device("cpu"), progress=False)
    return [protocol.fingerprint, protocol.net_version], [str(w.message) for w in caught
                                                         if w.category.__name__ == "NetworkCodeWarning"]


def test_a_space_whose_network_code_changed_warns_once_per_store_and_version(tmp_path, monkeypatch) -> None:

    from swapnas import code_changes
    from swapnas.spaces import SPACES, network_modules
    from swapnas.store import ScoreStore

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    assert [m.__name__ for m in network_modules("toy")] == ["tests.toy_space"]
    nb201_modules = [m.__name__ for m in network_modules("nb201")]
    assert {"swapnas.spaces.nb201", "swapnas.spaces.ops"} <= set(nb201_modules)  # the space and its layers
    assert "swapnas.spaces.protocol" not in nb201_modules  # imported by every space, builds nothing
    path = tmp_path / "s.sqlite"
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    (fp1, v1), warned = _score_toy(path, monkeypatch)
    assert v1 == "1" and warned == []  # first sight: recorded, nothing to compare
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # a new process, after an edit of the network code
    monkeypatch.setattr(code_changes, "modules_digest", lambda modules: "fedcba9876543210")
    _, warned = _score_toy(path, monkeypatch)
    assert len(warned) == 1 and "space 'toy': the code of the modules that build its networks (tests.toy_space)" in warned[0]
    assert 'NET_VERSION = "2"' in warned[0] and str(path) in warned[0]
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    assert len(_score_toy(path, monkeypatch)[1]) == 1  # every run warns until the code is accepted (session 55)
    with ScoreStore(path) as store:
        recorded = store.recorded_code()["net:toy@1"][1]
    assert code_changes.accept_code(path).accepted == {
        "net:toy@1": local_minute(recorded)}
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    assert _score_toy(path, monkeypatch)[1] == []  # accepted: the store records the new code
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    (fp2, v2), warned = _score_toy(path, monkeypatch, version="2")  # the space raised its version: new keys
    assert v2 == "2" and fp2 != fp1  # said since session 59: nothing of version 1 is reused
    assert len(warned) == 1 and "was used with its version 1; this swapnas gives its networks version 2" in warned[0]


def test_proxies_json_prints_one_json_document(capsys) -> None:
    """`swapnas proxies --json` printed the text table (the audit of session 20)."""
    from swapnas.cli import main

    assert main(["proxies", "swap*", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in doc["proxies"]]
    assert names[0] == "swap" and "swap_reg" in names and all(n.startswith("swap") for n in names)
    swap = doc["proxies"][0]
    assert swap["higher_is_better"] is True and swap["grad"] is False and swap["version"] == "1"
    assert doc["aliases"] == []  # no alias matches swap*
    assert main(["proxies", "best", "--json"]) == 0
    (alias,) = json.loads(capsys.readouterr().out)["aliases"]
    assert alias["alias"] == "best" and alias["per_space"]["nb201"] == "swap_nb201"
    assert main(["proxies", "swap"]) == 0 and capsys.readouterr().out.startswith("name ")  # the text table as before


@pytest.mark.parametrize("name", ["hswish", "Hswish", "Hardswish", "hardswish", "HardSwish", "h_swish", "Hardmish",
                                  "fastgelu", "quickgelu", "QuickGELU", "NewGELUActivation", "GELUTanh", "gelu_new",
                                  "MemoryEfficientSwish", "LeakyRelu", "ReLU6", "SiLU", "CELU", "ELU"])
def test_activation_names_of_public_model_code_are_still_activations(name: str) -> None:
    """The whole-name rule of session 20 first lost MobileNetV3's `hswish`, YOLOv5's `Hardswish`, `fastgelu` and
    `quickgelu`, which the old substring rule found (swap_fn then changed value under the same key)."""
    from swapnas.act_functions import ACTIVATION_NAME

    assert ACTIVATION_NAME.search(name)


@pytest.mark.parametrize("name", ["ChannelUnitNorm", "ModelUpdate", "Reluctant", "Hardsigmoid", "Tanh"])
def test_names_that_only_contain_an_activations_letters_are_not_activations(name: str) -> None:
    from swapnas.act_functions import ACTIVATION_NAME

    assert not ACTIVATION_NAME.search(name)


def test_a_hswish_module_is_hooked_by_swap_fn_and_makes_auto_choose_it() -> None:
    import torch.nn.functional as F

    import swapnas
    from swapnas.api import auto_proxy

    class hswish(nn.Module):  # noqa: N801 - the class name public MobileNetV3 code uses
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * F.relu6(x + 3) / 6

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), hswish(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    assert auto_proxy([net]) == "swap_fn"
    x = torch.randn(8, 3, 6, 6)
    with_act = swapnas.score(net, x, "swap_fn", init="none")["swap_fn"]
    with torch.no_grad():  # naive: distinct sign patterns over hswish's map (its sign is its input's) and the ReLU's
        h1 = net[0](x)
        h2 = net[2](net[1](h1))
    maps = torch.cat([(h > 0).reshape(8, -1) for h in (h1, h2)], 1)
    assert with_act == len(set(map(tuple, maps.T.tolist())))
    net[1] = nn.Identity()  # the same network without the activation: fewer maps hooked, another count
    without = swapnas.score(net, x, "swap_fn", init="none")["swap_fn"]
    with torch.no_grad():
        assert without == len(set(map(tuple, (net[2](net[0](x)) > 0).reshape(8, -1).T.tolist()))) != with_act


def test_a_seq_first_layer_whose_forward_is_wrapped_without_its_signature_is_still_guarded() -> None:
    """A (*args, **kwargs) wrapper (no functools.wraps) hid the layer's input from the batch-first guard: a correct
    model was refused at L = 12 and counted wrongly at L = 16."""
    import swapnas

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=nn.GELU())  # batch_first=False
            inner = self.layer.forward
            self.layer.forward = lambda *args, **kwargs: inner(*args, **kwargs)  # type: ignore[method-assign]

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (S, L, E) -> (L, S, E) for the layer: correct use
            return self.layer(x.transpose(0, 1)).transpose(0, 1)

    class Twin(nn.Module):  # the same weights, batch first
        def __init__(self, layer: nn.TransformerEncoderLayer) -> None:
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=nn.GELU(), batch_first=True)
            self.layer.load_state_dict(layer.state_dict())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x)

    torch.manual_seed(0)
    net = Net()
    kw = {"activations": swapnas.EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4)}
    for length in (12, 16):
        x = torch.randn(8, length, 16)
        assert swapnas.swap_score(net, x, **kw) == swapnas.swap_score(Twin(net.layer), x, **kw) <= 2**8
