"""``swapnas export``: a score store as CSV, or in NASLib's zero-cost JSON layout.

- ``csv``: one row per stored score (failures included) with every key column, so the store
  can be read without SQLite: ``space`` (the space the archs are of: ``darts`` for NB301 and ``darts_swap``),
  ``arch``, ``proxy`` (``name@version[options]``), ``protocol`` (its fingerprint; ``swapnas store check`` describes
  it), ``seed``, ``batch_size`` (S), ``repeats`` (R), ``net`` (JSON), ``status`` (``ok`` / ``failed``), ``value``
  (the mean over the repeats), ``std`` (their population std), ``values_json`` (each repeat's value), ``seconds``
  (per arch: the passes of all repeats, builds left out since session 70; a derived proxy's includes its bases'),
  ``peak_mem_bytes`` (on a GPU the allocator's peak above its
  level at the start; on the CPU the growth of the C heap in use (glibc's ``mallinfo2``) sampled every 10 ms, a
  lower bound; with another C library, and in scores stored before session 70, the resident set's growth, which a
  process that already holds the memory shows as 0),
  ``error``, ``device``, ``created`` (Unix time), and ``dataset`` (the protocol's dataset or task; empty where the
  store lacks the protocol's row; since session 52).
- ``naslib-zc``: ``{"provenance": …, space: {dataset: {arch: {proxy: {"score": value, "time": seconds}}}}}``:
  under each space, the layout of NASLib's ``zc_<space>.json`` files (``doc["nb201"]`` saved alone is one: its
  top-level keys are datasets, or TransNAS tasks, in NASLib's spelling, e.g. ``ImageNet16-120``; since session 52,
  which added the dataset level; ``doc["nb101"]`` has NASLib's ``nasbench101`` above them and each score alone, no
  time, as its ``zc_nasbench101.json``, since session 62); arch keys in NASLib's encoding where the space has one
  (``to_naslib``: NB201's op-index tuple such as ``"(0, 2, 3, 2, 3, 1)"``, NB101's, DARTS's and TransNAS's; an arch
  NASLib cannot encode, such as a DARTS genotype with a ``none`` op, keeps our string); proxies by NASLib's names
  where they differ (``jacov`` for ``jacob_cov``; NASLib's ``fisher`` is our ``fisher_fanin``, and ours is written
  ``fisher_swapnas``) and values as NASLib stores them (``synflow``'s log). The records hold no ``val_accuracy`` (NASLib's do), and
  ``params`` and ``flops`` are counts of the scored network, not NASLib's millions of the benchmark's network. A
  (space, dataset) holds scores of one setting (fingerprint, seed, S, R, network; since session 54) and one key per
  metric (version and options; since session 62), described in the file's ``provenance`` (``settings``) with these
  ``conventions``. Two stored archs that
  NASLib's encoding writes alike (a DARTS genotype's concat is not encoded) are refused. A failed score is written
  ``-1e8`` (synflow: its log), as NASLib's code writes it, the worst value (``+1e8`` for ``te_nas_ntk``, where lower
  is better), where its setting is the dataset's (until session 55 it was left out: the arch had no entry for that
  metric); when one (space, dataset, arch, proxy) was stored under several settings (protocol, seed,
  batch, repeats, network, proxy version and options), it refuses, naming what differs; ``--protocol`` keeps one
  protocol fingerprint (in both formats; a dataset name, in our spelling or NASLib's, picks the store's only
  fingerprint of that dataset). A fingerprint covers the batch (so S) but not R or the network: a search's two
  stages under one S, or runs of other ``--repeats``, share one, which ``--protocol`` cannot split (csv has every
  row); a search's stages of two S (NB201's and DARTS's defaults) are two fingerprints, one exported at a time.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import IO, BinaryIO

from .errors import printable
from .files import write_atomic
from .out_checks import refuse_export_target
from .results import provenance, strict_json
from .conformance import NASLIB_FAILED, NASLIB_TO_OURS, SOURCES
from .proxies import get_proxy, list_proxies
from .scoring import fingerprinted
from .spaces import SPACES, get_space
from .store import ScoreStore, StoreError
from .store_files import (another_kind_error, connect_reader, given_as, is_sqlite, json_problem,
                          rows_of_another_kind)


FORMATS = ("csv", "naslib-zc")


def _arch_key(space: str, arch: str) -> str:
    mod = get_space(space) if space in SPACES else None
    to_naslib = getattr(mod, "to_naslib", None)
    if mod is None or to_naslib is None:
        return arch
    try:
        return to_naslib(mod.parse(arch))
    except ValueError:  # an arch NASLib cannot encode (e.g. a DARTS 'none' op): our string
        return arch


#: what makes two stored scores of one (space, arch) differ besides the arch: the proxy's key (name,
#: version, options) and the scoring setting (protocol fingerprint, seed, batch, repeats, network)
SETTING = ("proxy", "protocol", "seed", "batch_size", "repeats", "net")


#: what a NASLib zc file holds once per dataset: the setting every score under one (space, dataset) shares
PER_DATASET = ("protocol", "seed", "batch_size", "repeats", "net")


def _values(row: dict) -> tuple:
    """``row``'s :data:`SETTING`."""
    return tuple(row[k] for k in SETTING)


