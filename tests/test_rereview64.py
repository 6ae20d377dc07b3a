"""Session 64's second review, of the mends of the review and of the API audit (each test failed on the code it
reviewed): dynamically quantized recurrent layers refused again, auto_proxy of a ModuleList/ModuleDict, names in a
list resolved together, device "auto" in run_correlation, size_prior of a 0-d tensor, and the accept-code advice of a
space of one's own and after several global flags."""

from __future__ import annotations

import sys
import warnings

import pytest
import torch
from torch import nn

import swapnas


# --- F1 (medium-high, regression of cda9da2): dynamically quantized LSTM/GRU/RNN cells are no longer refused ---------

class _Rnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.rnn, self.head = nn.Embedding(20, 8), nn.LSTM(8, 8, batch_first=True), nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.rnn(self.emb(x))[0][:, -1]))


class _Cells(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.gru, self.rnn = nn.LSTMCell(8, 8), nn.GRUCell(8, 8), nn.RNNCell(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(self.gru(self.lstm(x)[0]))


@pytest.mark.parametrize("make, kinds, layer", [(_Rnn, {nn.LSTM}, "rnn"), (_Rnn, {nn.LSTM, nn.GRU}, "rnn"),
                                                (_Cells, {nn.LSTMCell, nn.GRUCell, nn.RNNCell}, "lstm")])
def test_a_dynamically_quantized_recurrent_layer_still_makes_a_model_quantized(make, kinds, layer) -> None:
    """cda9da2 kept only modules with `_packed_params` (to spare FloatFunctional); torch's dynamic quantized LSTM/GRU
    hold theirs in `_all_weight_values`, its cells in `_packed_weight_ih/_hh`. cda9da2~1 refused these models
    ("a quantized model (layers rnn)"); now quantized() is None and params counts 178 of the float model's 1186."""
    from swapnas.swap_checks import quantized

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(make(), kinds, dtype=torch.qint8)
    said = quantized(q)
    assert said is not None and layer in said


def test_a_model_whose_only_quantized_layer_is_an_lstm_is_not_scored_silently() -> None:
    from swapnas.api import UnsupportedModel

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(_Rnn(), {nn.LSTM}, dtype=torch.qint8)
        x, y = torch.randint(0, 20, (4, 5)), torch.randint(0, 2, (4,))
        with pytest.raises(UnsupportedModel, match="quantized"):
            swapnas.score(q, (x, y), "params")  # 9002a4d: 178.0 (the LSTM's packed weights uncounted)


# --- F2 (medium-low, regression of 9002a4d): auto_proxy of an nn.ModuleList/ModuleDict of models ----------------------

def test_auto_proxy_reads_a_modulelist_or_moduledict_as_several_models_as_rank_does() -> None:
    """`[models] if isinstance(models, nn.Module)` reads an nn.ModuleList of candidate models (which rank() takes as
    several models) as one model: a CNN beside an MLP now gives 'swap' (the MLP's ReLUs on no conv map: swap counts
    nothing there) where 8442673 and rank() give 'swap_ext'."""
    from swapnas.api import auto_proxy

    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.ReLU())
    want = auto_proxy([cnn, mlp])
    assert want == "swap_ext"
    assert auto_proxy(nn.ModuleList([cnn, mlp])) == want  # 9002a4d: 'swap'
    assert auto_proxy(nn.ModuleDict({"a": cnn, "b": mlp})) == want  # 9002a4d: 'swap'


# --- F3 (low-medium, 9002a4d): run_correlation's names in a list are resolved one by one: duplicated rows -------------

def test_run_correlation_names_in_a_list_are_resolved_as_the_same_names_in_a_string(tmp_path, data_dir) -> None:
    """resolve("a,b") scores each proxy once (an alias and its target, a set-level metric and a part named beside it);
    [resolve(p) for p in ["a", "b"]] concatenates: ["te_nas", "te_nas_ntk"] gives four rows (te_nas_ntk twice),
    ["params", "params"] two params rows."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore

    bench = get_benchmark("nb201", str(data_dir))
    protocol, batch, _ = configure("nb201", "cifar10", "params", seed=0, data_dir=str(data_dir))
    with ScoreStore(tmp_path / "s.sqlite") as store:
        run = run_correlation(bench=bench, task="cifar10", proxies=["params", "params"], n_archs=4, protocol=protocol,
                              batch=batch, store=store, device=torch.device("cpu"), progress=False)
    assert [r.proxy for r in run.results] == ["params"]


# --- F4 (low, 9002a4d): score_archs takes "cpu" but not "auto", which run_train takes

def test_run_correlation_takes_device_auto_or_names_the_devices(tmp_path, data_dir) -> None:
    """torch.device("auto") raises torch's bare RuntimeError ("Expected one of cpu, cuda, ipu, xpu, …"); the package's
    resolve_device reads "auto" (and checks "cuda" against this machine)."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore

    bench = get_benchmark("nb201", str(data_dir))
    protocol, batch, _ = configure("nb201", "cifar10", "params", seed=0, data_dir=str(data_dir))
    with ScoreStore(tmp_path / "s.sqlite") as store:
        try:
            run = run_correlation(bench=bench, task="cifar10", proxies="params", n_archs=3, protocol=protocol,
                                  batch=batch, store=store, device="auto", progress=False)  # type: ignore[arg-type]
        except ValueError as exc:  # a swapnas message naming the accepted devices is fine too
            assert "auto" in str(exc)
            return
    assert [(r.proxy, r.failures) for r in run.results] == [("params", 0)]


# --- F5 (low, 9002a4d): size_prior refuses a 0-d tensor that it computed correctly before

def test_size_prior_of_a_zero_dim_tensor_is_its_value_or_a_hint() -> None:
    """8442673: size_prior(torch.tensor(120.), 100., 1000.) == 0.67032; 9002a4d: TypeError 'must be a number, not
    tensor(120.)' with no way out. Either take it (float()) or say .item()."""
    want = swapnas.size_prior(120.0, 100.0, 1000.0)
    try:
        got = swapnas.size_prior(torch.tensor(120.0), 100.0, 1000.0)  # type: ignore[arg-type]
    except TypeError as exc:
        assert ".item()" in str(exc) or "float(" in str(exc), str(exc)
        return
    assert got == pytest.approx(want)


# --- F6 (low, cda9da2): the accepting command of a user's space speaks of "the metric"; global flags hide the command

def test_network_code_warning_of_a_users_space_does_not_speak_of_a_metric(tmp_path, monkeypatch) -> None:
    from swapnas import code_changes
    from swapnas.proxies.code import NetworkCodeWarning
    from swapnas.spaces import SPACES
    from swapnas.store import ScoreStore

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    monkeypatch.setattr(sys, "argv", ["/home/me/run.py"])  # a notebook / a script without a command
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("net:toy@1", "0" * 16)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            code_changes.warn_changed_network(store, "toy", "1")
    texts = [str(w.message) for w in seen if issubclass(w.category, NetworkCodeWarning)]
    assert texts and "registers the metric" not in texts[0], texts


def test_the_accepting_command_is_found_after_several_global_flags(monkeypatch) -> None:
    """sys.argv[1:3] only: `python run.py -v -q correlate …` (both are the top parser's flags) is not recognised."""
    from swapnas import code_changes

    monkeypatch.setattr(sys, "argv", ["/home/me/run.py", "-v", "-q", "correlate", "--archs", "5"])
    assert code_changes._accepting_command(True) == "python /home/me/run.py"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
