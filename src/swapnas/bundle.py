"""The data bundle's location and the input-batch record: the lowest layer of the data modules.

``resolve_data_dir`` / ``require_file`` find the swapnas data bundle (``--data-dir``, else
``$SWAPNAS_DATA``, else the user default :func:`user_data_dir`) and its files with errors that say where they come from; ``Batch`` is the
normalised input batch every metric is scored on. :mod:`swapnas.taskonomy` and
:mod:`swapnas.data` build batches on top of this module (``swapnas.data`` re-exports what its callers use:
``Batch``, ``resolve_data_dir``, ``require_file``, ``read_npz`` …).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

DATA_ENV = "SWAPNAS_DATA"
#: the image files a class folder is read for (torchvision's ImageFolder reads the same; others are skipped)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"})
DATA_ORIGIN = (
    "the swapnas shared data bundle (shared/data, see its SOURCES.md); point --data-dir "
    f"or ${DATA_ENV} at that folder itself (the one with SOURCES.md, e.g. ../shared/data), or copy it to the user "
    "default folder"
)


def user_data_dir() -> Path:
    """The user default bundle folder: ``$XDG_DATA_HOME/swapnas/data`` (``~/.local/share/swapnas/data``)."""
    base = os.environ.get("XDG_DATA_HOME", "")  # a relative one is ignored, as the XDG spec says (session 67)
    return (Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share") / "swapnas" / "data"


@dataclass(frozen=True)
class Batch:
    """An input batch with its targets, their loss and provenance: normalised images (S, 3, H, W), or token ids
    (S, L) of a GLUE task (``tokens.token_batch``).

    ``targets`` are integer labels (S,) — or (S, H, W) for dense labels, (S, L) for masked tokens (-100 where a
    token is not scored) — with ``loss="ce"``, or float tensors of the model output's shape with
    ``loss="mse"``/``"l1"``; ``num_classes`` is the output size the network is built with (classes, the vocabulary
    for masked tokens, or channels / dimensions for regression targets). ``dataset`` names the data, ``source``
    where the inputs came from (a file of the bundle, your ``--image-root``, synthetic noise), ``n_real`` how many
    of the S are real samples (the rest filled, ``--fill``; 0 for synthetic inputs), ``note`` what a report should
    say of them (labels mapped, images filled).
    """

    inputs: torch.Tensor  # from swapnas.score also a tuple/list/dict of tensors (a multi-input model)
    targets: torch.Tensor
    num_classes: int
    dataset: str
    source: str
    n_real: int
    note: str = ""
    loss: str = "ce"

    @property
    def digest(self) -> str:
        """Hash of the exact input tensor and labels: enters the protocol fingerprint."""
        h = hashlib.sha256(self.inputs.detach().cpu().contiguous().numpy().tobytes())
        t = self.targets.detach().cpu()
        if t.is_floating_point():
            h.update(t.contiguous().numpy().tobytes())
        else:
            h.update(t.numpy().astype(np.int64).tobytes())
        if self.loss != "ce":
            h.update(self.loss.encode())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:  # (session 66: the tensors' values, 12,000 characters at a notebook cell's end)
        def shape(t: object) -> str:
            return f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}" if isinstance(t, torch.Tensor) \
                else type(t).__name__
        return (f"Batch({self.dataset}: inputs {shape(self.inputs)}, targets {shape(self.targets)}, "
                f"{self.num_classes} classes, loss {self.loss}, {self.n_real} real, from {self.source}"
                + (f"; {self.note}" if self.note else "") + ")")

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """The batch with ``fn`` applied to every input tensor (a tuple/list/dict of them too: ``swapnas.score``)
        and to the targets."""
        x = self.inputs
        if isinstance(x, Mapping):
            x = {k: fn(v) for k, v in x.items()}
        elif isinstance(x, (tuple, list)):
            x = type(x)(fn(v) for v in x)
        else:
            x = fn(x)
        return Batch(x, fn(self.targets), self.num_classes, self.dataset, self.source, self.n_real, self.note,
                     self.loss)

    def to(self, device: torch.device | str) -> Batch:
        """The batch on ``device``."""
        return self.map(lambda t: t.to(device))


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else ``$SWAPNAS_DATA``, else :func:`user_data_dir` if it exists; the
    error says how to set one."""
    if isinstance(data_dir, str) and not data_dir.strip():  # (session 67: "" skipped $SWAPNAS_DATA)
        raise ValueError(f"data_dir={data_dir!r} is empty: give the bundle's folder, or None for ${DATA_ENV} or "
                         f"{user_data_dir()}")
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_ENV)
    if not chosen and user_data_dir().is_dir():
        chosen = user_data_dir()
    if not chosen:
        raise FileNotFoundError(f"no data directory given: pass --data-dir DIR, set ${DATA_ENV}, or put the bundle "
                                f"at {user_data_dir()}; the bundle is {DATA_ORIGIN}")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        where = "" if path.is_absolute() else (f" (looked for {path.resolve()}: a relative path is read from the "
                                               "folder the command runs in)")
        what = "is a file, not a folder" if path.exists() else "does not exist"  # session 52: a file "did not exist"
        raise FileNotFoundError(f"data directory {path} {what}{where}; it should hold {DATA_ORIGIN}")
    return path