def _setting(row: dict, keys: tuple[str, ...] = SETTING) -> str:
    return ", ".join(f"{k} {row[k]}" for k in keys)


def _scored_with(store: ScoreStore) -> dict[str, str]:
    """Each protocol fingerprint's scoring settings in ``store`` (not part of a fingerprint), e.g. ``S=16, R=1, net
    {"C": 16, "N": 1}``; a fingerprint scored under several (a search's two stages) lists each."""
    settings: dict[str, dict[tuple, None]] = {}
    for fp, *setting in store.distinct("protocol", "batch_size", "repeats", "net"):
        settings.setdefault(fp, {})[tuple(setting)] = None
    return {fp: " and ".join(f"S={b}, R={k}, net {n}" for b, k, n in sorted(s, key=str)) for fp, s in settings.items()}


def _named(fingerprints: list[str], protocols: dict[str, dict], scored: dict[str, str] | None = None) -> str:
    """Each fingerprint with what tells it apart, e.g. ``9c55e00a644d8a46 (cifar100)``: the dataset, and the other
    fingerprinted parts where two share a dataset, and then the settings ``scored`` under them where theirs differ
    (a batch digest alone does not say which run made a fingerprint; S, R and the network do)."""
    parts = {fp: fingerprinted(protocols.get(fp, {})) for fp in fingerprints}
    scored = scored or {}
    out = []
    for fp in fingerprints:
        mine = parts[fp]
        twins = [f for f, p in parts.items() if f != fp and p.get("dataset") == mine.get("dataset")]
        what = [str(mine["dataset"])] if "dataset" in mine else []
        # the twins share the dataset, so it is never among what differs
        what += [f"{k} {mine[k]}" for k in sorted(mine) if any(parts[t].get(k) != mine[k] for t in twins)]
        if fp in scored and any(scored.get(t) != scored[fp] for t in twins):
            what.append(f"scored at {scored[fp]}")
        out.append(f"{fp} ({', '.join(what)})" if what else fp)  # a store without its protocols table's row
    return ", ".join(out)


def _fix(first: dict, other: dict, protocols: dict[str, dict], scored: dict[str, str] | None = None,
         keys: tuple[str, ...] = SETTING) -> str:
    """How to export one of two settings of one (arch, proxy): ``--protocol`` where their fingerprints differ;
    else what differs (a search stores its two stages under one fingerprint, with another net and repeats)."""
    if first["protocol"] != other["protocol"]:
        return f"choose one with --protocol: {_named([first['protocol'], other['protocol']], protocols, scored)}"
    diff = [k for k in keys if first[k] != other[k]]
    what = " and ".join(f"{k} ({first[k]} / {other[k]})" for k in diff)
    return (f"they differ in {what} under one protocol fingerprint (R and the network are not part of it: a "
            f"search's two stages under one S, or runs of other --repeats, share one), which "
            f"--protocol cannot choose: use --format csv, which keeps every row with its {' and '.join(diff)} "
            f"column{'s' if len(diff) > 1 else ''}")


