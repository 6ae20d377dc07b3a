"""Tests written against the survivors of session 39's mutation run of ``swapnas.api_inputs`` (docs/reliability.md,
"Session 39"): what ``swapnas.score`` and ``swapnas.rank`` take, each function called directly: the seed range's two
ends, devices, class counts, every input form and every refusal whole, the labels' range and the attention-mask check.
"""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest
import torch

from swapnas.api_inputs import _mask_like, as_batch, as_device, check_num_classes, check_seed
from swapnas.bundle import Batch
from swapnas.devices import available_devices

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


def _torch_says(device: object) -> str:
    """The first line of torch's own error for ``device`` (its wording is torch's, and moves between versions)."""
    try:
        torch.device(device)  # type: ignore[call-overload]
    except (RuntimeError, TypeError) as exc:
        return str(exc).splitlines()[0]
    raise AssertionError(f"torch took device={device!r}")


def test_devices_are_read_and_bad_ones_refused_whole() -> None:
    assert as_device(None) is None
    assert as_device("cpu") == as_device(torch.device("cpu")) == torch.device("cpu")
    for device, why in (("tpu", "an unknown device type"), ("cpu:zz", _torch_says("cpu:zz")), (3.5, _torch_says(3.5))):
        with pytest.raises(ValueError, match=exact(
                f"device={device!r} is not a device torch can use here ({why}); give a torch.device or a device string "
                f"such as 'cpu' or 'cuda:0' (available here: {_HERE})")):
            as_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without CUDA")
def test_a_cuda_device_on_a_machine_without_cuda_is_refused_naming_what_is_here() -> None:
    with pytest.raises(ValueError, match=rf"^device='cuda:3': .+; available here: {re.escape(_HERE)}$"):
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


_MASK = ("the second item looks like an attention mask, not labels: pass ({'input_ids': x, 'attention_mask': mask}, "
         "None) (the padded positions left out of SWAP), ((x, mask), None), or either with labels y")
_MASK_WARNING = _MASK + "; it is read as labels y here (0/1 per token, padding-like rows)"
_FLOAT_LABELS = "float labels are read as regression targets (an mse loss); for class labels pass y.long()"


def test_a_second_item_shaped_like_an_attention_mask() -> None:
    ids = torch.randint(0, 100, (2, 5))
    with pytest.raises(ValueError, match=exact(_MASK)):
        as_batch((ids, torch.ones(2, 5, dtype=torch.bool)))
    with pytest.warns(UserWarning, match=exact(_MASK_WARNING)):
        as_batch((ids, torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not masks: a row of zeros, masked-token labels, two tokens a row
        as_batch((ids, torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]])))
        as_batch((ids, torch.tensor([[-100, 5, -100, 7, -100], [1, -100, -100, -100, -100]])))
        as_batch((ids[:, :2], torch.tensor([[1, 0], [1, 1]])))


def test_padding_masks_on_either_side_and_of_three_tokens_warn_alternating_labels_do_not() -> None:
    ids = torch.randint(0, 100, (2, 5))
    for y in ([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]],  # right and left padding in one batch
              [[1, 1, 0], [1, 0, 0]]):  # three tokens a row, the shortest row checked
        x = ids[:, :len(y[0])]
        with pytest.warns(UserWarning, match=exact(_MASK_WARNING)):
            as_batch((x, torch.tensor(y)))
    with pytest.warns(UserWarning, match=exact(_MASK_WARNING)):
        as_batch((ids[:1], torch.tensor([[1, 1, 1, 0, 0]])))  # a batch of one
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # per-token labels: not a run of ones then zeros; another shape; float inputs
        as_batch((ids, torch.tensor([[1, 0, 1, 0, 1], [1, 1, 0, 0, 0]])))
        as_batch((ids, torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]])))
        as_batch((ids.float(), torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]])))


def test_the_mask_check_names_what_it_found() -> None:
    ids = torch.randint(0, 100, (2, 4))
    assert _mask_like(ids, torch.ones(2, 4, dtype=torch.bool)) == "bool"
    assert _mask_like(ids, torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])) == "padding"
    assert _mask_like(ids, torch.tensor([[1, 0, 1, 0], [1, 1, 1, 1]])) == ""
    # session 52: a bool mask beside embeddings (a model called as model(x, src_key_padding_mask)) was read as
    # labels and left out of the pass; a bool (S,) is binary class labels
    embedded = torch.randn(2, 4, 8)
    assert _mask_like(embedded, torch.zeros(2, 4, dtype=torch.bool)) == "bool"
    assert _mask_like(embedded, torch.zeros(2, dtype=torch.bool)) == ""
    with pytest.raises(ValueError, match=exact(_MASK)):
        as_batch((embedded, torch.zeros(2, 4, dtype=torch.bool)))
    assert as_batch((embedded, torch.tensor([True, False])))[0].targets.tolist() == [1, 0]