class DataFileError(ValueError):
    """A data file exists but cannot be read: damaged, truncated, or not the file expected there."""


def damaged(path: str | os.PathLike, origin: str, detail: str) -> DataFileError:
    """The error for a data file that cannot be read: the file, what is wrong, and where it comes from."""
    return DataFileError(f"{path}: {detail}; the file is damaged, truncated or not the expected one "
                         f"(it comes from {origin}: restore it from there)")


def read_json(path: str | os.PathLike, origin: str = DATA_ORIGIN) -> Any:
    """The JSON document in ``path``; a truncated or invalid file raises :class:`DataFileError`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise damaged(path, origin, f"invalid JSON ({exc})") from None


@contextmanager
def parsing(path: str | os.PathLike, origin: str = DATA_ORIGIN) -> Iterator[None]:
    """Errors raised while reading values out of ``path`` (a bad number, a missing key or column)
    re-raised as :class:`DataFileError` naming the file and its origin."""
    try:
        yield
    except DataFileError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, csv.Error) as exc:
        detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise damaged(path, origin, f"bad content ({type(exc).__name__}: {detail})") from None


def require_file(data_dir: Path, relative: str, origin: str = DATA_ORIGIN) -> Path:
    """The path of a data file, or an error naming the file, the folder searched and its origin."""
    path = data_dir / relative
    if not path.is_file():
        inside = next((d for d in (data_dir / "data", data_dir / "shared" / "data") if (d / relative).is_file()), None)
        hint = f"; did you mean --data-dir {inside} (the bundle folder itself, with SOURCES.md)?" if inside else ""
        raise FileNotFoundError(f"missing data file {relative!r} (searched in {data_dir}); it comes from {origin}{hint}")
    return path


def read_npz(path: Path, keys: tuple[str, ...], origin: str = DATA_ORIGIN) -> tuple[np.ndarray, ...]:
    """The arrays ``keys`` of the .npz at ``path``; a damaged archive or a missing array raises
    :class:`DataFileError` naming the file (not numpy's misleading "allow_pickle" message)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise damaged(path, origin, f"no array {', '.join(map(repr, missing))} (it holds "
                                            f"{', '.join(z.files) or 'none'})")
            return tuple(z[k] for k in keys)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataFileError):
            raise
        raise damaged(path, origin, "not a readable .npz archive of images") from None


class _DataUnpickler(pickle.Unpickler):
    """An unpickler of data alone: the plain types and numpy arrays; any other global a pickle names (a callable that
    would run as it loads: session 67's audit, a downloaded folder's ``os.system``) is an UnpicklingError."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"), ("numpy", "ndarray"),
               ("numpy", "dtype"), ("_codecs", "encode"), ("numpy.core.numeric", "_frombuffer"),
               ("numpy._core.numeric", "_frombuffer")}  # (protocol 5's arrays: the review of session 67)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a data file has no need of: refused, as "
                                         "it could run code")
        return super().find_class(module, name)


def read_pickle(path: Path, keys: tuple[str, ...], origin: str = "your --image-root") -> dict:
    """A CIFAR / ImageNet16-style pickle's dict; a truncated or foreign file, or one without ``keys``, raises a
    DataFileError naming it and ``origin`` (where it comes from). Scoring's --image-root and ``swapnas train`` read
    their pickles here."""
    try:
        with open(path, "rb") as f:
            d = _DataUnpickler(f, encoding="latin1").load()
        if not isinstance(d, dict):
            raise TypeError(f"it holds a {type(d).__name__}, not a dict of data and labels")
        missing = [k for k in keys if k not in d]
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError) as exc:
        raise damaged(path, origin, f"not a readable pickle ({type(exc).__name__}: {exc})") from None
    if missing:
        raise damaged(path, origin, f"the pickle has no {', '.join(missing)} (it has "
                      f"{', '.join(map(str, list(d)[:10])) or 'nothing'})")
    return d