#: our dataset names that NASLib's zc files write otherwise (their top-level keys)
NASLIB_DATASETS = {"imagenet16-120": "ImageNet16-120"}
#: our metric names that NASLib's zc files write otherwise: NASLib's name where it computes the same metric (its
#: fisher weights each channel by its layer's fan-in, as our fisher_fanin does), and our fisher, which does not,
#: under a name NASLib does not use (until session 54 it was written as NASLib's fisher, 0.004 times its values)
NASLIB_PROXIES = {**{ours: theirs for theirs, ours in NASLIB_TO_OURS.items()}, "fisher_fanin": "fisher",
                  "fisher": "fisher_swapnas"}
#: what the values of a naslib-zc file are where NASLib's are not written as ours (the file's provenance says it)
NASLIB_CONVENTIONS = {
    "synflow": "ln of the score, as NASLib's ZeroCost.query stores it (-ln(-x) for a negative score, 0 for 0); "
               "the csv format has the score",
    "fisher": "NASLib's fan-in-weighted fisher: our fisher_fanin; our fisher is written fisher_swapnas",
    "params, flops": "counts of the scored network (flops: 2 per multiply-add of matmuls and convolutions), not "
                     "NASLib's millions of the benchmark's network",
    "time": "seconds to score one arch, all its repeats (R); nb101 has none: its records hold the score alone, under "
            "the top-level key nasbench101, as NASLib's zc_nasbench101.json",
    "proxies": "one key (version and options) per metric and dataset, named in settings",
    "failed": "-1e8 (synflow: -ln 1e8), the value NASLib's code writes where a metric failed on an arch, its worst; "
              "+1e8 for a metric where lower is better (te_nas_ntk); the csv format has the error",
}


def _failed_value(name: str) -> float:
    """A failed score as NASLib's code writes it: -1e8, the worst value of a metric where higher is better (synflow:
    its log); +1e8 for one of ours where lower is better (te_nas_ntk), the worst value there."""
    lower = name in list_proxies() and not get_proxy(name).higher_is_better
    return -NASLIB_FAILED if lower else _naslib_value(name, NASLIB_FAILED)


def _naslib_value(name: str, value: float) -> float:
    """A score as NASLib's zc files store it: synflow's log (NASLib's ``ZeroCost.query``), else the score."""
    if name != "synflow" or not value:
        return value
    return math.log(value) if value > 0 else -math.log(-value)


def _dataset_key(fingerprint: str, protocols: dict[str, dict]) -> str:
    """NASLib's name of the dataset (TransNAS: the task) a protocol fingerprint scored on; the fingerprint itself
    where the store lacks its protocol's row."""
    dataset = fingerprinted(protocols.get(fingerprint, {})).get("dataset")
    return NASLIB_DATASETS.get(dataset, dataset) if dataset else f"protocol {fingerprint}"


def _where(row: dict, protocols: dict[str, dict], keys: dict[tuple[str, str], str]) -> tuple[str, str, str]:
    """Where a stored row goes in NASLib's layout: the proxy's name, the arch's key and the dataset's; ``keys`` holds
    the archs' keys met so far (session 58: 95 µs an arch, get_space's checks and the parse, 26 s for 300k rows)."""
    arch = (row["space"], row["arch"])
    if arch not in keys:
        keys[arch] = _arch_key(*arch)
    return row["proxy"].split("@")[0], keys[arch], _dataset_key(row["protocol"], protocols)


