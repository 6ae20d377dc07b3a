"""Session 66: items session 65 left open, each test failing on the code as found (6ab5333)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import swapnas
from swapnas import session
from swapnas.api import UnsupportedModel
from swapnas.proxies import get_proxy
from swapnas.spaces import get_space

from .test_session_scoring_mutants import recording_prepare


def test_configure_keeps_the_prior_a_swap_reg_was_configured_with(monkeypatch) -> None:
    """A ``swap_reg`` given with its own μ/σ kept them (the space's rule replaced both); ``mu``/``sigma`` given to
    configure still win, one at a time, and an unconfigured one still gets the space's."""
    recording_prepare(monkeypatch)
    mu, sigma = get_space("nb201").default_size_prior({"C": 16, "N": 1}, 10)
    own = get_proxy("swap_reg").configure(mu=5.0, sigma=2.0)
    half = get_proxy("swap_reg").configure(mu=5.0)

    def prior(proxy, **given) -> tuple:
        (p,) = session.configure("nb201", "cifar10", [proxy], **given)[2]
        return p.options["mu"], p.options["sigma"]

    assert prior(own) == (5.0, 2.0)
    assert prior(own, mu=3.0) == (3.0, 2.0)
    assert prior(own, sigma=0.5) == (5.0, 0.5)
    assert prior(half) == (5.0, sigma)
    assert prior(get_proxy("swap_reg")) == (mu, sigma)


@pytest.mark.parametrize("given", [{"mu": 3.0}, {"sigma": 0.5}, {"mu": 3.0, "sigma": 0.5}])
def test_configure_refuses_a_prior_without_swap_reg(monkeypatch, given) -> None:
    """μ/σ given with no ``swap_reg`` to take them were dropped unsaid (the command line refuses them)."""
    recording_prepare(monkeypatch)
    with pytest.raises(ValueError, match=r"^mu/sigma set swap_reg's size prior, and the proxies have no swap_reg: "
                                         r"add swap_reg, or leave them out"):
        session.configure("nb201", "cifar10", "swap,params", **given)


def test_rank_raises_a_refused_batch_instead_of_a_none_per_model() -> None:
    """epe_nas refuses a batch with one sample per class: every model got ``None`` and the batch's reason and all
    ranked 1 (the other proxy's values were scored twice); the refusal is the batch's, raised once."""
    torch.manual_seed(0)
    models = {f"m{i}": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3)) for i in range(3)}
    batch = (torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2]))
    for proxies in ("epe_nas", "epe_nas,params", "params,epe_nas"):
        with pytest.raises(UnsupportedModel, match=r"^epe_nas cannot score this batch: every class of the batch has "
                                                   r"one sample") as e:
            swapnas.rank(models, batch, proxies)
        assert e.value.of_batch
    rows = swapnas.rank(models, (batch[0], torch.tensor([0, 0, 1])), "epe_nas,params")  # a pair: scored
    assert all(r["epe_nas"] is not None and "error" not in r for r in rows)


def test_store_check_of_a_damaged_store_does_not_advise_a_fresh_store_flag(tmp_path, capsys) -> None:
    """`swapnas store check` (and accept-code) on a damaged store advised "start a fresh store with --store
    NEW.sqlite", a flag of the scoring commands; the backup and the salvage are advised."""
    import json

    from swapnas import cli
    from tests.test_faults_store import _damage_page, _fake_store

    store = tmp_path / "scores.sqlite"
    _fake_store(store, 300)
    _damage_page(store, "x-arch-00150-", 0x0D)
    assert cli.main(["--json", "store", "check", str(store)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error == (f"the score store {store} is damaged; restore it from a backup, or copy every readable score into "
                     f"a new store with `swapnas store salvage {store} --out NEW.sqlite`")
