"""Follow-ups of the session 21 review of the command line and the Python API ("Doubtful, left" and "Left as is" in
docs/reliability.md): each test failed on the code before its fix.

- ``swapnas.score`` / ``rank``: a ``seed`` past torch's seed range gave torch's "Overflow when unpacking long long";
  ``device="cuda"`` without CUDA torch's AssertionError and ``device="tpu"`` its device-string RuntimeError;
  ``proxies=None`` "'NoneType' object is not iterable"; ``num_classes=0`` was taken as not given;
- ``search --tolerance`` without ``--target-params`` was ignored without a word (its default 0.1 hid whether it was
  given);
- ``search --max-seconds 1e-9`` stopped before the initial population with "nothing evaluated yet".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

import swapnas

from .test_review21_cli import _bad, _run, _search

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


X, Y = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0] * 2)


@pytest.mark.parametrize("seed, repeats", [(2**64, 1), (2**64 - 1, 2), (-2**63 - 1, 1)])
def test_a_seed_outside_torchs_range_names_seed_and_the_range(seed, repeats) -> None:
    for call in (lambda: swapnas.score(_net(), (X, Y), "swap", seed=seed, repeats=repeats),
                 lambda: swapnas.rank([_net()], (X, Y), "swap", seed=seed, repeats=repeats)):
        with pytest.raises(ValueError, match=r"seed must be in \[-2\*\*63, 2\*\*64 - repeats\]") as info:
            call()
        assert f"got seed={seed}" in str(info.value) and f"repeats={repeats}" in str(info.value)
    assert swapnas.score(_net(), (X, Y), "swap", seed=2**64 - 2, repeats=2)["swap"] > 0  # the edge is taken


def test_a_device_this_machine_lacks_names_device_and_what_is_available() -> None:
    missing = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"
    for device, phrase in (("tpu", "is not a device torch can use here (an unknown device type)"),
                           (missing, "CUDA")):
        for call in (lambda: swapnas.score(_net(), (X, Y), "swap", device=device),
                     lambda: swapnas.rank([_net()], (X, Y), "swap", device=device)):
            with pytest.raises(ValueError, match="available here: 'cpu'") as info:
                call()
            assert f"device={device!r}" in str(info.value) and phrase in str(info.value)


@pytest.mark.parametrize("proxies", [None, 5, ["swap", 1]])
def test_proxies_that_are_not_names_are_a_type_error_saying_what_is_accepted(proxies) -> None:
    for call in (lambda: swapnas.score(_net(), (X, Y), proxies), lambda: swapnas.rank([_net()], (X, Y), proxies)):
        with pytest.raises(TypeError, match="proxies must be 'auto', a proxy name, a comma-separated string of names "
                                            f"or a list of names .*, not {re.escape(repr(proxies))}"):
            call()


@pytest.mark.parametrize("num_classes, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_num_classes_below_one_or_not_an_int_is_refused(num_classes, error) -> None:
    for call in (lambda: swapnas.score(_net(), (X, Y), "swap", num_classes=num_classes),
                 lambda: swapnas.rank([_net()], (X, Y), "swap", num_classes=num_classes)):
        with pytest.raises(error, match=f"num_classes must be .*>= 1 .*{num_classes}"):
            call()
    assert swapnas.score(_net(), (X, Y), "swap", num_classes=3)["swap"] > 0


def test_tolerance_without_target_params_is_refused_before_out(small_bundle: Path, tmp_path, capsys) -> None:
    out = tmp_path / "search"
    code, _, err = _run(_search(small_bundle, out, "--tolerance", "0.3"), capsys)
    _bad(code, err, "--tolerance 0.3 is the relative width of --target-params, which is not given",
         "add --target-params SIZE")
    assert not out.exists()


def test_target_params_without_tolerance_still_gets_the_default_0_1(small_bundle: Path, tmp_path, capsys,
                                                                     monkeypatch) -> None:
    seen: dict = {}

    def stop(*args, **kwargs):  # the search itself is not run: what it is given is the point
        seen.update(kwargs)
        raise ValueError("stopped here")

    from swapnas.search import driver
    monkeypatch.setattr(driver, "size_prior", stop)  # (since session 65 run_search applies the default, not the CLI)
    for extra, tolerance in (([], 0.1), (["--tolerance", "0.25"], 0.25)):
        code, _, err = _run(_search(small_bundle, tmp_path / "s", "--target-params", "0.5M", *extra), capsys)
        _bad(code, err, "stopped here")
        assert seen["tolerance"] == tolerance and seen["target_params"] == 0.5


def test_a_max_seconds_spent_before_the_first_evaluation_says_so(small_bundle: Path, tmp_path, capsys) -> None:
    code, _, err = _run(_search(small_bundle, tmp_path / "search", "--max-seconds", "1e-9"), capsys)
    _bad(code, err, "--max-seconds 1e-09 ran out before the first evaluation: nothing was evaluated",
         "rerun with a larger --max-seconds")
    assert "nothing evaluated yet" not in err