def _naslib_doc(scores: Iterable[dict], failures: Iterable[dict], protocols: dict[str, dict],
                scored: Callable[[], dict[str, str]], path: str | os.PathLike) -> tuple[dict, dict]:
    """NASLib's nesting of the scores under each space: dataset → arch → proxy, and each (space, dataset)'s
    setting. One setting per (space, dataset, arch, proxy name) and one :data:`PER_DATASET` setting per (space,
    dataset) among the scores, else a ValueError (until session 54 scores of two networks or batches shared a
    dataset's column). A failure is written as NASLib writes one (:func:`_failed_value`) where its (space, dataset)
    setting is the scores' and its arch has no score of that proxy; a failed attempt under another setting is left
    out (the csv format has it), so it cannot block an export (the review of session 55). ``scores`` and
    ``failures`` are the store's rows of each status, read as they come (session 58: a list of every row took 2 GiB of
    a 1.5M-row store); ``scored`` gives :func:`_scored_with` of the store, for a message; ``path`` is the store's."""
    doc: dict = {}
    keys: dict[tuple[str, str], str] = {}  # each arch's NASLib key, for this export
    proxy_keys: dict[tuple, tuple[str, str]] = {}  # (space, dataset, proxy name) → the first row's key and arch
    seen: dict[tuple, tuple] = {}  # (space, dataset, NASLib key, proxy) → the first row's arch and SETTING
    settings: dict[tuple, dict] = {}
    for r in scores:
        name, key, dataset = _where(r, protocols, keys)
        arch_of, setting = seen.setdefault((r["space"], dataset, key, name), (r["arch"], _values(r)))
        if arch_of != r["arch"]:
            raise ValueError(f"{arch_of} and {r['arch']} are both written {key} in NASLib's encoding (it does "
                             "not encode what tells them apart): use --format csv, which keeps every arch")
        if setting != _values(r):
            first = {**r, **dict(zip(SETTING, setting))}
            raise ValueError(f"{name} of {r['arch']} is stored under two settings ({_setting(first)}) and "
                             f"({_setting(r)}); NASLib's layout holds one score per dataset, arch and proxy: "
                             f"{_fix(first, r, protocols, scored())}")
        first_key, arch_of = proxy_keys.setdefault((r["space"], dataset, name), (r["proxy"], r["arch"]))
        if first_key != r["proxy"]:  # (session 62: two versions or options shared one column without a word)
            raise ValueError(f"{name} in {dataset} of {r['space']} is stored under two keys, {first_key} (e.g. "
                             f"{arch_of}) and {r['proxy']} (e.g. {r['arch']}); a NASLib zc file holds one version and "
                             "set of options per metric and dataset: use --format csv, which keeps every row with its "
                             "proxy column")
        one = settings.setdefault((r["space"], dataset), r)
        if any(one[k] != r[k] for k in PER_DATASET):
            raise ValueError(f"{dataset} of {r['space']} holds scores of two settings, ({_setting(one, PER_DATASET)}) "
                             f"and ({_setting(r, PER_DATASET)}), e.g. {one['proxy']} of {one['arch']} and {r['proxy']} "
                             f"of {r['arch']}; a NASLib zc file holds one setting per dataset: "
                             f"{_fix(one, r, protocols, scored(), PER_DATASET)}")
        arch = doc.setdefault(r["space"], {}).setdefault(dataset, {}).setdefault(key, {})
        arch[NASLIB_PROXIES.get(name, name)] = {"score": _naslib_value(name, r["value"]), "time": r["seconds"]}
    for r in failures:
        name, key, dataset = _where(r, protocols, keys)
        one = settings.setdefault((r["space"], dataset), r)  # a dataset of failures alone: the first one's setting
        if (r["space"], dataset, key, name) in seen or any(one[k] != r[k] for k in PER_DATASET) \
                or proxy_keys.setdefault((r["space"], dataset, name), (r["proxy"], r["arch"]))[0] != r["proxy"]:
            continue
        seen[(r["space"], dataset, key, name)] = (r["arch"], _values(r))
        arch = doc.setdefault(r["space"], {}).setdefault(dataset, {}).setdefault(key, {})
        arch[NASLIB_PROXIES.get(name, name)] = {"score": _failed_value(name), "time": r["seconds"]}
    described: dict[str, dict] = {}
    for (space, dataset), r in settings.items():
        described.setdefault(space, {})[dataset] = {
            **{k: r[k] for k in PER_DATASET if k != "net"}, "net": _net_of(r["net"], path),
            **fingerprinted(protocols.get(r["protocol"], {})),
            "proxies": {NASLIB_PROXIES.get(n, n): k for (s, d, n), (k, _) in sorted(proxy_keys.items())
                        if (s, d) == (space, dataset)}}
    return {space: _naslib_layout(space, datasets) for space, datasets in doc.items()}, described


