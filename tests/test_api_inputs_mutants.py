"""Tests written against the survivors of session 39's mutation run of ``swapnas.api_inputs`` (docs/reliability.md,
"Session 39"): what ``swapnas.score`` and ``swapnas.rank`` take, each function called directly: the seed range's two
ends, devices, class counts, every input form and every refusal whole, the labels' range and the attention-mask check.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from swapnas.api_inputs import as_batch, as_device, check_num_classes, check_seed
from swapnas.bundle import Batch
from swapnas.session import available_devices

from .message_tools import exact

_LO, _HI = -2**63, 2**64 - 1


def test_seeds_on_both_ends_of_torchs_range_are_taken_with_their_repeats() -> None:
    check_seed(_LO, 1)
    check_seed(_HI, 1)
    check_seed(_HI - 3, 4)  # repeats draw from seed … seed + 3 = 2**64 - 1
    for seed, repeats in ((_LO - 1, 1), (_HI - 2, 4), (_HI + 1, 1)):
        with pytest.raises(ValueError, match=exact(
                f"seed must be in [-2**63, 2**64 - repeats] = [{_LO}, {_HI - repeats + 1}] with repeats={repeats} "
                f"(torch's seed range; repeat r draws from seed + r); got seed={seed}")):
            check_seed(seed, repeats)


_HERE = ", ".join(repr(d) for d in available_devices())


def test_devices_are_read_and_bad_ones_refused_whole() -> None:
    assert as_device(None) is None
    assert as_device("cpu") == as_device(torch.device("cpu")) == torch.device("cpu")
    for device, why in (("tpu", "an unknown device type"), ("cpu:zz", "Invalid device string: 'cpu:zz'"),
                        (3.5, "device() received an invalid combination of arguments - got (float), but expected one "
                              "of:")):
        with pytest.raises(ValueError, match=exact(
                f"device={device!r} is not a device torch can use here ({why}); give a torch.device or a device string "
                f"such as 'cpu' or 'cuda:0' (available here: {_HERE})")):
            as_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without CUDA")
def test_a_cuda_device_on_a_machine_without_cuda_is_refused_naming_what_is_here() -> None:
    with pytest.raises(ValueError, match=rf"^device='cuda:3': .+; available here: {_HERE}$"):
        as_device("cuda:3")


def test_class_counts_from_one_up_or_none() -> None:
    check_num_classes(None)
    check_num_classes(1)
    for bad in (True, 2.0):
        with pytest.raises(TypeError, match=exact(
                "num_classes must be an int >= 1 (the number of classes, the model's output size) or None (counted "
                f"from the labels), not {bad!r}")):
            check_num_classes(bad)
    zero = ("num_classes must be >= 1 (the number of classes, the model's output size), or None to count them from "
            "the labels; got 0")
    with pytest.raises(ValueError, match=exact(zero)):
        check_num_classes(0)
    with pytest.raises(ValueError, match=exact(zero)):
        as_batch(torch.randn(2, 3), num_classes=0)


_FORMS = ("inputs must be a tensor, an (x, y) pair, a dict of tensors (model(**kw)), ((x1, x2, …), y), a Batch or a "
          "DataLoader, not tuple")


def test_input_forms_and_their_refusals_whole() -> None:
    x = torch.randn(2, 3)
    one, labels = as_batch(([x], None))  # a model called as model(x) with its inputs in a list of one
    assert isinstance(one.inputs, list) and one.inputs[0] is x and not labels
    for bad in (("abc", torch.zeros(2)), ([], torch.zeros(2))):
        with pytest.raises(TypeError, match=exact(_FORMS)):
            as_batch(bad)
    with pytest.raises(TypeError, match=exact(
            "inputs is a tuple of 3 tensors: an (x, y) pair needs exactly two; for a model called as model(x1, x2, …) "
            "pass ((x1, x2, …), y) or ((x1, x2, …), None)")):
        as_batch((x, x, x))
    with pytest.raises(TypeError, match=exact(
            "inputs is a numpy ndarray: pass a torch tensor, e.g. torch.from_numpy(x).float()")):
        as_batch(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=exact("inputs is an empty iterable/DataLoader: it yielded no batch")):
        as_batch(iter([]))


def test_a_batch_is_taken_as_labelled_and_checked_for_non_finite_inputs() -> None:
    batch = Batch(torch.randn(2, 3), torch.tensor([0, 1]), 2, "user", "user", 2)
    assert as_batch(batch) == (batch, True)
    batch.inputs[0, 1] = float("nan")
    with pytest.raises(ValueError, match=exact("inputs hold 1 non-finite value(s) (NaN/inf) of 6; every proxy would "
                                               "score noise: clean or re-normalise the batch")):
        as_batch(batch)
    with pytest.raises(ValueError, match=exact("labels hold 1 non-finite value(s) (NaN/inf) of 2; every proxy would "
                                               "score noise: clean or re-normalise the batch")):
        as_batch((torch.randn(2, 3), torch.tensor([float("inf"), 1.0])))


@pytest.mark.parametrize(("y", "num_classes", "message"), [
    ([0, 5], 3, "class labels must run from 0 to num_classes - 1 = 2 (-100: ignored); these run from 0 to 5: remap "
                "them, e.g. y = torch.unique(y, return_inverse=True)[1], or give num_classes the model's output size"),
    ([-1, 0], None, "class labels must run from 0 to C - 1 (-100: ignored); these run from -1 to 0: remap them, e.g. "
                    "y = torch.unique(y, return_inverse=True)[1]"),
])
def test_class_labels_out_of_range_are_refused_whole(y: list, num_classes: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        as_batch((torch.randn(2, 3), torch.tensor(y)), num_classes)


def test_class_labels_become_int64_and_the_ignored_label_is_allowed() -> None:
    batch, labels = as_batch((torch.randn(3, 2), torch.tensor([2, -100, 0], dtype=torch.int32)))
    assert labels and batch.targets.dtype == torch.int64 and batch.targets.tolist() == [2, -100, 0]
    assert batch.num_classes == 3 and batch.loss == "ce"


_MASK = ("the second item looks like an attention mask, not labels: pass ((x, mask), None), or ((x, mask), y) with "
         "labels")


def test_a_second_item_shaped_like_an_attention_mask() -> None:
    ids = torch.randint(0, 100, (2, 5))
    with pytest.raises(ValueError, match=exact(_MASK)):
        as_batch((ids, torch.ones(2, 5, dtype=torch.bool)))
    with pytest.warns(UserWarning, match=exact(_MASK + "; it is read as labels y here (0/1 per token, padding-like "
                                               "rows)")):
        as_batch((ids, torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not masks: a row of zeros, masked-token labels, two tokens a row
        as_batch((ids, torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]])))
        as_batch((ids, torch.tensor([[-100, 5, -100, 7, -100], [1, -100, -100, -100, -100]])))
        as_batch((ids[:, :2], torch.tensor([[1, 0], [1, 1]])))
