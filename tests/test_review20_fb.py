"""Session 20 review of the Transformer side: FlexiBERT space and network, tokens, seq-first guard, activation names."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas.act_functions import ACTIVATION_NAME, activation_like
from swapnas.search.final import final_macs
from swapnas.spaces import flexibert as fb
from swapnas.spaces.flexibert_net import VOCAB, _dct_matrix
from swapnas.tokens import mask_tokens

DCT_ARCH = "h256|LT.DCT.h2.f512x1|LT.DCT.h4.f512x1"


def test_a_meta_device_forward_leaves_no_meta_tensor_in_the_dct_cache() -> None:
    """final_macs runs the final network on the meta device (L = 128); the DCT matrices it cached were meta tensors,
    and every later real LT-DCT pass of that length or head size failed ("Cannot copy out of meta tensor")."""
    _dct_matrix.cache_clear()
    assert final_macs(fb, fb.parse(DCT_ARCH), fb.FINAL_NETS["glue"]) > 0
    with torch.device("meta"):
        assert _dct_matrix(64).device.type == "cpu"
    assert _dct_matrix(128).device.type == _dct_matrix(128, False).device.type == "cpu"
    torch.manual_seed(0)
    net = fb.build(DCT_ARCH, sizes="design")
    out = net(torch.randint(999, VOCAB, (2, 128)))  # L = 128 and head size 128: the entries final_macs cached
    assert out.shape == (2, 2) and torch.isfinite(out).all()


class _SeqFirstTokens(nn.Module):
    """A correct seq-first model: (S, L) ids -> (L, S, E) -> a batch_first=False layer, called positionally or by
    keyword (``layer(src=h, …)``)."""

    def __init__(self, keyword: bool) -> None:
        super().__init__()
        self.keyword, self.emb = keyword, nn.Embedding(1000, 32)
        self.layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation=nn.GELU())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h, pad = self.emb(ids).transpose(0, 1), ids == 0
        out = self.layer(src=h, src_key_padding_mask=pad) if self.keyword else self.layer(h, src_key_padding_mask=pad)
        return out[0]


@pytest.mark.parametrize("samples,length", [(8, 16), (8, 12), (8, 8)])
def test_a_seq_first_layer_called_with_keyword_inputs_is_read_as_its_positional_twin(samples: int,
                                                                                       length: int) -> None:
    """The guard found a module's input among positional arguments only: with ``src=h`` the layer was not seen, its
    (L, S, F) maps were read untransposed (Ψ 509 > 2^8 at S = 8, L = 16) or refused (L = 12)."""
    torch.manual_seed(0)
    positional, keyword = _SeqFirstTokens(False), _SeqFirstTokens(True)
    keyword.load_state_dict(positional.state_dict())
    ids = torch.randint(1, 1000, (samples, length))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", swapnas.SaturationWarning)  # S = 8 saturates: not the point here
        want = swapnas.score(positional, ids, "swap_ext", init="none")["swap_ext"]
        assert swapnas.score(keyword, ids, "swap_ext", init="none")["swap_ext"] == want <= 2 ** samples


def test_first_input_binds_the_call_to_the_forward_signature() -> None:
    from swapnas.seq_first import first_input  # new in session 20
    q, k = torch.zeros(3, 2, 8), torch.ones(3, 2, 8)
    attn, rnn = nn.MultiheadAttention(8, 2), nn.GRU(8, 4)
    assert first_input(attn, (), {"key": k, "value": k, "query": q}) is q
    assert first_input(attn, (q, k, k), {}) is q and first_input(rnn, (), {"input": q}) is q
    assert first_input(attn, (), {"key": k, "value": k}) is None  # no query given: nothing to read


class _SamplesFirstIntoSeqFirst(nn.Module):
    """The misuse the guard exists for: (S, L, E) embeddings fed to a batch_first=False encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.emb, self.head = nn.Embedding(1000, 32), nn.Linear(32, 2)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation=nn.GELU())
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(ids))[:, 0])


