"""Session 66 audit of what a run leaves behind (each test failed on the code as found, 6ab5333): a read-only open of
a file that is no store kept it open while its error was kept; a failed ``run_train`` kept its DataLoader workers
running while its error was kept; a damaged image read by a DataLoader worker was said with the worker's whole
traceback (one line with ``workers=0``).
"""

from __future__ import annotations

import gc
import os
import time
import warnings
from pathlib import Path

import pytest

#: a small DARTS genotype (tests/test_audit65_parity.py's)
GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def _open_paths() -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return out


def _children() -> list[int]:
    """Live (not zombie) child processes of this process, from /proc."""
    me, kids = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            kids.append(int(pid))
    return kids


# --- 1. ScoreStore(read_only=True) of a file that is not SQLite keeps the file open with its exception -----------

@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("content", [b"not a database" * 100, b"\0" * 4096], ids=["text", "zeros"])
def test_a_read_only_open_of_a_non_sqlite_file_holds_no_handle_on_it_after_the_error(tmp_path, content):
    """connect_reader and connect_read_only close their connection on OperationalError only; "file is not a
    database" is a DatabaseError, so the connection stays open in the raising frame, held by the exception's
    traceback (a notebook keeps the last one in sys.last_value: the file stays open, on Windows locked). The
    writable open closes it (ScoreStore.__init__'s except BaseException)."""
    from swapnas.store import ScoreStore
    from swapnas.store_files import StoreError

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(content)
    kept = None
    try:
        ScoreStore(junk, read_only=True)
    except StoreError as exc:
        kept = exc  # as a notebook keeps the last error
    assert kept is not None
    assert str(junk) not in _open_paths()


# --- 2. run_train's DataLoader workers outlive a failed run while its exception lives; their message ---------------

def image_folder_at(root: Path) -> Path:
    """An ImageNet-style folder (train/<class>/, val/<class>/) of small random images at ``root``."""
    np = pytest.importorskip("numpy")
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 2)):
        for cls in ("n01", "n02"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
                image.fromarray(pixels).save(root / split / cls / f"{i}.JPEG")
    return root


@pytest.fixture(scope="module")
def bad_image_folder(tmp_path_factory):
    """An ImageNet-style folder with one file that is no image, found mid-epoch."""
    root = image_folder_at(tmp_path_factory.mktemp("imnet"))
    (root / "train" / "n02" / "zz_bad.JPEG").write_text("not an image")
    return root


def children_left(before: set[int], wait: float = 5.0) -> set[int]:
    """The child processes beside ``before`` still alive after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while set(_children()) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    return set(_children()) - before


def _failed_train(root: Path, out: Path, workers: int) -> BaseException:
    from swapnas.train.run import run_train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            run_train(GENOTYPE, recipe="imagenet", out=out, data_root=root, epochs=1, C=4, layers=2, batch_size=4,
                      workers=workers, progress=False, lines=False, device="cpu")
        except Exception as exc:  # noqa: BLE001 - the error under test
            return exc
    raise AssertionError("run_train did not fail on a folder holding a file that is no image")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_failed_train_leaves_no_dataloader_worker_running_while_its_error_is_kept(bad_image_folder, tmp_path):
    """A damaged image met mid-epoch with --workers N: the DataLoader's N worker processes (each a torch process)
    stay alive as long as the exception is referenced, since its traceback holds _source's frame and with it the
    DataLoader iterator. In a notebook the last error is kept (sys.last_value) until the next one: N idle processes
    per failed run_train. They end only when the exception is dropped (the iterator's __del__)."""
    before = set(_children())
    kept = _failed_train(bad_image_folder, tmp_path / "t", workers=2)
    assert "zz_bad.JPEG" in str(kept)
    left = children_left(before)
    del kept
    gc.collect()
    assert not left, f"{len(left)} DataLoader worker process(es) still running after run_train raised"


def test_a_damaged_image_is_reported_alike_with_and_without_dataloader_workers(bad_image_folder, tmp_path):
    """--workers 0: "swapnas: error: cannot identify image file '…/zz_bad.JPEG'" (one line). --workers N (the
    default is 4): torch's "Caught UnidentifiedImageError in DataLoader worker process 0.\\nOriginal Traceback
    (most recent call last): …" — a 15-line traceback printed as the command's error message."""
    alone = str(_failed_train(bad_image_folder, tmp_path / "t0", workers=0))
    pooled = str(_failed_train(bad_image_folder, tmp_path / "t2", workers=2))
    assert "Traceback" not in pooled and "DataLoader worker" not in pooled, pooled
    assert pooled == alone
