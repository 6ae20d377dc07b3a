"""``swapnas.score(..., train=False)`` keeps each module's own mode (session 50: a user's pretrained model left in
``eval()`` was scored in train mode, BatchNorm on the batch's statistics, without a way to keep its mode)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import swapnas

pytestmark = pytest.mark.filterwarnings("ignore::swapnas.SaturationWarning")  # small nets, few samples


def _eval_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4),
                        nn.ReLU(), nn.Dropout(0.5))
    with torch.no_grad():  # running statistics unlike any batch's, so that the two modes differ
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1.0, 1.0)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_train_false_scores_the_model_in_its_own_mode_and_true_in_train_mode() -> None:
    net, x = _eval_net(), torch.randn(6, 3, 8, 8)
    before = copy.deepcopy(net.state_dict())
    kept = swapnas.score(net, x, ["swap"], init="none", train=False)["swap"]
    assert kept == swapnas.swap_score(net, x)  # the model as it is: eval BatchNorm, no dropout
    trained = swapnas.score(net, x, ["swap"], init="none")["swap"]
    assert trained == swapnas.swap_score(copy.deepcopy(net).train(), x)  # (ReLU codes: dropout keeps their signs)
    assert kept != trained
    assert not net.training and not any(m.training for m in net.modules())  # the caller's model untouched
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    rows = swapnas.rank({"a": net}, x, ["swap"], init="none", train=False)  # rank passes it on
    assert rows[0]["swap"] == kept


@pytest.mark.parametrize("bad", [None, 0, "eval"])
def test_train_must_be_a_bool(bad: object) -> None:
    with pytest.raises(TypeError) as exc:
        swapnas.score(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), torch.randn(4, 3, 6, 6), ["swap"], train=bad)
    assert str(exc.value) == (f"train must be True (train mode, the protocol) or False (each module's own mode), not "
                              f"{bad!r}")
