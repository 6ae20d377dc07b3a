"""What ``swapnas.score`` says when it cannot score a Transformer, from session 53's user journey (docs/reliability.md,
"Session 53"): the way out named right, the failing part named with the proxy asked for, the real cause of a failure
(meta weights, NaN weights, a position embedding shorter than the sequences) instead of a wrong one."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import swapnas
from swapnas import UnsupportedModel


class _Tokens(nn.Module):
    """Word and position embeddings, one GELU feed-forward (``fn``: F.gelu, no activation module), a [CLS] head."""

    def __init__(self, vocab: int = 100, positions: int = 8, fn: bool = False) -> None:
        super().__init__()
        self.word, self.pos = nn.Embedding(vocab, 16), nn.Embedding(positions, 16)
        self.ff, self.act, self.head, self.fn = nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 2), fn

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.ff(self.word(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device)))
        return self.head((F.gelu(h) if self.fn else self.act(h))[:, 0])


def _ids(length: int = 8, high: int = 100) -> torch.Tensor:
    return torch.randint(0, high, (8, length), generator=torch.Generator().manual_seed(0))


def _error(model: nn.Module, ids: torch.Tensor, proxies: str, **kw: object) -> str:
    with pytest.raises(UnsupportedModel) as caught:
        swapnas.score(model, ids, proxies, **kw)
    return str(caught.value)


def test_best_on_a_transformer_names_swap_fn_for_activation_functions() -> None:
    assert _error(_Tokens(fn=True), _ids(), "best").endswith(
        "on a Transformer use swap_ext_layers, FlexiBERT's `best`, or swap_ext; swap_fn where it calls its "
        "activations as functions, F.gelu)")


def test_a_failing_part_is_named_with_the_proxy_asked_for() -> None:
    assert _error(_Tokens(fn=True), _ids(), "swap_ext_layers").startswith(
        "swap_ext (a part of swap_ext_layers) could not score _Tokens: NoActivationError")
    assert _error(_Tokens(fn=True), _ids(), "swap_ext").startswith("swap_ext could not score _Tokens: NoActivation")
    assert _error(_Tokens(fn=True), _ids(), "swap_ext,swap_ext_layers").startswith("swap_ext could not score _Tokens")


def test_a_position_embedding_shorter_than_the_sequences_is_named_and_ids_out_of_range_still_are() -> None:
    want = ("(the model's embedding 'pos' has 8 rows and was given index 11, the last position of the 12-token "
            "sequences, not an id: a position embedding shorter than the sequences; pass sequences of at most 8 "
            "tokens)")
    assert _error(_Tokens(), _ids(length=12), "swap_ext").endswith(want)
    assert _error(_Tokens(vocab=1000), _ids(length=12, high=1000), "swap_ext").endswith(want)  # more ids than positions
    assert "was given index 8, the last position of the 9-token sequences" in _error(_Tokens(), _ids(9), "swap_ext")
    ids = _ids(length=12, high=12)
    ids[0, 0] = 11  # the ids' largest is the last position's index too: which embedding failed is not told apart
    assert _error(_Tokens(), ids, "swap_ext").endswith(
        "ids must be 0 … rows - 1; tokenize with the model's own vocabulary)")
    ids = _ids(high=150)
    assert _error(_Tokens(), ids, "swap_ext").endswith(
        f"(the ids run from {int(ids.min())} to 149, and the model's embeddings have 100, 8 rows: ids must be "
        "0 … rows - 1; tokenize with the model's own vocabulary)")


def test_weights_on_the_meta_device_are_said_so() -> None:
    with torch.device("meta"):
        model = _Tokens()
    assert _error(model, _ids(), "swap_ext", init="none").endswith(  # since session 58 swap_score's own refusal
        "swap_score cannot score _Tokens: the model's weights are on the meta device and hold no values (built under "
        "torch.device('meta') or with empty weights): materialise them first, model.to_empty(device='cpu'), then "
        "load its weights")
    assert _error(model, _ids(), "l2_norm", init="none").endswith(  # a metric that does not go through swap_score
        "(the model's weights are on the meta device and hold no values (built under torch.device('meta') or with "
        "empty weights): materialise them first, model.to_empty(device='cpu'), then load its weights)")


def test_nan_weights_are_named_instead_of_the_init() -> None:
    model = _Tokens()
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    fix = "(the model's own weights hold NaN or inf: head.weight; load sound weights, or score with an init that " \
          "redraws them)"
    assert _error(model, _ids(), "swap_ext", init="none").endswith(fix)
    assert _error(model, _ids(), "l2_norm", init="none") == (
        "l2_norm gave nan on _Tokens: the model's own weights hold NaN or inf: head.weight; load sound weights, or "
        "score with an init that redraws them")
    assert swapnas.score(model, _ids(), "swap_ext")["swap_ext"] > 0  # the default init redraws head.weight
    with torch.no_grad():
        for layer in (model.word, model.pos, model.ff):
            layer.weight[0, 0] = float("inf")
    assert _error(model, _ids(), "l2_norm", init="none").startswith(
        "l2_norm gave nan on _Tokens: the model's own weights hold NaN or inf: word.weight, pos.weight, ff.weight …;")


def test_best_on_a_space_without_a_recommended_fitness_is_warned_about_in_correlate_too() -> None:
    """Session 53: `swapnas search` warned that such a space's `best` is the registry's alias, correlate did not."""
    import warnings

    from swapnas.session import resolve_for

    with pytest.warns(UserWarning, match=r"^space nb101 recommends no fitness \(its FITNESS_PROTOCOL names no proxy\): "
                                         r"`best` is the registry's alias, swap_darts, chosen on no data of this "
                                         r"space; name"):
        assert [p.name for p in resolve_for("nb101", "swap, best")] == ["swap", "swap_darts"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [p.name for p in resolve_for("nb201", "best")] == ["swap_nb201"]


def test_a_causal_mask_buffer_is_no_broken_weight_and_a_part_s_nan_names_the_proxy_asked_for() -> None:
    """Review of session 53: an ordinary -inf buffer was read as NaN/inf weights, hiding the hint that applied."""
    import dataclasses

    from swapnas import api_failures
    from swapnas.api_inputs import as_batch
    from swapnas.proxies import get_proxy

    class Causal(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(8, 2)
            self.register_buffer("causal", torch.full((8, 8), float("-inf")).triu(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x)

    ids = _ids()
    message = _error(Causal(), ids, "swap_ext")
    assert "weights hold NaN" not in message and message.endswith(
        "(the inputs are torch.int64 and the model has no embedding to take integer ids: images need float inputs, "
        "e.g. x.float() / 255, then normalised)")
    nan = dataclasses.replace(get_proxy("params"), fn=lambda model, batch: float("nan"))
    with pytest.raises(UnsupportedModel, match=r"^params \(a part of params_x\) gave nan on Causal: its activations"):
        api_failures.run_proxy(nan, Causal(), as_batch(torch.randn(4, 8))[0], " (a part of params_x)")


# --- from the second mutation run of session 53 (the session's own code) -------------------------------------------

def test_hints_pinned_by_the_second_mutation_run(monkeypatch) -> None:
    import dataclasses

    from swapnas import api_failures
    from swapnas.api_inputs import as_batch
    from swapnas.proxies import get_proxy

    torch.manual_seed(0)
    bn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with torch.no_grad():
        bn[1].running_var[0] = float("nan")  # synflow reads the running statistics
    assert _error(bn, torch.randn(4, 3, 8, 8), "synflow", init="none") == (
        "synflow gave nan on Sequential: the model's own weights hold NaN or inf: 1.running_var; load sound weights, "
        "or score with an init that redraws them")
    gray = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 2))
    assert _error(gray, torch.randn(4, 28, 28, 1), "swap").endswith(
        "(the inputs (4, 28, 28, 1) look channels-last (S, H, W, C); a CNN takes (S, C, H, W): pass "
        "x.permute(0, 3, 1, 2))")
    refused = dataclasses.replace(get_proxy("params"), fn=lambda model, batch: (_ for _ in ()).throw(
        UnsupportedModel("mine cannot score it: why")))
    with pytest.raises(UnsupportedModel) as caught:  # a metric's own refusal is not wrapped again
        api_failures.run_proxy(refused, bn, as_batch(torch.randn(4, 3, 8, 8))[0])
    assert str(caught.value) == "mine cannot score it: why"
    one = torch.tensor([[-1], [3], [5], [2]])  # one-token sequences, a negative id
    assert "(the ids run from -1 to 5, and the model's embeddings have 10, 8 rows" in _error(
        _Tokens(vocab=10), one, "swap_ext")
    model = _Tokens()
    with torch.no_grad():
        for layer in (model.word, model.pos, model.ff):
            layer.weight[0, 0] = float("inf")
    assert "hold NaN or inf: word.weight, pos.weight, ff.weight; load" in _error(model, _ids(), "l2_norm", init="none")


def test_a_mask_key_in_any_case_is_warned_about_and_a_2d_map_as_wide_as_the_sequence_is_not_masked() -> None:
    import warnings

    from swapnas import swap_score

    from .test_padding import _batch, _psi, _Tokens as _Padded

    ids, mask = _batch(None)

    class Camel(_Padded):
        def forward(self, input_ids: torch.Tensor, padMask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            return super().forward(input_ids, padMask)

    with pytest.warns(UserWarning, match="the inputs' 'padMask' looks like a padding mask"):
        _psi(Camel(), {"input_ids": ids, "padMask": mask})

    class Pooled(nn.Module):  # a (S, 7) map after pooling: 7 units, as many as the sequence's positions
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.lin, self.act = nn.Embedding(50, 6), nn.Linear(6, 7), nn.ReLU()
            with torch.no_grad():
                self.lin.bias.fill_(10.0)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.act(self.lin((self.emb(input_ids) * attention_mask[..., None]).sum(1)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a saturated count is beside the point
        psi = swap_score(Pooled(), {"input_ids": ids, "attention_mask": mask}, input_dims=(2, 3))
    assert psi == 1  # every unit on for every sample: one pattern (zeroing "pad columns" made 4)


def test_a_build_taking_the_arch_alone_is_named_so(monkeypatch) -> None:
    from swapnas.spaces import SPACES, SpaceError, get_space
    from tests import toy_space

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    monkeypatch.setattr(toy_space, "build", lambda arch: None)
    with pytest.raises(SpaceError, match=r"which its build\(\) does not take \(it takes the arch alone\)$"):
        get_space("toy")


def test_train_lines_go_above_the_progress_bar(tmp_path, monkeypatch) -> None:
    import sys

    from swapnas.train import loop

    said: list = []
    monkeypatch.setattr(loop.Bar, "write", lambda *a, **kw: said.append((a, kw)))
    run = loop._Run.__new__(loop._Run)
    run.lines = True
    run.say("x")
    assert said == [(("x",), {"file": sys.stderr})]