@pytest.mark.parametrize("samples,length", [(8, 16), (4, 64), (32, 16), (8, 12)])
def test_samples_given_first_to_a_seq_first_module_are_refused_also_when_l_is_a_multiple_of_s(
        samples: int, length: int) -> None:
    """With L a multiple of S the (S, L, F) maps passed as "k·S tiles": S = 8, L = 16 gave Ψ 873 > 2^8."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(swapnas.UnsupportedModel, match="TransformerEncoderLayer 'enc.layers.0' has batch_first="
                                                           "False: (its input|an activation inside it)"):
            swapnas.score(_SamplesFirstIntoSeqFirst(), torch.randint(0, 1000, (samples, length)), "swap_ext",
                          init="none")


class _Transposing(nn.Module):  # (S, L, E) in, a seq-first encoder fed (L, S, E) inside: correct
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=batch_first, activation=nn.GELU())
        self.batch_first, self.enc = batch_first, nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x) if self.batch_first else self.enc(x.transpose(0, 1)).transpose(0, 1)


@pytest.mark.parametrize("length", [8, 16, 4])
def test_a_correct_seq_first_model_still_scores_as_its_batch_first_twin_when_l_is_s_or_a_multiple(length: int) -> None:
    """The new refusal reads the module's input (S on dim 0, not on dim 1): (L, S, E) with L = S or L = 2·S passes."""
    torch.manual_seed(0)
    seq, twin = _Transposing(False), _Transposing(True)
    twin.load_state_dict(seq.state_dict())
    x = torch.randn(8, length, 16)
    kw = {"activations": swapnas.EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4)}
    assert swapnas.swap_score(seq, x, **kw) == swapnas.swap_score(twin, x, **kw) > 1


ACTIVATIONS = ["GELU", "NewGELUActivation", "QuickGELUActivation", "GELUTanh", "SiLU", "Swish", "ReLU", "Mish",
               "ELU", "CELU", "SELU", "LeakyReLU", "gelu_new", "GeluActivation", "SiLUActivation", "HardSwish",
               "SwishMe", "FastGELUActivation", "ReLU6", "XIELUActivation"]
NOT_ACTIVATIONS = ["ChannelUnitNorm", "LevelUp", "ModelUpdate", "Reluctant", "LinearActivation", "Sigmoid", "Tanh",
                   "GELUs"]


def test_activation_names_match_whole_name_parts_only() -> None:
    assert [n for n in ACTIVATIONS if not ACTIVATION_NAME.search(n)] == []
    assert [n for n in NOT_ACTIVATIONS if ACTIVATION_NAME.search(n)] == []


class ChannelUnitNorm(nn.Module):  # a normalisation: "channEL Unit" held "elu"
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / (x.norm(dim=-1, keepdim=True) + 1e-6)


class NewGELUActivation(nn.Module):  # the GPT-2 formula: still found by name and probe
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def test_a_normalisation_whose_name_holds_elu_is_not_taken_for_an_activation() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 32), ChannelUnitNorm(), nn.Linear(32, 32), nn.GELU())
    x = torch.randn(8, 16)
    assert activation_like(net, swapnas.EXTENDED_ACTIVATIONS) == []
    assert swapnas.score(net, x, init="none") == swapnas.score(net, x, "swap_ext", init="none")  # auto: swap_ext
    found = activation_like(nn.Sequential(nn.Linear(4, 4), NewGELUActivation()), swapnas.EXTENDED_ACTIVATIONS)
    assert [type(m).__name__ for m in found] == ["NewGELUActivation"]


def _record(hidden: object = 256, heads: object = 4, ff: object = 512) -> dict:
    layer = {"operation_type": "SA", "operation_parameter": "SDP", "num_operation_heads": heads,
             "feed_forward_dimension": ff, "num_feed_forward": 1}
    dsc = {"operation_type": "DSC", "operation_parameter": 5, "num_operation_heads": 2,
           "feed_forward_dimension": 1024, "num_feed_forward": 3}
    return {"hidden_size": hidden, "nas_config": {"encoder_layers": [layer, dsc]}}