def _warning_at_the_callers_line(x: object, y: torch.Tensor) -> tuple[str, int, str]:
    """(file, line of the warning − line of the call, message) of the one warning ``as_batch`` gives, called from a
    function as ``swapnas.score`` calls it: the warning must name the line that called that function."""
    def score_like(inputs: object) -> object:
        return as_batch(inputs)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_like((x, y))
        called_at = sys._getframe().f_lineno - 1
    assert len(caught) == 1
    return caught[0].filename, caught[0].lineno - called_at, str(caught[0].message)


def test_both_label_warnings_point_at_the_line_that_called_the_api() -> None:
    ids = torch.randint(0, 100, (2, 5))
    where, offset, message = _warning_at_the_callers_line(ids, torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    assert (where, offset, message) == (__file__, 0, _MASK_WARNING)
    where, offset, message = _warning_at_the_callers_line(torch.randn(2, 3), torch.tensor([0.0, 1.0]))
    assert (where, offset, message) == (__file__, 0, _FLOAT_LABELS)


def test_float_labels_are_regression_targets_and_warn_only_when_they_look_like_classes() -> None:
    x = torch.randn(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch, labels = as_batch((x, torch.tensor([0.5, 1.25])))
        as_batch((x, torch.tensor([[0.0, 1.0], [1.0, 0.0]])))  # (S, 2) float targets: not class labels
    assert labels and (batch.num_classes, batch.loss) == (1, "mse")
    with pytest.warns(UserWarning, match=exact(_FLOAT_LABELS)):
        classes, _ = as_batch((x, torch.tensor([0.0, 1.0])))
    assert (classes.num_classes, classes.loss) == (1, "mse")


def test_inputs_without_labels_get_one_class_of_zeros_and_the_user_provenance() -> None:
    batch, labels = as_batch(torch.randn(3, 2))
    assert not labels and batch.targets.dtype == torch.int64 and batch.targets.tolist() == [0, 0, 0]
    assert (batch.num_classes, batch.dataset, batch.source, batch.n_real, batch.note, batch.loss) == (
        1, "user", "user", 3, "", "ce")


def test_a_label_equal_to_the_class_count_is_refused() -> None:
    with pytest.raises(ValueError, match="these run from 0 to 3"):
        as_batch((torch.randn(2, 3), torch.tensor([0, 3])), num_classes=3)


def test_loaders_give_their_first_batch_and_keep_the_class_count() -> None:
    x, y = torch.randn(6, 3), torch.tensor([0, 1, 0, 1, 0, 1])
    batch, labels = as_batch(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4),
                             num_classes=5)
    assert labels and torch.equal(batch.inputs, x[:4]) and batch.targets.tolist() == [0, 1, 0, 1]
    assert batch.num_classes == 5
    alone, labels = as_batch(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=4))
    assert not labels and torch.equal(alone.inputs, x[:4])


@pytest.mark.parametrize(("inputs", "error", "message"), [
    (torch.randn(5), ValueError, "inputs must be a batch: S samples along dim 0, then each sample's dims (got shape "
                                 "(5,)); for one sample x, pass x.unsqueeze(0)"),
    (torch.randn(0, 3), ValueError, "inputs must hold S >= 1 samples along dim 0 (got shape (0, 3))"),
    (((torch.randn(2, 3), torch.randn(3, 3)), None), ValueError,
     "the input tensors disagree on the number of samples S (dim 0): [2, 3]; give each the same S samples"),
    ((torch.randn(2, 3), [0, 1]), TypeError, "the labels y of an (x, y) pair must be a tensor, not list: "
                                             "torch.as_tensor(y)"),
    ((torch.randn(2, 3), torch.tensor([0, 1, 0])), ValueError,
     "x and y disagree on the number of samples: 2 vs 3; give one label per sample"),
    ((torch.randn(2, 3), torch.tensor(3)), ValueError, "the labels y need one entry per sample along dim 0 (shape "
                                                       "(S,) for class labels); got a scalar tensor (3)"),
    (torch.tensor([[float("nan"), 1.0]]), ValueError, "inputs hold 1 non-finite value(s) (NaN/inf) of 2; every proxy "
                                                      "would score noise: clean or re-normalise the batch"),
])
def test_bad_shapes_and_labels_are_refused_whole(inputs: object, error: type, message: str) -> None:
    with pytest.raises(error, match=exact(message)):
        as_batch(inputs)
