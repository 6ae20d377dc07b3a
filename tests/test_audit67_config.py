"""Session 67 audit of the configuration (environment variables, default paths, defaults across CLI, API and docs;
each test failed on the code as found)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch

import swapnas
from swapnas.cli import build_parser, main
from tests.conftest import _data_dir



def _real_bundle() -> Path:
    """The real data bundle (the small committed copy's NB201 table has 30 rows, which correlate and grid refuse)."""
    found = _data_dir()
    if found is None:
        pytest.skip("swapnas data bundle not found: set SWAPNAS_DATA to shared/data")
    return found


def _parse_error(argv: list[str]) -> bool:
    """Whether argparse refuses ``argv`` (exit 2)."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code == 2
    return False


# --- 1. an empty path for --image-root (and train's --data-root) reads the current folder ------------------------

def test_empty_image_root_is_refused_like_out_store_and_data_dir(tmp_path: Path) -> None:
    """`--image-root "$IMAGES"` with IMAGES unset: the current folder's images (a run's scatter plots!) were scored,
    exit 0. --out, --store and --data-dir refuse '' (path_text, reliability.md session 59's row); --image-root did
    not."""
    argv = ["correlate", "--space", "nb201", "--proxies", "params", "--image-root", "", "--out", str(tmp_path / "o")]
    assert _parse_error(argv), "--image-root '' was accepted (it reads the current folder as the image dataset)"


def test_empty_train_data_root_is_refused(tmp_path: Path) -> None:
    """`swapnas train --data-root ''` read DATA_ROOT=. (the current folder), unlike --out ''."""
    argv = ["train", "--genotype", "x", "--data-root", "", "--out", str(tmp_path / "t")]
    assert _parse_error(argv), "--data-root '' was accepted (it reads the current folder)"


def test_load_batch_empty_image_root_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """swapnas.load_batch(image_root="") read the current folder's pictures as the batch (any .png under it)."""
    (tmp_path / "plots").mkdir()
    import numpy as np
    from PIL import Image
    for i in range(2):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(tmp_path / "plots" / f"scatter_{i}.png")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="image_root='' is empty"):
        swapnas.load_batch("cifar10", 4, image_root="")


# --- 2. $RAY_ADDRESS skips the probe that --address gets -------------------------------------------------------

def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.bundle
def test_ray_address_from_the_environment_is_probed_like_address(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`--address 127.0.0.1:P` with nothing there: refused in ~4 s (ray_address.check_ray_address). The same address
    in $RAY_ADDRESS (no --address; the help says "default: start a local Ray instance") went straight to ray.init,
    which printed Ray's "Failed to connect to GCS" lines for > 2 minutes (killed by timeout 120)."""
    from swapnas import executors

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    reached: list[dict] = []

    class FakeRay:
        @staticmethod
        def is_initialized() -> bool:
            return False

        @staticmethod
        def init(**kwargs: object) -> None:
            reached.append(kwargs)
            raise AssertionError("ray.init reached with a dead $RAY_ADDRESS: it was not probed as --address is")

    monkeypatch.setattr(executors, "require_ray", lambda: FakeRay)
    code = main(["correlate", "--space", "nb201", "--proxies", "params", "--archs", "3", "--executor", "ray",
                 "--device", "cpu", "--data-dir", str(_real_bundle()), "--out", str(tmp_path / "o"), "-q"])
    assert code == 2 and not reached


# --- 3. $SWAPNAS_WORKERS bypasses --workers' range ---------------------------------------------------------------

@pytest.mark.parametrize("value", ["5000", "99999"])
def test_swapnas_workers_has_the_flags_ceiling(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers takes 1..1024 (args.workers_int, session 56's ceilings); $SWAPNAS_WORKERS=99999 was taken as is
    (a pool of up to min(99999, archs/2) spawned torch processes)."""
    from swapnas.cli.executor_options import default_workers

    monkeypatch.setenv("SWAPNAS_WORKERS", value)
    with pytest.raises(ValueError, match="SWAPNAS_WORKERS"):
        default_workers(torch.device("cpu"))


def test_swapnas_workers_error_names_the_variable_for_every_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """'²' passes str.isdigit() and then int() raised "invalid literal for int() with base 10: '²'", which names
    neither the variable nor what it takes (every other bad value got "$SWAPNAS_WORKERS must be a positive
    integer")."""
    from swapnas.cli.executor_options import default_workers

    monkeypatch.setenv("SWAPNAS_WORKERS", "²")
    with pytest.raises(ValueError, match="SWAPNAS_WORKERS"):
        default_workers(torch.device("cpu"))


# --- 4. data_dir="" in the Python API hides $SWAPNAS_DATA ----------------------------------------------------------

def test_empty_data_dir_does_not_hide_swapnas_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI refuses --data-dir '' (it "hid $SWAPNAS_DATA", reliability.md); from Python data_dir="" (e.g.
    os.environ.get("MY_DATA", "")) still skipped $SWAPNAS_DATA and took the user default folder instead (or, without
    one, said "no data directory given: … set $SWAPNAS_DATA" while it was set)."""
    from swapnas.bundle import resolve_data_dir, user_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "swapnas" / "data").mkdir(parents=True)
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("SWAPNAS_DATA", str(tmp_path / "env"))
    assert user_data_dir().is_dir()  # what "" fell back to
    with pytest.raises(ValueError, match="data_dir='' is empty: give the bundle's folder, or None for"):
        resolve_data_dir("")  # refused, as the command line refuses it


# --- 5. XDG_DATA_HOME relative ------------------------------------------------------------------------------------

def test_relative_xdg_data_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """XDG Base Directory spec: "If an implementation encounters a relative path in any of these variables it should
    consider the path invalid and ignore it." user_data_dir() made it relative to the current folder."""
    from swapnas.bundle import user_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_data_dir() == tmp_path / ".local" / "share" / "swapnas" / "data"


# --- 6. the device scores were made on is missing from grid.json / search result.json ---------------------------------

@pytest.mark.bundle
def test_grid_json_records_the_device(tmp_path: Path) -> None:
    """correlate's results.json and conformance.json record provenance.device ("device cpu" in report.md too); the
    grid's grid.json did not, so a `--device auto` grid does not say whether its scores came from a CPU or a GPU
    (metrics summed in floating point differ in the last digits between them: docs/protocol.md)."""
    out = tmp_path / "g"
    code = main(["grid", "--benchmarks", "nb201", "--tasks", "cifar10", "--proxies", "params", "--archs", "4",
                 "--workers", "1", "--device", "cpu", "--data-dir", str(_real_bundle()), "--out", str(out), "-q"])
    assert code == 0
    prov = json.loads((out / "grid.json").read_text(encoding="utf-8"))["provenance"]
    assert prov.get("device") == "cpu", prov


@pytest.mark.bundle
def test_search_result_records_the_device(tmp_path: Path) -> None:
    """As above, for `swapnas search` (result.json's provenance has no device; a search resumed on another device
    mixes both, docs/search.md 'Resume')."""
    out = tmp_path / "s"
    code = main(["search", "--fitness", "params", "--population", "3", "--sample", "2", "--mutations", "1",
                 "--cycles", "0", "--workers", "1", "--device", "cpu", "--data-dir", str(_real_bundle()),
                 "--out", str(out), "-q"])
    assert code == 0
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["provenance"].get("device", doc.get("device")) == "cpu", doc["provenance"]
