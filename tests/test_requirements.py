"""What a proxy requires of a model and of its inputs, checked before any pass (session 51: synflow, jacob_cov,
epe_nas, vkdnw and meco could never score a FlexiBERT network, and correlate scored every arch with each and stored
a failure for each; the API reached them only inside their own pass)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

from swapnas.bundle import Batch
from swapnas.fit_check import refuse_unfit
from swapnas.proxies import get_proxy, list_proxies
from swapnas.requirements import (
    INPUT_REQUIREMENTS,
    LABEL_REQUIREMENTS,
    OUTPUT_REQUIREMENTS,
    REQUIREMENTS,
    UnsupportedModel,
    applies,
    check_output,
    check_supported,
)
from swapnas.session import configure

FLOAT_WHY = INPUT_REQUIREMENTS["float_inputs"][1]


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.ff = nn.Embedding(20, 8), nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 2))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.ff(self.emb(ids)).mean(1)


def _batch(x: torch.Tensor) -> Batch:
    return Batch(x, torch.zeros(x.shape[0], dtype=torch.long), 2, "test", "synthetic", 0)


def test_every_registered_requirement_is_known_and_its_option_exists() -> None:
    for name in list_proxies():
        p = get_proxy(name)
        for need in p.requires:
            base, _, when = need.partition(":")
            assert any(base in kinds for kinds in (REQUIREMENTS, INPUT_REQUIREMENTS, LABEL_REQUIREMENTS,
                                                   OUTPUT_REQUIREMENTS)), (name, need)
            assert not when or when.partition("=")[0] in p.options, (name, need)


def test_an_option_waives_a_requirement_and_an_unknown_one_is_named() -> None:
    meco = get_proxy("meco")
    assert [applies(meco, r) for r in meco.requires] == ["conv", None]  # layers="conv" by default
    relu = meco.configure(layers="relu")
    assert [applies(relu, r) for r in relu.requires] == [None, "relu"]
    assert [applies(meco.configure(layers="all"), r) for r in meco.requires] == [None, None]
    odd = dataclasses.replace(get_proxy("params"), requires=("wings",))
    with pytest.raises(KeyError, match=r"params requires 'wings', which is none of \['class_pairs', 'conv', "
                                       r"'conv_blocks', "):
        check_supported(odd, Tokens())


@pytest.mark.parametrize("name", ["synflow", "jacob_cov", "epe_nas", "vkdnw", "zen"])
def test_integer_ids_are_refused_for_a_proxy_that_needs_float_inputs(name: str) -> None:
    ids = torch.randint(0, 20, (4, 5))
    proxy = get_proxy(name)
    with pytest.raises(UnsupportedModel) as exc:
        check_supported(proxy, nn.Sequential(Tokens(), nn.Unflatten(1, (2, 1, 1)), nn.AdaptiveAvgPool2d(1)),
                        _batch(ids))
    assert str(exc.value) == f"{name} cannot score Sequential: {FLOAT_WHY}" and exc.value.why == FLOAT_WHY
    check_supported(proxy, nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1)), _batch(torch.randn(4, 3, 2, 2)))
    if name != "zen":  # without a batch only the model is checked
        check_supported(proxy, Tokens())


def test_vkdnw_on_its_own_inputs_takes_integer_ids() -> None:
    data = get_proxy("vkdnw").configure(inputs="data")  # it feeds the batch itself: no float input needed
    check_supported(data, Tokens(), _batch(torch.randint(0, 20, (4, 5))))


def test_meco_needs_a_conv_layer_unless_its_option_reads_others() -> None:
    with pytest.raises(UnsupportedModel, match=r"^meco cannot score Tokens: it reads the 4-D maps of nn.Conv2d layers "
                                               r"and the model has none$"):
        check_supported(get_proxy("meco"), Tokens())
    check_supported(get_proxy("meco_all"), Tokens())
    with pytest.raises(UnsupportedModel, match="meco cannot score Tokens: it counts nn.ReLU"):
        check_supported(get_proxy("meco").configure(layers="relu"), Tokens())


def test_flexibert_refuses_the_proxies_that_need_float_inputs_or_convolutions(small_bundle: Path) -> None:
    protocol, batch, proxies = configure("flexibert", "glue", "swap_ext,synflow,jacob_cov,meco,l2_norm,epe_nas",
                                         data_dir=str(small_bundle), batch_size=4)
    with pytest.raises(ValueError) as exc:
        refuse_unfit("flexibert", proxies, protocol, batch, "--proxies")
    assert str(exc.value).startswith(f"synflow, jacob_cov, epe_nas cannot score Encoder: {FLOAT_WHY}; meco cannot "
                                     "score Encoder: it reads the 4-D maps of nn.Conv2d layers and the model has none. "
                                     "No network of flexibert has what synflow, jacob_cov, epe_nas, meco need")


def test_several_inputs_are_left_to_the_api_s_own_refusal() -> None:
    import swapnas
    from tests.test_api import TwoInputs

    kw = {"x": torch.randn(4, 3, 6, 6), "mask": torch.ones(4, 1, 1, 1)}
    batch = Batch(kw, torch.zeros(4, dtype=torch.long), 2, "test", "synthetic", 0)  # type: ignore[arg-type]
    check_supported(get_proxy("synflow"), TwoInputs(), batch)
    with pytest.raises(UnsupportedModel, match="^synflow calls the model with one input tensor, and these inputs are "
                                               "a dict of tensors"):
        swapnas.score(TwoInputs(), kw, "synflow")


def test_vkdnw_needs_a_classifier_s_logits() -> None:
    # session 51: under `--proxies all` vkdnw failed on every arch of a dense TransNAS task
    why = OUTPUT_REQUIREMENTS["logits"][1]
    with pytest.raises(UnsupportedModel) as exc:
        check_output(get_proxy("vkdnw"), Tokens(), torch.empty(4, 3, 8, 8, device="meta"))
    assert str(exc.value) == f"vkdnw cannot score Tokens: {why}"
    check_output(get_proxy("vkdnw"), Tokens(), torch.empty(4, 10, device="meta"))
    check_output(get_proxy("params"), Tokens(), torch.empty(4, 3, 8, 8, device="meta"))  # no such need
    check_supported(get_proxy("vkdnw"), nn.Linear(3, 2), _batch(torch.randn(4, 3)))  # no output: not checked here


@pytest.mark.parametrize("task, refused", [("autoencoder", True), ("class_object", False)])
def test_a_dense_transnas_task_refuses_vkdnw_before_scoring(small_bundle: Path, task: str, refused: bool) -> None:
    protocol, batch, proxies = configure("transnas_micro", task, "vkdnw,params", data_dir=str(small_bundle),
                                         batch_size=4)
    if not refused:
        refuse_unfit("transnas_micro", proxies, protocol, batch, "--proxies")
        return
    with pytest.raises(ValueError, match=r"^vkdnw cannot score TaskNet: it needs a classifier's \(S, outputs\) logits"):
        refuse_unfit("transnas_micro", proxies, protocol, batch, "--proxies")