def test_from_record_refuses_sizes_that_are_not_whole_numbers() -> None:
    """256.7 was read as 256, 4.9 heads as 4, 512.5 as 512, with no error."""
    assert str(fb.from_record(_record(256.0, 4.0, 512.0))) == "h256|SA.SDP.h4.f512x1|DSC.5.h2.f1024x3"
    with pytest.raises(ValueError, match=r"hidden_size must be a whole number, got float 256\.7"):
        fb.from_record(_record(hidden=256.7))
    with pytest.raises(ValueError, match=r"layer 1's num_operation_heads must be a whole number, got float 4\.9"):
        fb.from_record(_record(heads=4.9))
    with pytest.raises(ValueError, match=r"layer 1's feed_forward_dimension must be a whole number"):
        fb.from_record(_record(ff=512.5))
    with pytest.raises(ValueError, match=r"hidden_size must be a whole number, got bool"):
        fb.from_record(_record(hidden=True))


def test_arch_and_layer_refuse_floats_and_bools_whose_strings_would_not_parse_back() -> None:
    sa = fb.Layer("SA", "SDP", 4, 512, 1)
    for make, message in ((lambda: fb.Layer("SA", "SDP", 4.0, 512, 1), "heads must be an int, got float 4.0"),
                          (lambda: fb.Layer("SA", "SDP", 4, 512, True), "feed-forward layer count must be an int"),
                          (lambda: fb.Layer("SA", "SDP", 4, 512.0, 1), "feed-forward width must be an int"),
                          (lambda: fb.Arch(256.0, (sa, sa)), "hidden size must be an int, got float 256.0"),
                          (lambda: fb.Arch(256, (("SA", "SDP", 4, 512, 1),) * 2), "must be Layer objects; layer 1")):
        with pytest.raises(ValueError, match=message):
            make()
    numpy_ints = fb.Arch(np.int64(256), (fb.Layer("SA", "SDP", np.int64(4), np.int64(512), 1), sa))
    assert type(numpy_ints.hidden) is int and type(numpy_ints.layers[0].heads) is int
    assert fb.parse(str(numpy_ints)) == numpy_ints


def test_parse_is_exact_and_cuts_long_values_in_its_messages() -> None:
    with pytest.raises(ValueError, match="must look like"):
        fb.parse("h256|SA.SDP.h4.f512x1\n|SA.SDP.h4.f512x1")  # "$" matched before the newline
    for text in ("h256|SA.SDP.h" + "9" * 5000 + ".f512x1|SA.SDP.h4.f512x1", "h" + "9" * 5000 + "|SA.SDP.h4.f512x1",
                 "h256|" + "X" * 5000 + "|SA.SDP.h4.f512x1"):
        with pytest.raises(ValueError) as info:
            fb.parse(text)
        assert len(str(info.value)) < 600 and "characters)" in str(info.value)
    with pytest.raises(ValueError) as info:
        fb.Layer("X" * 5000, "SDP", 4, 512, 1)
    assert len(str(info.value)) < 300


def test_token_ids_outside_the_vocabulary_are_refused_naming_its_size() -> None:
    """Ids >= 30522 or < 0 gave a bare "IndexError: index out of range in self"."""
    torch.manual_seed(0)
    net = fb.build("h128|SA.SDP.h2.f512x1|LT.DFT.h4.f1024x3", sizes="design")
    for ids in (torch.full((4, 8), 40000), -torch.ones(4, 8, dtype=torch.long)):
        with pytest.raises(ValueError, match=r"vocabulary of 30522 ids, so every id must be in 0 … 30521"):
            net(ids)
        with pytest.raises(swapnas.UnsupportedModel, match="vocabulary of 30522 ids"):
            swapnas.score(net, ids, "swap_ext", init="none")
        with pytest.raises(ValueError, match="vocabulary has 30522 ids"):
            mask_tokens(ids)
    assert net(torch.tensor([[0, 101, 30521, 102]])).shape == (1, 2)  # the range's ends pass
