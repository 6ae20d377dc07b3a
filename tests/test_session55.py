"""Session 55: the changes of the session, each pinned."""

from __future__ import annotations

import pytest

from swapnas.errors import did_you_mean, near_names
from swapnas.proxies import get_proxy


def test_near_names_ignore_case_and_keep_the_choices_spelling() -> None:
    assert near_names("ImageNet16-120", ["cifar10", "imagenet16-120"]) == "'imagenet16-120'"
    assert near_names("SWAP", ["swap", "synflow", "swap_reg"], n=1) == "'swap'"
    assert near_names("zzzz", ["swap"]) == ""
    assert did_you_mean("Cifar-100", ["cifar10", "cifar100"]) == "; did you mean 'cifar100' or 'cifar10'?"
    assert did_you_mean("zzzz", ["swap"]) == ""


def test_an_unknown_proxy_in_capitals_is_pointed_to_its_lower_case_name() -> None:
    with pytest.raises(KeyError, match=r"^unknown proxy 'SYNFLOW'; did you mean 'synflow'\?; available: "):
        get_proxy("SYNFLOW")