def _net_of(text: str, path: str | os.PathLike) -> dict:
    """A score's stored net options, or a ValueError naming the store (session 68: json's bare message); the store is
    no worse for it (the options are a key's text everywhere else), so the way out is the csv format."""
    if problem := json_problem(text, dict):
        raise ValueError(f"{path} has scores whose net options, {printable(str(text)[:80])!r}, are not a JSON object "
                         f"({problem}), which the naslib-zc format writes in its settings: use --format csv, which "
                         "keeps every row as it is stored")
    return json.loads(text)


def _naslib_layout(space: str, datasets: dict) -> dict:
    """A space's datasets nested as NASLib's file of that space nests them: under its top-level keys (NB101's
    ``nasbench101``), each metric's score alone where its records hold no time (NB101's; session 62: they held
    ``{"score", "time"}``, which the docs called NASLib's layout)."""
    source = SOURCES.get(space)
    if source is not None and source.bare:
        datasets = {d: {k: {p: v["score"] for p, v in record.items()} for k, record in archs.items()}
                    for d, archs in datasets.items()}
    for top in reversed(source.top if source is not None else ()):
        datasets = {top: datasets}
    return datasets


def _fingerprint_of(asked: str, known: list[str], protocols: dict[str, dict], store_path: object,
                    scored: dict[str, str] | None = None) -> str:
    """``--protocol``'s fingerprint: one of the store's (``known``) as given, or the only one of the dataset
    ``asked`` (e.g. ``cifar10``); else a ValueError naming the store's fingerprints with their datasets."""
    if asked in known:
        return asked
    of_dataset = [fp for fp in known  # our spelling or NASLib's (imagenet16-120 / ImageNet16-120)
                  if str(fingerprinted(protocols.get(fp, {})).get("dataset")).lower() == asked.lower()]
    if len(of_dataset) == 1:
        return of_dataset[0]
    if of_dataset:
        raise ValueError(f"--protocol {asked}: the store has {len(of_dataset)} protocol fingerprints of that dataset, "
                         f"{_named(of_dataset, protocols, scored)}; give one of them")
    raise ValueError(f"--protocol {asked}: no score of that protocol fingerprint or dataset in {store_path}; "
                     f"its fingerprints: {_named(known, protocols, scored) or 'none (the store is empty)'}")


