"""A search's saved state, ``OUT/state.json`` (out of :mod:`.driver` in session 61): written atomically after every
cycle, read back to resume, refused where it was saved by another search (space, fitness or constraints), and the
second stage's seconds kept beside it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..scoring import protocol_changes
from .evolution import Evolution, UnreadableState


def _save(path: Path, doc: dict) -> None:
    """Write ``doc`` atomically (:func:`~swapnas.files.write_atomic`): a crash leaves the previous state intact."""
    try:
        write_atomic(path, lambda f: f.write(json.dumps(doc).encode()))
    except OSError as exc:
        raise ValueError(f"cannot write the search state {path} ({exc.strerror or exc}); every score so far is "
                         "in the store: free space or fix the folder, then rerun the same command to resume "
                         "from the last saved cycle") from exc


#: the parts of a search timed once and saved in its state, so that a rerun reports the first process's seconds
TIMED_PARTS = {"stage2": "the second stage", "size_mapping": "the --target-params mapping (session 70)"}


def _saved_seconds(state_path: Path, stage_key: str, spent: float, part: str = "stage2") -> float:
    """A timed part's seconds (:data:`TIMED_PARTS`: "stage2", the second stage's; "size_mapping", the
    ``--target-params`` mapping's, session 70, when this was ``_stage2_seconds``):
    those saved in the state by the process that first did it under the same settings (``stage_key``: a rerun of a
    finished search reports the time it took, and rewrites the same figures), else ``spent``, saved."""
    assert part in TIMED_PARTS, part
    saved = json.loads(state_path.read_text(encoding="utf-8"))
    done = saved.get(part)
    if isinstance(done, dict) and done.get("key") == stage_key and type(done.get("seconds")) in (int, float):
        return float(done["seconds"])
    _save(state_path, {**saved, part: {"key": stage_key, "seconds": spent}})
    return spent


def timed_mapping(state_path: Path, mapping: dict | None) -> dict | None:
    """The ``--target-params`` mapping with the seconds of the process that first made it (:func:`_saved_seconds`,
    keyed by the mapping's other fields; session 70: every rerun added its own)."""
    if mapping is None or "seconds" not in mapping:
        return mapping
    key = repr(sorted((k, v) for k, v in mapping.items() if k != "seconds"))
    return {**mapping, "seconds": _saved_seconds(state_path, key, mapping["seconds"], "size_mapping")}


def _damaged_state(state_path: Path, exc: Exception) -> ValueError:
    what = ("written by another version of swapnas, or damaged" if isinstance(exc, UnreadableState) else "damaged")
    return ValueError(f"the search state {state_path} is {what} ({type(exc).__name__}: {exc}); it holds only the "
                      "search's progress (every score is in the store): delete it to restart the search (same "
                      "settings: the same trajectory, every stored score reused), or restore it from a backup")


#: the search's fitness identity (``fitness_id`` of :func:`run_search`) → the flags that set each part
FITNESS_FLAGS = {"space": "--space", "proxy": "--fitness",
                 "size_prior": "the size prior (--mu/--sigma, --target-params, --prior)",
                 "protocol": "the scoring protocol", "net": "--net", "batch_size": "--batch-size",
                 "repeats": "--repeats", "score_seed": "--score-seed", "max_params": "--max-params",
                 "max_macs": "--max-macs", "constraints": "--max-params/--max-macs"}


def _flagged(fitness_id: dict) -> dict:
    """A fitness identity with its constraints, ``[max_params, max_macs]``, as two parts, each shown with its flag
    (the refusal said "--max-params/--max-macs [None, None] (now [3.5, None])" until session 54)."""
    out = dict(fitness_id)
    if isinstance(out.get("constraints"), list) and len(out["constraints"]) == 2:
        out["max_params"], out["max_macs"] = out.pop("constraints")
    return out


def fitness_mismatch(state_path: Path, saved: Any, mine: dict, protocols: dict[str, dict] | None = None) -> str | None:
    """Why the search saved at ``state_path`` (fitness identity ``saved``) is not this one (None: it is), each part
    that differs with its flag; a scoring protocol by the parts that differ where ``protocols`` (fingerprint →
    description: the store's and this search's) has both."""
    if isinstance(saved, dict) and "space" not in saved:  # saved before the space was part of it (session 61)
        mine = {k: v for k, v in mine.items() if k != "space"}
    if saved == mine:
        return None
    if isinstance(saved, dict):
        saved, mine = _flagged(saved), _flagged(mine)
        if saved.get("space") != mine.get("space"):  # the rest follows from it (session 61: "--net …, --repeats …")
            saved, mine = ({"space": d.get("space")} for d in (saved, mine))
    known = protocols or {}

    def change(k: str) -> str:
        both = k == "protocol" and isinstance(saved.get(k), str) and saved[k] in known and mine.get(k) in known
        return (protocol_changes(known[saved[k]], known[mine[k]]) if both else "") or \
            f"{FITNESS_FLAGS.get(k, k)} {saved.get(k)!r} (now {mine.get(k)!r})"
    what = f"{saved!r}" if not isinstance(saved, dict) else ", ".join(
        change(k) for k in [*mine, *(k for k in saved if k not in mine)] if saved.get(k) != mine.get(k))
    return f"{state_path} holds a search with another fitness or constraints: {what}; use another --out folder or " \
        "the same settings"


def _resume(ea: Evolution, state_path: Path, fitness_id: dict, protocols: dict[str, dict] | None = None) -> float:
    """Load the saved search state into ``ea`` (none: a new search); the seconds the earlier processes
    spent in the search loop (0 for a state written before they were kept). ``protocols``: as in
    :func:`fitness_mismatch`."""
    if not state_path.is_file():
        return 0.0
    try:
        saved = json.loads(state_path.read_text(encoding="utf-8"))
        fitness, state, seconds = saved.get("fitness"), saved["ea"], saved.get("seconds", 0.0)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:  # bad JSON/UTF-8, not a state
        raise _damaged_state(state_path, exc) from exc
    if (why := fitness_mismatch(state_path, fitness, fitness_id, protocols)) is not None:
        raise ValueError(why)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        raise _damaged_state(state_path, ValueError(f"seconds {seconds!r} is not a number of seconds"))
    try:
        ea.load_state_dict(state)
    except (KeyError, TypeError, IndexError, AttributeError, UnreadableState) as exc:
        raise _damaged_state(state_path, exc) from exc
    return float(seconds)
