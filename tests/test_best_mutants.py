"""What mutation testing of ``swapnas.proxies.best`` found untested (session 30,
``bash scripts/mutation_check.sh proxies/best``).

Every combination is registered when the module is imported, so no test ran ``register_log_linear``'s body or the
``fn`` it makes under a mutant: what it passes to ``register`` (bases, version, input kind, the weights as float
options, the description) and what ``fn`` computes were unchecked. ``log_linear`` was only tried with the
zero-weight term last (``continue`` → ``break`` survived) and never with terms of unequal lengths.
"""

from __future__ import annotations

import math

import pytest

from swapnas.proxies import get_proxy
from swapnas.proxies.best import log_linear, register_log_linear


def test_a_zero_weight_term_is_skipped_wherever_it_stands() -> None:
    # the middle term has weight 0 and a value whose log is undefined: it is skipped, the terms after it still count
    v = log_linear((20.0, 0.0, 7.0), ("a", "b", "c"), ("log", "log", "lin"), (1.0, 0.0, 2.0), "f")
    assert v == pytest.approx(math.log(20.0) + 14.0, rel=1e-12)
    assert log_linear((5.0, 3.0), ("a", "b"), ("lin", "lin"), (0.0, 1.0), "f") == 3.0


def test_terms_of_unequal_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="shorter"):
        log_linear((1.0, 2.0), ("a",), ("lin", "lin"), (1.0, 1.0), "f")
    with pytest.raises(ValueError, match="longer"):
        log_linear((1.0,), ("a",), ("lin",), (1.0, 1.0), "f")


def test_a_registered_combination_carries_its_bases_weights_and_description(scratch_registry: None) -> None:
    register_log_linear("combo_mutant_test", {"swap": ("log", 1), "params": ("log", 0.5),
                                              "az_nas_progressivity": ("lin", -2)},
                        "A test combination.\n\nSecond paragraph, not in the description.")
    p = get_proxy("combo_mutant_test")
    assert p.name == "combo_mutant_test" and p.base == ("swap", "params", "az_nas_progressivity")
    assert p.version == "1" and p.input_kind == "data" and p.higher_is_better
    assert p.options == {"w_swap": 1.0, "w_params": 0.5, "w_az_nas_progressivity": -2.0}
    assert all(type(w) is float for w in p.options.values())  # ints become floats: the key writes them as {v:g}
    assert p.description == "A test combination."
    assert p.key == "combo_mutant_test@1[w_az_nas_progressivity=-2,w_params=0.5,w_swap=1]"
    assert not p.needs_grad and not p.needs_labels  # none of these bases needs a backward pass or labels
    value = p.fn((100.0, 4000.0, 0.25), None, **p.options)
    assert value == pytest.approx(math.log(100.0) + 0.5 * math.log(4000.0) - 0.5, rel=1e-12)
    other = p.configure(w_params=0.0, w_az_nas_progressivity=1.0)  # the weights passed win over the defaults
    assert other.fn((100.0, 4000.0, 0.25), None, **other.options) == pytest.approx(math.log(100.0) + 0.25, rel=1e-12)
    with pytest.raises(ValueError, match=r"^combo_mutant_test: params = -1\.0 is not positive"):
        p.fn((100.0, -1.0, 0.25), None, **p.options)


def test_a_combination_takes_its_version_and_inherits_what_its_bases_need(scratch_registry: None) -> None:
    register_log_linear("combo_mutant_grad", {"swap": ("log", 1.0), "fisher": ("log", -0.5)}, "d", version="3")
    p = get_proxy("combo_mutant_grad")
    assert p.version == "3" and p.key.startswith("combo_mutant_grad@3[")
    assert p.needs_grad == get_proxy("fisher").needs_grad is True


@pytest.mark.parametrize("transform", ["log", "lin"])
def test_both_transforms_are_accepted(transform: str, scratch_registry: None) -> None:
    register_log_linear(f"combo_mutant_{transform}", {"swap": (transform, 1.0)}, "d")  # type: ignore[dict-item]
    p = get_proxy(f"combo_mutant_{transform}")
    expected = math.log(8.0) if transform == "log" else 8.0
    assert p.fn((8.0,), None, **p.options) == pytest.approx(expected, rel=1e-12)


def test_a_name_registered_twice_is_refused(scratch_registry: None) -> None:
    register_log_linear("combo_mutant_twice", {"swap": ("log", 1.0)}, "d")
    with pytest.raises(ValueError, match="proxy 'combo_mutant_twice' is registered twice"):
        register_log_linear("combo_mutant_twice", {"swap": ("log", 1.0)}, "d")
