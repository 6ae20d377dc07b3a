"""Session 65's second review, of the first review's mends (each test failed on the code reviewed): configure judges a
value's kind by the option's registered default, not by a value given before; seeds beyond torch's range refused by
configure; the class_pairs refusal of correlate names the batch; a long list is not quoted whole."""

from __future__ import annotations

import pytest

from swapnas.proxies import get_proxy

from tests.conftest import SMALL_BUNDLE as SMALL


# --- 1 (medium). configure checks a value's kind against the proxy's CURRENT value, not its registered default ----

def test_configure_on_a_configured_proxy_takes_a_float_where_an_int_was_given_before():
    """check_options' docstring says ``defaults`` are "the proxy's registered ones", but Proxy.configure passes
    self.options (the current values): once an int was given to a float option, a float is refused
    ("zen option alpha=0.5: takes a whole number (an int)"); swap_reg's mu=None (its registered default) after a
    number is refused too. At 336e180 both went through."""
    assert get_proxy("zen").configure(alpha=1).configure(alpha=0.5).options["alpha"] == 0.5
    assert get_proxy("swap_darts").configure(w_params=1).configure(w_params=0.25).options["w_params"] == 0.25
    assert get_proxy("lswag_grad").configure(start=10).configure(start=20.5).options["start"] == 20.5


def test_session_configure_takes_a_swap_reg_whose_prior_was_given_as_ints():
    """swapnas.session.configure (the documented way to give run_correlation its proxies) re-configures swap_reg
    with the space's prior; for a swap_reg configured with mu=300, sigma=100 it now raises
    "TypeError: swap_reg option mu=306.6244...: takes a whole number (an int)" (336e180: it ran)."""
    from swapnas.session import configure
    p = get_proxy("swap_reg").configure(mu=300, sigma=100)
    _, _, (q,) = configure("nb201", "cifar10", [p], data_dir=str(SMALL), batch_size=8)
    assert q.name == "swap_reg"


# --- 2 (low-medium). a seed torch's generator refuses passes configure, then every model fails ------------------

@pytest.mark.parametrize("proxy", ["zen", "vkdnw"])
@pytest.mark.parametrize("seed", [2**64, -2**63 - 1])
def test_a_seed_outside_torchs_generator_range_is_refused_by_configure(proxy, seed):
    """zen and vkdnw seed torch.Generator().manual_seed(seed); outside [-2**63, 2**64 - 1] every model then fails
    ("UnsupportedModel: zen could not score Sequential: ValueError: Overflow when unpacking long long") and rank
    ranks every model unscored: the kind of value session 65 meant configure to refuse before any pass."""
    with pytest.raises((ValueError, TypeError), match="seed"):
        get_proxy(proxy).configure(seed=seed)


# --- 3 (low-medium). class_pairs through correlate/search still blames the networks and advises other proxies ----

def test_class_pairs_refusal_of_correlate_names_the_batch_not_the_networks():
    """The mend changed check_supported's text only; fit_check.unfit (correlate, grid, search) still builds
    "epe_nas cannot score Network: every class of the batch has one sample ... No network of nb201 has what epe_nas
    needs: give --proxies other proxies": the network is not the cause and the way out is a larger --batch-size."""
    from swapnas.fit_check import refuse_unfit
    from swapnas.session import configure
    protocol, batch, proxies = configure("nb201", "cifar10", "epe_nas", data_dir=str(SMALL), batch_size=1)
    with pytest.raises(ValueError) as err:
        refuse_unfit("nb201", proxies, protocol, batch, "--proxies")
    text = str(err.value)
    assert "cannot score Network" not in text and "No network of" not in text, text


# --- 4 (low). correlate's new TypeError quotes the whole input ------------------------------------------------------

def test_correlate_type_error_does_not_quote_a_whole_long_list():
    """stats._numbers puts {values!r} in the message: 20,000 non-numbers give a 100 kB error line."""
    from swapnas.stats import correlate
    with pytest.raises(TypeError) as err:
        correlate(["x"] * 20000, list(range(20000)), n_boot=0)
    assert len(str(err.value)) < 2000