def export(store_path: str | os.PathLike, out: str | os.PathLike, fmt: str = "csv",
           protocol: str | None = None) -> Path:
    """Write the store at ``store_path`` to ``out`` in ``fmt`` (``FORMATS``), only the scores of the
    protocol fingerprint ``protocol`` if given (or of the store's only fingerprint of that dataset name);
    the path written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not Path(store_path).is_file():
        raise FileNotFoundError(f"no score store at {store_path} (the --store of a correlate/grid/search run)")
    # (session 62: '-' and 'newdir/' wrote files of those names)
    if str(out) == "-" or str(out).endswith(("/", os.sep)) and not Path(out).exists():
        raise ValueError(f"--out {out} names {'standard output' if str(out) == '-' else 'a folder'}: give the file "
                         "to write (a folder's file, e.g. DIR/scores.csv; /dev/stdout for standard output)")
    refuse_export_target("--out", out)  # (session 65: export() itself replaced a correlate run's results.csv)
    out = Path(out)
    if blocked := next((p for p in out.parents if p.exists() and not p.is_dir()), None):
        raise ValueError(f"--out {out}: {blocked} is a file, so the folder cannot be made; give another path")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the file to write, e.g. "
                         f"{out / ('scores.csv' if fmt == 'csv' else 'zc.json')}")
    if out.exists() and out.resolve() == Path(store_path).resolve():
        raise ValueError(f"--out {out} is the store itself; give another file to write")
    if is_sqlite(out):  # session 56: a --store of its own (runs/grid.sqlite) was replaced by the export
        raise ValueError(f"--out {out} is an SQLite database (a score store?), which the {fmt} export would replace: "
                         "give a new file name for the export")
    if Path(store_path).stat().st_size == 0:
        raise ValueError(f"{store_path} is an empty file, not a score store (the --store of a correlate/grid/search run)")
    try:  # the rows are read as they are written (session 58: a list of 1.5M rows took 2 GiB), OUT replaced whole
        with ScoreStore(store_path, read_only=True) as store:  # not SQLite at all: the store's damaged-store error
            try:  # only to name fingerprints in messages: a store without a readable protocols table still exports
                protocols = store.protocols()
            except StoreError:
                protocols = {}
            chosen = None if protocol is None else _fingerprint_of(
                protocol, [fp for (fp,) in store.distinct("protocol")], protocols, store_path, _scored_with(store))
            if fmt == "csv":
                with closing(store.iter_rows(chosen)) as rows:  # (closed: an error may stop the read part-way)
                    _write(out, lambda f: _csv(f, rows, protocols))
                return out
            with closing(connect_reader(Path(store_path))) as db:  # (session 68: a BLOB value or name: a TypeError)
                if wrong := rows_of_another_kind(db):
                    raise another_kind_error(store_path, wrong)
            with closing(store.iter_rows(chosen, "ok")) as scores, closing(store.iter_rows(chosen, "failed")) as failed:
                doc, settings = _naslib_doc(scores, failed, protocols, lambda: _scored_with(store), store_path)
            text = strict_json({"provenance": {**provenance(), "settings": settings,
                                               "conventions": NASLIB_CONVENTIONS}, **doc})
            _write(out, lambda f: f.write(text))
    except StoreError as exc:  # STORE is an argument here, not a run's --store
        raise given_as(exc, None) from exc
    return out


def _csv(f: IO[str], rows: Iterable[dict], protocols: dict[str, dict]) -> None:
    """The csv format of ``rows`` into ``f``, each with its protocol's dataset."""
    datasets = {fp: fingerprinted(d).get("dataset", "") for fp, d in protocols.items()}
    writer = csv.DictWriter(f, fieldnames=[*ScoreStore.COLUMNS, "dataset"])
    writer.writeheader()
    writer.writerows({**r, "dataset": datasets.get(r["protocol"], "")} for r in rows)


def special(out: Path) -> bool:
    """Whether ``out`` exists as something other than a plain file of its own: a link, a device (``/dev/stdout``,
    ``/dev/null``), a pipe, a socket: written into as it is, never replaced."""
    return out.is_symlink() or (out.exists() and not out.is_file())


def _write(out: Path, write: Callable[[IO[str]], object]) -> None:
    """``write`` into ``out`` as UTF-8 text, replaced whole (:func:`~swapnas.files.write_atomic`, keeping an existing
    file's permissions): a failed export leaves no part of a file (session 58: the rows are now written as they are
    read). A :func:`special` ``out`` is written into as it is (a replace would put a plain file in place of a link or
    a device: as root, of ``/dev/stdout``; the review of session 58)."""
    def text(f: BinaryIO) -> None:
        t = io.TextIOWrapper(f, encoding="utf-8", newline="")
        write(t)
        t.flush()
        t.detach()  # the binary file stays open for write_atomic's fsync and close

    try:
        if special(out):
            with open(out, "w", encoding="utf-8", newline="") as f:
                write(f)
            return
        mode = out.stat().st_mode & 0o7777 if out.is_file() else None
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, text)
        if mode is not None:
            os.chmod(out, mode)
    except BrokenPipeError:  # `--out /dev/stdout | head`: the reader left, as `swapnas proxies | head` (exit 0)
        raise
    except OSError as exc:  # a read-only file system, a full disk, …: named, not a traceback
        fix = ("give a file in a writable folder" if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else
               "free space on its disk or raise the process's file-size limit (`ulimit -f`), or give a file on "
               "another disk" if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) else "give another file")
        raise ValueError(f"--out {out}: cannot write it ({exc.strerror}); {fix}") from None


__all__ = ["FORMATS", "export"]
