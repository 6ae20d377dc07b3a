"""``swapnas store merge``: the scores of several stores (e.g. grid shards run on machines without a shared file
system) gathered into one (out of :mod:`swapnas.store_tools` in session 57)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .code_changes import running_form
from .store import ScoreStore, unrecorded_names
from .store_files import (StoreError, another_kind_error, connect_read_only, connect_reader, damaged_advice,
                          existing_store, given_as, rows_of_another_kind, rows_of_unreadable_values)
from .store_tools import _closing, _scan


@dataclass
class Merge:
    """What ``swapnas store merge`` did: every source row was added, replaced a failure, or was kept out."""

    into: str
    sources: list[str]
    added: int  # rows (scores and failures) new to INTO
    replaced: int  # failures of INTO that a source's score replaced
    kept: int  # rows INTO had already: a score, or a failure beside a source's failure
    differing: int  # of those kept, scores a source gives another value (INTO's stays)
    protocols: int  # protocols INTO holds now
    #: metrics and networks (``swap@1``, ``net:nb201@1``) a source records other code for than INTO (or an earlier
    #: source) does: INTO keeps the first, so a run whose code differs from it warns (session 55); a metric's merged
    #: only with ``mixed_code`` (session 61: by default the merge is refused; a network's is noted)
    other_code: list[str] = field(default_factory=list)
    #: those a source holds scores under without recorded code (made before stores recorded it) where INTO records
    #: code: INTO's record now stands for them (session 57)
    unknown_code: list[str] = field(default_factory=list)


def merge_stores(sources: list[str | os.PathLike], into: str | os.PathLike, mixed_code: bool = False) -> Merge:
    """Copy every score, failure and protocol of the stores ``sources`` (only read) into the store ``into`` (made if
    missing) by the rule of a run's own writes, except that a stored score stays: a key new to ``into`` is added, a
    failure there gives way to a source's score, and a score there is kept (one a source gives another value is
    counted in ``differing``). In one transaction per source: an interrupted merge leaves whole sources. The rows
    are read as they are copied, each checked against INTO by its key (session 58: every row of INTO and of each
    source was held in memory, 3.5 GiB for two stores of 1.5M rows). A source that records other code for a metric than
    INTO or an earlier source does is refused before anything is written, unless ``mixed_code`` (session 61: the
    merged store kept one code record, so a later run mixed two codes' values without a warning)."""
    paths, dest = [existing_store(s) for s in sources], Path(into)
    if not paths:
        raise StoreError("store merge needs at least one source store")
    same = [str(p) for p in paths if dest.exists() and p.resolve() == dest.resolve()]
    if same or len({p.resolve() for p in paths}) < len(paths):
        raise StoreError(f"{(same or [str(paths[-1])])[0]} is given twice (as a source, or as a source and --into): "
                         "name each store once")
    for path in paths:
        try:
            with ScoreStore(path, read_only=True):  # refuses what is not a healthy swapnas store, before any write
                pass
            with _closing(connect_read_only(path)) as db:  # (session 68: a BLOB name ended the merge in a TypeError,
                if wrong := rows_of_another_kind(db) + rows_of_unreadable_values(db):  # values no list spoilt INTO)
                    raise another_kind_error(path, wrong)
        except StoreError as exc:  # a source is an argument, not a run's --store
            raise given_as(exc, None) from exc
    n = ScoreStore.COLUMNS.index("status")  # a row: its key's n columns, then status, value, …
    try:
        if not mixed_code:  # before INTO is made or written
            _refuse_other_code(_recorded_code(dest), paths, str(dest))
        into_store = ScoreStore(dest)
    except StoreError as exc:  # the store's messages name --store, a run's flag: here the flag is --into
        raise given_as(exc, "--into") from exc
    try:
        return _merge_into(into_store, paths, n)
    except _SourceError:  # named as the source's by _read
        raise
    except StoreError as exc:  # INTO's own errors name its flag, --into (session 59: "give another --store")
        raise given_as(exc, "--into") from exc


def _merge_into(into_store: ScoreStore, paths: list[Path], n: int) -> Merge:
    """The sources' rows into the open store INTO, each source in one transaction."""
    added = replaced = kept = differing = 0
    dest = into_store.path
    with into_store as out:
        codes = out.recorded_code()
        running: dict[str, tuple[str | None, str | None]] = {}
        other_code: set[str] = set()
        unknown: set[str] = set()
        for i, path in enumerate(paths):
            # a sound store (opened above): its -shm/-wal files go
            with _naming_merged(paths[:i], dest), _closing(connect_reader(path)) as db:
                protocols = db.execute("SELECT fingerprint, description FROM protocols").fetchall()
                theirs, _ = _scan(db, "proxy_code", ("proxy", "digest", "created"))
                unknown |= set(unrecorded_names(db, [name for name, _, _ in theirs])) & set(codes)
                other_code |= _other_code(codes, theirs, running)
                codes.update({name: (digest, t) for name, digest, t in theirs if name not in codes})
                seen = [0, 0]  # rows read; scores INTO holds with another value

                def compared(rows: Iterator[tuple]) -> Iterator[tuple]:
                    for r in _read(rows, path):
                        seen[0] += 1
                        if r[n] == "ok" and (had := out.status_of(r[:n])) is not None and had[0] == "ok" \
                                and had[1] != r[n + 1]:
                            seen[1] += 1
                        yield r

                cur = db.execute(f"SELECT {', '.join(ScoreStore.COLUMNS)} FROM scores")
                a, b = out.insert_rows(compared(cur), protocols, over_failures=True, codes=theirs)
            added, replaced, kept, differing = added + a, replaced + b, kept + seen[0] - a - b, differing + seen[1]
        return Merge(str(dest), [str(p) for p in paths], added, replaced, kept, differing, len(out.protocols()),
                     sorted(other_code), sorted(unknown))


def _recorded_code(path: Path) -> dict[str, tuple[str, float]]:
    """The code records of the store at ``path``; none where there is no store yet, or an empty file or a folder
    (the store's own opening then says what it is: the review of session 61)."""
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    with ScoreStore(path, read_only=True) as store:
        return store.recorded_code()


def _other_code(codes: dict[str, tuple[str, float]], theirs: list[tuple], running: dict) -> set[str]:
    """The names a source's code records (``theirs``) give other code than ``codes`` does: their digests differ, also
    read in now's form (:func:`~swapnas.code_changes.running_form`, asked only where they differ as recorded: it
    parses the running code)."""
    return {name for name, digest, _ in theirs if name in codes and codes[name][0] != digest
            and running_form(name, codes[name][0], running) != running_form(name, digest, running)}


def _refuse_other_code(codes: dict[str, tuple[str, float]], paths: list[Path], into: str) -> None:
    """StoreError naming the first source that records other code for a metric than INTO or an earlier source does
    (``codes``: INTO's records), before anything is written. A network's code (``net:…``) is left to the note after
    the merge, as before: the digest stores recorded until session 62 differs between Python 3.11 and 3.12 for the
    same code (``ast.unparse`` writes f-strings otherwise; the review of session 61), and shards run under both would
    be refused. A record in that older form that is the running code's counts as the running code's in now's form
    (:func:`~swapnas.code_changes.running_form`: shards made before and after session 62 merge)."""
    running: dict[str, tuple[str | None, str | None]] = {}
    for i, path in enumerate(paths):
        with _closing(connect_reader(path)) as db:
            theirs, _ = _scan(db, "proxy_code", ("proxy", "digest", "created"))
        if other := sorted(name for name in _other_code(codes, theirs, running) if not name.startswith("net:")):
            than = into if i == 0 else f"{into} or {', '.join(map(str, paths[:i]))}"
            raise StoreError(f"{path} records other metric code for {', '.join(other)} than {than}: merged, their "
                             "scores would stand under one code record and a later run would mix the two codes' values "
                             "without a warning; nothing was merged. Score those archs again with one code, merge "
                             "into a store of its own, or, if the code change left the values as they were, pass "
                             "--mixed-code (the first record is kept, and a run whose code differs from it warns; also "
                             "where one swapnas's stores recorded its code in two forms, before and after session 62, "
                             "and that code has changed since)")
        codes.update({name: (digest, t) for name, digest, t in theirs if name not in codes})


@contextmanager
def _naming_merged(merged: list[Path], into: str) -> Iterator[None]:
    """A StoreError raised in the block names the sources merged before it (session 60: it did not say)."""
    try:
        yield
    except StoreError as exc:
        if not merged:
            raise
        raise type(exc)(f"{exc}. Merged into {into} before it, each whole: {', '.join(map(str, merged))}; the merge "
                        f"can be run again with every source (what {into} holds is kept)") from exc


class _SourceError(StoreError):
    """A source store that could not be read (not INTO's error: its message names the source)."""


def _read(rows: Iterator[tuple], path: Path) -> Iterator[tuple]:
    """A source's rows; an SQLite error reading them is the source's, named so (it is raised while INTO is written)."""
    try:
        yield from rows
    except sqlite3.DatabaseError as exc:
        raise _SourceError(f"the source store {path} could not be read to the end ({exc}); nothing of it was "
                           f"merged: {damaged_advice(path, fresh=False)}, then merge the salvaged store") from exc


def merge_text(m: Merge) -> str:
    """``swapnas store merge``'s lines."""
    lines = [f"merged {len(m.sources)} store{'' if len(m.sources) == 1 else 's'} into {m.into}: {m.added} rows added, "
             f"{m.replaced} failures replaced by scores, {m.kept} already there; {m.protocols} protocol"
             f"{'' if m.protocols == 1 else 's'}"]
    if m.differing:
        lines.append(f"  {m.differing} score(s) a source gives another value were kept as {m.into} had them "
                     "(other code or hardware made them: `swapnas export` both to compare)")
    if m.other_code:
        lines.append(f"  the sources' scores of {', '.join(m.other_code)} were made by other code than {m.into} "
                     "records (it keeps the first: a run whose code differs from it warns)")
    if m.unknown_code:
        lines.append(f"  the sources' scores of {', '.join(m.unknown_code)} were made before stores recorded code: "
                     f"the code {m.into} records now stands for them, unchecked (to check them, score them again "
                     "into a new --store and `swapnas export` both)")
    return "\n".join(lines)


__all__ = ["Merge", "merge_stores", "merge_text"]
