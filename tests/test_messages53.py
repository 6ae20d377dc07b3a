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
            "sequences, not an id: a position embedding shorter than the sequences; pass sequences of at most 8 tokens)")
    assert _error(_Tokens(), _ids(length=12), "swap_ext").endswith(want)
    assert _error(_Tokens(vocab=1000), _ids(length=12, high=1000), "swap_ext").endswith(want)  # more ids than positions
    assert "was given index 8, the last position of the 9-token sequences" in _error(_Tokens(), _ids(9), "swap_ext")
    ids = _ids(length=12, high=12)
    ids[0, 0] = 11  # the ids' largest is the last position's index too: which embedding failed is not told apart
    assert _error(_Tokens(), ids, "swap_ext").endswith("ids must be 0 … rows - 1; tokenize with the model's own vocabulary)")
    ids = _ids(high=150)
    assert _error(_Tokens(), ids, "swap_ext").endswith(
        f"(the ids run from {int(ids.min())} to 149, and the model's embeddings have 100, 8 rows: ids must be "
        "0 … rows - 1; tokenize with the model's own vocabulary)")


def test_weights_on_the_meta_device_are_said_so() -> None:
    with torch.device("meta"):
        model = _Tokens()
    assert _error(model, _ids(), "swap_ext", init="none").endswith(
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

    with pytest.warns(UserWarning, match=r"^space nb101 recommends no fitness \(no FITNESS_PROTOCOL\): `best` is the "
                                         r"registry's alias, swap_darts, chosen on no data of this space; name a proxy"):
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
