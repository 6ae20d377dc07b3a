"""Session 17 review of the SWAP core, the API and the statistics: each test failed on the code before its fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import swapnas
from swapnas.api import UnsupportedModel
from swapnas.correlation import _saturated
from swapnas.patterns import EXTENDED_ACTIVATIONS, swap_score
from swapnas.proxies import get_proxy
from swapnas.report import failure_lines, results_table
from swapnas.results import ProxyResult
from swapnas.stats import correlate


def _cnn(c: int = 8) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, c, 3), nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3), nn.BatchNorm2d(c),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def test_a_derived_proxy_that_fails_is_unsupported_and_the_model_ranks_last() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 12, 12), torch.randint(0, 10, (16,))
    zero = _cnn()
    with torch.no_grad():
        for p in zero.parameters():
            p.zero_()
    with pytest.raises(UnsupportedModel, match="swap_fisher could not score Sequential from its bases"):
        swapnas.score(zero, (x, y), "swap_fisher", init="none")
    rows = swapnas.rank({"ok": _cnn(), "zero": zero}, (x, y), "swap_fisher", init="none")
    assert [r["model"] for r in rows] == ["ok", "zero"]
    assert rows[1]["swap_fisher"] is None and "l2_norm" in rows[1]["error"]


def test_a_dataloader_of_inputs_alone_scores_like_the_tensor() -> None:
    torch.manual_seed(0)
    x = torch.randn(16, 3, 12, 12)
    net = _cnn()
    assert swapnas.score(net, DataLoader(TensorDataset(x), batch_size=16)) == swapnas.score(net, x)


class _KeywordGELU(nn.Module):  # a Hugging Face style activation: its input is a keyword other than ``input``
    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return F.gelu(hidden_states, approximate="tanh")


class _Net(nn.Module):
    def __init__(self, keyword: bool) -> None:
        super().__init__()
        self.l1, self.act, self.l2, self.relu, self.keyword = nn.Linear(8, 32), _KeywordGELU(), nn.Linear(32, 32), \
            nn.ReLU(), keyword

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(hidden_states=self.l1(x)) if self.keyword else self.act(self.l1(x))
        return self.relu(self.l2(h))


def test_an_activation_called_with_any_keyword_is_counted_like_a_positional_call() -> None:
    x = torch.randn(16, 8)
    psi = []
    for keyword in (False, True):
        torch.manual_seed(0)
        psi.append(swap_score(_Net(keyword), x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4),
                              functions=True))
    assert psi[0] == psi[1]
    torch.manual_seed(0)
    only_relu = swap_score(_Net(False), x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
    assert psi[1] > only_relu  # the GELU's patterns are really in it


def test_an_overflowing_network_is_an_error_not_a_count() -> None:
    torch.manual_seed(0)
    deep = nn.Sequential(*[m for _ in range(80) for m in (nn.Linear(64, 64), nn.ReLU())])
    x = torch.randn(16, 64)
    with pytest.raises(UnsupportedModel, match="output holds NaN"):
        swapnas.score(deep, x, "swap_ext")
    with pytest.raises(ValueError, match="output holds NaN"):
        with torch.no_grad():  # the same weights as the API's gaussian init: N(0, 1)
            for m in deep:
                if isinstance(m, nn.Linear):
                    m.weight.normal_()
        swap_score(deep, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2,))


class _Extremes(nn.Module):  # no NaN in the output, but its sum is NaN (±inf, or finite values that overflow)
    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.conv, self.relu, self.values = nn.Conv2d(3, 8, 3), nn.ReLU(), values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(self.values).repeat(x.shape[0], 1) + 0 * self.relu(self.conv(x)).mean()


def test_an_output_without_nan_is_scored_whatever_its_sum() -> None:
    x = torch.randn(8, 3, 16, 16)
    for values in ([3e38, 3e38, -3e38, -3e38], [float("inf"), -float("inf")]):
        torch.manual_seed(0)
        model = _Extremes(values)
        torch.manual_seed(0)
        plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        assert swap_score(model, x) == swap_score(plain, x)


def test_a_conv3d_model_is_told_how_to_hook_5d_maps_not_to_pass_what_it_already_has() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv3d(3, 4, 3), nn.ReLU())
    x = torch.randn(8, 3, 6, 6, 6)
    with pytest.raises(UnsupportedModel) as info:
        swapnas.score(net, x)
    text = str(info.value)
    assert "input_dims=(5,)" in text and "Pass activations=" not in text
    with torch.no_grad():  # the route named: a naive count of the 5-D map's distinct sign patterns
        naive = len(set(map(tuple, (net[0](x) > 0).reshape(8, -1).T.tolist())))
    assert swap_score(net, x, input_dims=(5,)) == naive and 1 < naive <= 4 * 4 ** 3
    with pytest.raises(swapnas.NoActivationError, match=r"Pass activations= .* or input_dims=\(2, 3, 4\)"):
        swap_score(nn.Sequential(nn.Linear(4, 4), nn.GELU()), torch.randn(8, 4))


def test_correlate_leaves_non_finite_pairs_out() -> None:
    rng = np.random.default_rng(0)
    x, y, z = rng.normal(size=40), rng.normal(size=40), rng.normal(size=40)
    clean = correlate(x[1:], y[1:], z[1:])
    for bad in (np.nan, np.inf):
        xb = x.copy()
        xb[0] = bad
        got = correlate(xb, y, z)
        assert got.n == 39 and got.spearman == pytest.approx(clean.spearman) and got.spearman_ci == clean.spearman_ci
    assert clean.spearman == pytest.approx(stats.spearmanr(x[1:], y[1:])[0])
    zb = z.copy()
    zb[5] = np.nan
    partial = correlate(x, y, zb)  # ρ on all 40; ρ|params on the 39 with a size
    assert partial.spearman == pytest.approx(stats.spearmanr(x, y)[0])
    keep = np.arange(40) != 5
    assert partial.spearman_given_params == pytest.approx(correlate(x[keep], y[keep], z[keep]).spearman_given_params)
    with pytest.raises(ValueError, match="one value per arch"):
        correlate(x, y[:-1])


def _result(errors: list[str], failures: int = 10, saturated: int = 0) -> ProxyResult:
    return ProxyResult("swap", "swap@1", "nb201", "cifar10", 5, failures, 0.5, 0.4, (0.1, 0.9), 0.0, 0.3, 0.1,
                       True, errors, saturated)


def test_failure_lines_say_the_count_is_for_all_messages() -> None:
    lines = failure_lines([_result(["a: CUDA out of memory", "b: NoActivationError"])])
    assert lines == ["FAILED swap (10 archs in all; message 1 of 2): a: CUDA out of memory",
                     "FAILED swap (10 archs in all; message 2 of 2): b: NoActivationError"]
    assert "message 1 of 5 (at most 5 are kept)" in failure_lines([_result([f"e{i}" for i in range(5)])])[0]
    assert failure_lines([_result(["x"], failures=3)]) == ["FAILED swap (3 archs in all; their message): x"]
    with pytest.raises(ValueError, match="at least one result"):
        results_table([])


def test_saturation_is_counted_for_every_psi_proxy() -> None:
    from tests.score_tools import psi_records

    names = ("swap", "swap_ext", "swap_fn", "params")
    records, ok = psi_records(names, [65535.0, 100.0])
    assert [_saturated(get_proxy(n), records, ok, 16) for n in names] == [1, 1, 1, 0]


def test_proxy_names_are_read_alike_by_score_and_rank() -> None:
    torch.manual_seed(0)
    x, net = torch.randn(16, 3, 12, 12), _cnn()
    with pytest.raises(ValueError, match="no proxy named"):
        swapnas.score(net, x, "")
    with pytest.raises(ValueError, match="no proxy named"):
        swapnas.rank([net], x, " , ")
    assert swapnas.rank([net], x, " ,swap")[0]["swap"] == swapnas.score(net, x, "swap")["swap"]
    for call in (lambda: swapnas.score(net, x, "all"), lambda: swapnas.rank([net], x, "all")):
        with pytest.raises(ValueError, match="rank a whole set of archs"):
            call()


def test_a_one_dimensional_input_is_told_to_add_the_batch_dim() -> None:
    with pytest.raises(ValueError, match=r"x.unsqueeze\(0\)"):
        swapnas.score(nn.Sequential(nn.Linear(5, 4), nn.ReLU()), torch.randn(5))


def test_a_log_score_axis_labels_its_decades() -> None:
    from matplotlib.figure import Figure

    from swapnas.report import score_axis

    def shown(ax) -> list[tuple[float, str]]:
        lo, hi = ax.get_xlim()
        return [(t.get_position()[0], t.get_text()) for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]

    # over two decades: a log axis whose every decade in view is a labelled tick
    ax = Figure().subplots()
    scores = np.array([1.0, 30.0, 900.0, 44277.0])
    ax.scatter(scores, np.arange(len(scores)))
    score_axis(ax, scores)
    ax.figure.canvas.draw()
    ticks = shown(ax)
    assert ax.get_xscale() == "log" and [pos for pos, _ in ticks] == [1.0, 10.0, 100.0, 1e3, 1e4], ticks
    assert all(f"10^{{{k}}}" in label for k, (_, label) in enumerate(ticks)), ticks
    # within two decades: linear, at most 5 ticks, scientific notation (short labels and a 1e5 offset)
    ax = Figure().subplots()
    scores = np.array([2e5, 5e5, 9e5])
    ax.scatter(scores, np.arange(len(scores)))
    score_axis(ax, scores)
    ax.figure.canvas.draw()
    assert ax.get_xscale() == "linear" and shown(ax) == [(2e5, "2"), (4e5, "4"), (6e5, "6"), (8e5, "8")]
    assert ax.xaxis.get_major_formatter().get_offset() == "1e5"


class _TupleOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = _cnn()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        return (self.net(x),)


def test_bad_inputs_and_outputs_are_named_with_their_fix() -> None:
    torch.manual_seed(0)
    x, y, net = torch.randn(16, 3, 12, 12), torch.randint(0, 10, (16,)), _cnn()
    cases = [((x * 50).clamp(0, 255).to(torch.uint8), "swap", r"x.float\(\) / 255"),
             (x.double(), "swap", r"pass x.to\(torch.float32\)"),
             (x[0], "swap", r"x.unsqueeze\(0\)")]
    for inputs, proxy, fix in cases:
        with pytest.raises(UnsupportedModel, match=fix):
            swapnas.score(net, inputs, proxy)
    with pytest.raises(UnsupportedModel, match=r"returns a tuple: wrap it to return e.g. out\[0\]"):
        swapnas.score(_TupleOut(), (x, y), "snip")
    with pytest.raises(TypeError, match=r"numpy ndarray: pass a torch tensor, e.g. torch.from_numpy"):
        swapnas.score(net, x.numpy())
    with pytest.raises(ValueError, match="snip needs labels"):
        swapnas.score(net, x, "snip")
    assert "swap" in swapnas.list_proxies()  # the options error points here
