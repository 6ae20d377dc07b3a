"""The subcommands: each turns parsed arguments into one typed ``run_*`` call and prints/writes
its result."""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import inspect
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from ..benchmarks import BENCHMARKS, Benchmark, benchmark_class, get_benchmark
from ..benchmarks.csv_truth import CsvBenchmark
from ..bundle import Batch, resolve_data_dir
from ..code_changes import accept_code, accept_text
from ..errors import printable
from ..conformance import CI_NOTE, conformance_table, header_text, load_naslib, run_conformance, select_proxies
from ..conformance import write_outputs as write_conformance
from ..correlation import run_correlation, write_outputs
from ..devices import resolve_device
from ..executor_local import scoring_threads
from ..executors import make_executor
from ..export import export
from ..files import outputs_lock
from ..fit_check import fit_for_all, refuse_small_inputs, refuse_unfit, space_text
from ..grid import check_archs_per, grid_plan, run_grid, select_columns, write_grid
from ..proxies import ALIASES, Proxy, about_unknown, details, get_proxy, list_proxies, resolve
from ..report import constant_lines, failure_lines, protocol_text, results_table
from ..results import command_line, reused_text
from ..scoring import Protocol, with_bases
from ..session import check_archs, check_task, configure, pick_archs, pins_for_all, resolve_for, score_archs, shard_of
from ..spaces import SPACES, SpaceError, get_space, net_options
from ..store import ScoreStore
from ..store_files import StoreError, damaged_advice
from ..store_merge import merge_stores, merge_text
from ..store_tools import check_store, check_text, salvage_store, salvage_text
from ..train import TrainConfig, load_genotype, run_train
from ..train.recipe import searched_on
from .args import EXIT_ERROR, EXIT_FAILED_ARCHS, EXIT_OK, DefaultArchs, store_path
from .executor_options import executor_plan
from .json_stdout import print_json, refuse_out_on_stdout
from ..out_checks import out_folder, refuse_busy_out, refuse_file_in_bundle


def _net_overrides(args: argparse.Namespace) -> dict:
    """--net with the shortcuts --channels (C) and --cells (N, nb201's; another space's keys named, session 69); a key
    given both ways with two values is refused (session 56: ``--net C=8 --channels 16`` scored C=16 without a word)."""
    net, space = dict(args.net), benchmark_class(args.space).space if args.space in BENCHMARKS else args.space
    if args.cells is not None and args.space != "nb201":
        raise ValueError(f"--cells is an nb201 shortcut; for {args.space} set the network with --net KEY=VALUE (the "
                         f"{space} network's keys: {', '.join(net_options(get_space(space)))})")
    for flag, key, value in (("--channels", "C", args.channels), ("--cells", "N", args.cells)):
        if value is not None:
            if net.get(key, value) != value:
                raise ValueError(f"--net {key}={net[key]} and {flag} {value} set one size two ways: give one of them")
            net[key] = value
    return net


def show_progress(args: argparse.Namespace) -> bool:
    return not (args.no_progress or getattr(args, "quiet", False) or getattr(args, "json", False))


def print_report(args: argparse.Namespace, text: str, written: Sequence[Path | str], doc: Path | None = None) -> None:
    """``text`` and the files written; with --quiet only the files; with --json only ``doc``'s JSON."""
    if getattr(args, "json", False):
        print_json(doc.read_text(encoding="utf-8") if doc is not None
                   else json.dumps({"written": list(map(str, written))}))
        return
    if not getattr(args, "quiet", False) and text:
        print(printable(text))  # (a name or message from someone's store: session 67)
    print("wrote " + ", ".join(str(w) for w in written))


def _shard_done(args: argparse.Namespace, what: str, counts: dict, failed: int, store: str, then: str) -> None:
    """What a --shard run did: one line, or with --json one JSON document."""
    i, n = args.shard
    if getattr(args, "json", False):
        print_json(json.dumps({"shard": [i, n], **counts, "failed_scores": failed, "store": store}))
    else:
        print(f"scored shard {i}/{n}: {what}, {failed} failed scores, in {store}; rerun without --shard for {then}")


def _exit_for(args: argparse.Namespace, failures: int, why: str) -> int:
    """0, or EXIT_FAILED_ARCHS when some archs failed and --allow-failures is not given; ``why``: where their
    failure messages are (which output, or that a shard leaves them to the final run)."""
    if failures and not getattr(args, "allow_failures", False):
        retry = "" if getattr(args, "retry_failed", False) else "; stored failures are reused: once the cause is " \
            "fixed, --retry-failed scores them again"  # (session 68: the way out of a replayed failure was unsaid)
        print(f"swapnas: {failures} arch score(s) failed ({why}); exit {EXIT_FAILED_ARCHS} (--allow-failures: exit 0"
              f"{retry})", file=sys.stderr)
        return EXIT_FAILED_ARCHS
    return EXIT_OK


def _failed_scores(results: list) -> int:
    """Failed scores of run results or grid dicts; a set-level metric's (te_nas) are its parts', left out."""
    rows = [(r["proxy"], r["failures"]) if isinstance(r, dict) else (r.proxy, r.failures) for r in results]
    return sum(failures for proxy, failures in rows if not get_proxy(proxy).parts)


#: where a finished shard's failures are told: only the run without --shard writes the outputs
_SHARD_WHY = "their messages are in the store; the run without --shard reports them"


def store_for(args: argparse.Namespace) -> ScoreStore:
    return ScoreStore(store_path(args))


@contextmanager
def store_in(args: argparse.Namespace) -> Iterator[ScoreStore]:
    """The store of a search, grid or conformance run. One the run made in OUT (no ``--store``) is removed again when
    the run stops before a score was stored in it (a refused search left an empty ``scores.sqlite`` until session 51,
    a grid or conformance run without its images until session 62); only OUT's own, which OUT's lock keeps to this
    run: a ``--store`` may be shared with other runs, and so is a ``--shard`` run's OUT."""
    path = store_path(args)
    made = args.store is None and getattr(args, "shard", None) is None and not path.exists()
    stopped: BaseException | None = None
    with store_for(args) as store:
        try:
            yield store
        except BaseException as exc:
            try:
                empty = made and store.count() == 0
            except StoreError:
                empty = False
            if not empty:
                raise
            stopped = exc
    if stopped is not None:
        # only where no other connection has it open: the last to close removes the -wal and -shm, so they stay while a
        # shard writes into it (the review of session 62: a grid stopped early removed the store under its shards)
        if not any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm")):
            with contextlib.suppress(OSError):  # (Windows: a file another process holds open)
                path.unlink()
        raise stopped


def _benchmark(args: argparse.Namespace) -> Benchmark:
    """The ground truth of ``correlate``: a registered benchmark, or ``--truth FILE.csv`` over a space."""
    if args.truth is None:
        given = [f"{flag} {v}" for flag, v in (("--arch-column", args.arch_column),
                                                ("--accuracy-column", args.accuracy_column)) if v is not None]
        if given:
            raise ValueError(f"{' and '.join(given)}: these name columns of your own ground truth, --truth FILE.csv; "
                             f"give --truth, or leave them out for the {args.space} benchmark's own")
        if args.space not in BENCHMARKS:
            raise ValueError(f"{args.space} is a space without a benchmark of its own: give --truth FILE.csv, or "
                             f"one of the benchmarks {', '.join(BENCHMARKS)}")
        return get_benchmark(args.space, args.data_dir, args.metric, args.epochs, flags=True)
    if args.space not in SPACES:
        raise ValueError(f"--truth needs --space to name a space ({', '.join(SPACES)}), not {args.space!r}")
    if (args.metric, args.epochs) != ("valid", 200):  # session 53: they were ignored without a word
        raise ValueError("--metric and --epochs pick the nb201 benchmark's own ground truth; with --truth the file's "
                         "accuracy column is the ground truth: leave them out")
    mod = get_space(args.space)
    dataset = args.dataset or next(iter(getattr(mod, "FINAL_NETS", None) or getattr(mod, "TASKS", None) or ["cifar10"]))
    return CsvBenchmark(args.truth, args.space, dataset, args.arch_column, args.accuracy_column)


def _own_images(args: argparse.Namespace) -> dict:
    """--num-classes/--resolution/--mean/--std (they describe --image-root's images)."""
    given = {k: v for k, v in (("num_classes", args.num_classes), ("resolution", args.resolution),
                               ("mean", args.mean), ("std", args.std)) if v is not None}
    if given and args.image_root is None and getattr(args, "inputs", "real") != "synthetic":  # (that: load_batch's)
        size = ("resolution" in given and args.space in SPACES
                and "resolution" in inspect.signature(get_space(args.space).build).parameters)
        hint = (f"; the scored network's input size is --net resolution={args.resolution}"
                + (" (the sequence length in tokens)" if args.space == "flexibert" else "")) if size else ""
        raise ValueError("--num-classes, --resolution, --mean and --std describe your own images: give --image-root"
                         + hint)
    if args.std is not None and min(args.std) <= 0:
        raise ValueError(f"--std must be > 0 in every channel (got {args.std})")
    return given


def _csv_task(args: argparse.Namespace, bench: Benchmark) -> str:
    """The task of a run over ``bench``: --dataset, else its first; a CSV with several tasks says which it takes."""
    task = args.dataset or bench.tasks[0]
    if isinstance(bench, CsvBenchmark) and args.dataset is None and len(bench.tasks) > 1:
        print(printable(f"swapnas: warning: --truth {bench.path} has the tasks {', '.join(bench.tasks)}: this run "
                        f"correlates the first, {task}; give --dataset to choose another"), file=sys.stderr)
    return task


def _configured(args: argparse.Namespace, bench: Benchmark, task: str) -> tuple[Protocol, Batch, list[Proxy]]:
    """``correlate``'s protocol, batch and proxies; a proxy no network of the space can be scored by is refused
    before any arch is scored. ``--proxies all`` (since session 51) scores every metric under the space's SWAP
    protocol where the recommended fitness has another, and leaves out those the space's networks cannot take, each
    said in a note (it was refused on every space)."""
    every = args.proxies.strip() == "all"
    given = {"init": args.init, "repeats": args.repeats, "batch_size": args.batch_size, "net": _net_overrides(args)}
    given, moved = pins_for_all(bench.space, resolve_for(bench.space, "all"), given) if every else (given, [])
    try:
        protocol, batch, proxies = configure(
            bench.space, task, args.proxies, seed=args.seed, batch_size=given["batch_size"],
            repeats=given["repeats"], net=given["net"], init=given["init"], inputs=args.inputs,
            data_dir=args.data_dir, image_root=args.image_root, fill=args.fill, mu=args.mu, sigma=args.sigma,
            images=_own_images(args))
    except ValueError as exc:  # a task written in the CSV's task column that names no dataset of the images
        if isinstance(bench, CsvBenchmark) and bench.has_task_column and args.dataset is None:
            raise ValueError(f"{exc} (the task {task!r} comes from the task column of --truth {bench.path}: a task "
                             "names the dataset whose images score the archs: rename it in the file)") from exc
        raise
    if args.resolution is not None:  # your images resized: too small for the network's pools? (session 57)
        refuse_small_inputs(bench.space, protocol, batch, f"--resolution {args.resolution}")
    if not every:
        refuse_unfit(bench.space, proxies, protocol, batch, "--proxies")  # before any arch is scored
        return protocol, batch, proxies
    proxies, left = fit_for_all(bench.space, proxies, protocol, batch)
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    if moved and not quiet:
        print(f"swapnas: note: --proxies all scores every metric under the {bench.space} SWAP protocol, "
              f"{', '.join(moved)} too (their own: --proxies {','.join(moved)})", file=sys.stderr)
    if left and not quiet:
        print(f"swapnas: note: --proxies all leaves out what no network of {space_text(bench.space, protocol)} can "
              f"take: {left}", file=sys.stderr)
    return protocol, batch, proxies


def correlate(args: argparse.Namespace) -> int:
    refuse_busy_out(args, "correlate")
    bench = _benchmark(args)
    task = _csv_task(args, bench)
    check_task(bench, task)
    if (args.mu is not None or args.sigma is not None) and "swap_reg" not in {p.name for p in resolve(args.proxies)}:
        raise ValueError(f"--mu/--sigma set swap_reg's size prior, and --proxies {args.proxies} has no swap_reg: add "
                         "swap_reg, or leave them out")
    protocol, batch, proxies = _configured(args, bench, task)
    if args.archs is not None and not isinstance(args.archs, DefaultArchs):  # a number given must exist
        check_archs(args.archs, len(bench.archs_for(task)), f"{bench.name} {task}")
    out = out_folder(args)
    kind, options, device = executor_plan(args)  # checked; started once OUT is held
    with outputs_lock(out, "correlate", args.shard):  # held until the outputs are written; the workers end first
        with make_executor(kind, **options) as executor, store_for(args) as store:
            if args.shard is not None:
                archs = shard_of(pick_archs(bench.archs_for(task), args.archs, args.seed), args.shard)
                recs = score_archs(archs, bench.space, proxies, protocol, batch, store, device, args.retry_failed,
                                   show_progress(args), f"shard {args.shard[0]}/{args.shard[1]}", executor)
                failed = sum(not r.ok for rs in recs.values() for r in rs)
                _shard_done(args, f"{len(archs)} archs", {"archs": len(archs)}, failed, store.path, "the table")
                return _exit_for(args, failed, _SHARD_WHY)
            run = run_correlation(bench=bench, task=task, proxies=proxies, n_archs=args.archs, protocol=protocol,
                                  batch=batch, store=store, device=device, retry_failed=args.retry_failed,
                                  progress=show_progress(args), executor=executor)
        written = write_outputs(run, out)
    where = f"device {device}" + (" on Ray workers" if args.executor == "ray" else "")
    # the batch note (labels mapped, images filled) was logged once as the batch loaded: not repeated here
    text = "\n".join([protocol_text(run.protocol, run.ground_truth),
                      *(f"{p.name}: {p.key}" for p in proxies if p.options),
                      f"{where} | wall {run.wall_seconds:.1f} s{reused_text(run.reused, len(run.archs), run.partly_reused)}\n",
                      results_table(run.results), *failure_lines(run.results),
                      *constant_lines(run.results, run.scores), ""])
    plots = f"{len(written) - 4} plot(s) in {out}: {', '.join(p.name for p in written[4:])}"
    print_report(args, text, [*written[:4], plots, f"scores in {store_path(args)}"], out / "results.json")
    return _exit_for(args, _failed_scores(run.results), "report.md and results.json give their messages")


def grid(args: argparse.Namespace) -> int:
    refuse_busy_out(args, "grid")
    columns = select_columns(args.benchmarks, args.tasks)
    if not resolve(args.proxies):  # unknown names raise here too: before the store is opened
        raise ValueError(f"--proxies needs at least one proxy name, comma-separated, or 'all' (got {args.proxies!r}); "
                         "see `swapnas proxies`")
    check_archs_per(columns, args.archs_per)  # before OUT and its store exist
    resolve_data_dir(args.data_dir)  # every column reads the bundle: no OUT made without it
    out = out_folder(args)
    kind, options, device = executor_plan(args)  # checked (before the plan: session 61); started once OUT is held
    counts: dict[str, int] = {}
    with outputs_lock(out, "grid", args.shard):
        with make_executor(kind, **options) as executor, store_in(args) as store:
            if args.shard is None and not (getattr(args, "quiet", False) or getattr(args, "json", False)):
                # once the store opened and the executor started (session 62: the plan printed, then a refusal)
                asked = resolve(args.proxies)
                plan = grid_plan(columns, len(asked), args.archs, args.archs_per, show_progress(args),
                                 len(with_bases([p for p in asked if not p.parts])))  # (a set-level one: not stored)
                print(f"swapnas: {plan}", file=sys.stderr)
            cols = run_grid(columns, proxies=args.proxies, n_archs=args.archs, n_archs_per=args.archs_per,
                            seed=args.seed, repeats=args.repeats, init=args.init, store=store, device=device,
                            data_dir=args.data_dir, shard=args.shard, retry_failed=args.retry_failed,
                            progress=show_progress(args), executor=executor, counts=counts,
                            archs_given=not isinstance(args.archs, DefaultArchs))
        if args.shard is not None:
            failed = counts.get("failed", 0)
            _shard_done(args, f"{len(columns)} columns", {"columns": len(columns)}, failed,
                        str(store_path(args)), "the grid")
            return _exit_for(args, failed, _SHARD_WHY)
        paths = write_grid(cols, out, command_line(), f"{device}{' on Ray workers' if args.executor == 'ray' else ''}",
                           scoring_threads(executor))
    print_report(args, (out / "grid.md").read_text(encoding="utf-8"), paths, out / "grid.json")
    return _exit_for(args, _failed_scores([r for c in cols for r in c.results]), "grid.md lists their messages")


def conformance(args: argparse.Namespace) -> int:
    """``swapnas conformance``: run, print the protocol and the table, write the outputs."""
    out = out_folder(args)
    device = resolve_device(args.device)
    naslib = load_naslib(args.space, args.dataset, args.data_dir)  # a bad --archs is refused before the store exists
    check_archs(args.archs, len(naslib.archs), f"NASLib's {args.space}/{args.dataset} file {naslib.path}")
    select_proxies(naslib, args.proxies)  # a bad --proxies too
    with outputs_lock(out, "conformance"):  # (held while the outputs are written, as a grid's)
        with store_in(args) as store:
            run = run_conformance(
                space=args.space, dataset=args.dataset, proxies=args.proxies, n_archs=args.archs, store=store,
                device=device, data_dir=args.data_dir, seed=args.seed,
                retry_failed=args.retry_failed, progress=show_progress(args), naslib=naslib,
            )
        paths = write_conformance(run, out)
    text = "\n".join([header_text(run, note=False) + "\n", conformance_table(run.results), CI_NOTE,
                      *failure_lines(run.results), ""])
    print_report(args, text, paths, paths[0])
    return _exit_for(args, _failed_scores(run.results), "conformance.md and conformance.json give their messages")


def _own_fitness(space: str) -> str | None:
    """The space's recommended fitness, if it names one (None for a space whose module does not load: the
    listing still works, and a command on that space says what is wrong)."""
    try:
        return getattr(get_space(space), "FITNESS_PROTOCOL", {}).get("proxy")
    except SpaceError:
        return None


def proxies(args: argparse.Namespace) -> int:
    names = list_proxies(args.pattern)
    if not names and not any(fnmatch.fnmatch(alias, args.pattern) for alias in ALIASES):
        raise ValueError(f"no proxy matches {about_unknown(args.pattern, several=True)}; see `swapnas proxies`")
    per_space = {s: fit for s in SPACES if (fit := _own_fitness(s))}
    aliases: list[dict[str, Any]] = [{"alias": alias, "target": target, "per_space": per_space}
                                     for alias, target in sorted(ALIASES.items()) if fnmatch.fnmatch(alias, args.pattern)]
    for a in aliases:  # an alias asked for shows the metrics it stands for (`swapnas proxies best`), each once
        names += [n for n in (a["target"], *a["per_space"].values()) if n not in names]
    rows = []
    for name in names:
        p = get_proxy(name)
        runs = with_bases([p]) + [get_proxy(part) for part in p.parts]  # what scoring it runs: its needs
        rows.append({"name": p.name, "higher_is_better": p.higher_is_better, "grad": any(q.needs_grad for q in runs),
                     "labels": any(q.needs_labels for q in runs), "input": p.input_kind, "version": p.version,
                     "description": p.description})
    if getattr(args, "json", False):
        print_json(json.dumps({"proxies": rows, "aliases": aliases}))
        return 0
    print(f"{'name':<20} {'higher_better':<13} {'grad':<5} {'labels':<6} {'input':<6} {'version':<7} description")
    for r in rows:
        print(f"{r['name']:<20} {str(r['higher_is_better']):<13} {str(r['grad']):<5} {str(r['labels']):<6} "
              f"{r['input']:<6} {r['version']:<7} {r['description']}")
    for a in aliases:
        where = "; ".join(f"{s}: {n}" for s, n in a["per_space"].items())
        print(f"alias {a['alias']} = {a['target']}" + (f" (per space: {where})" if where else ""))
    if names == [args.pattern]:  # one proxy by name: what the table's one line cannot say
        print("", *details(get_proxy(names[0])), sep="\n")
    return 0


def train_overrides(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given as ``--flag``s."""
    return {f.name: getattr(args, f"cfg_{f.name}") for f in fields(TrainConfig)
            if getattr(args, f"cfg_{f.name}", None) is not None}


def train(args: argparse.Namespace) -> int:
    # cuDNN autotuning is the command's choice (speed; CUDA runs were never bit-reproducible), not the
    # library's: run_train/train set no backend flag. It has no effect when the device is the CPU.
    torch.backends.cudnn.benchmark = True
    refuse_busy_out(args, "train")
    out = out_folder(args)
    genotype = load_genotype(args.genotype)  # what is wrong with the arguments is said before OUT is made
    if (searched := searched_on(args.genotype)) not in (None, args.dataset):  # (session 62: said nowhere)
        print(printable(f"swapnas: warning: the genotype was found by a search on {searched}; it is trained here with "
                        f"the {args.dataset} recipe and data (--dataset {searched} for its own, where it is one)"),
              file=sys.stderr)
    # train() locks OUT (a second run on it is refused) after the data is read: bad data makes no OUT; an interrupt
    # is said by the command line's handler (session 62: said here, --json printed nothing)
    result = run_train(genotype, recipe=args.dataset, out=out, data_root=args.data_root,
                       synthetic=args.synthetic, workers=args.workers, device=args.device, seed=args.seed,
                       progress=show_progress(args), max_steps=args.max_steps, eval_every=args.eval_every,
                       amp=not args.no_amp, lines=not (getattr(args, "quiet", False) or getattr(args, "json", False)),
                       **train_overrides(args))
    top5 = f", top-5 {result['test_top5']:.2f}%" if args.dataset == "imagenet" else ""
    note = " (partial epochs: --max-steps)" if result["max_steps"] else ""
    text = (f"final test accuracy {result['test_acc']:.2f}%{top5} on {result['test_n']} {result['dataset']} test images "
            f"after {result['epochs']} epoch{'s' * (result['epochs'] != 1)}{note}\n"
            f"{result['params_m']:.3f} M params (auxiliary head excluded), wall {result['wall_seconds']:.1f} s, "
            f"device {result['device']}")
    print_report(args, text, [out / "result.json", out / "history.json", out / "checkpoint.pt"], out / "result.json")
    return 0


def export_store(args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        refuse_out_on_stdout(args.out)
    path = export(args.store, args.out, args.format, args.protocol)
    if path.is_file():  # (a device or a pipe, such as /dev/stdout: the export is all it gets, and is not read back)
        print_report(args, "", [path], path if args.format == "naslib-zc" else None)
    return EXIT_OK


def _not_accepted(names: list[str], report: Any) -> list[str]:
    """The names asked of accept-code of which no recorded version is accepted or already the running code (an
    older version beside an accepted one is no failure: the review of session 64)."""
    done = [*report.accepted, *report.unchanged]
    return [w for w in names or [] if not any(w in (n, n.rpartition("@")[0]) for n in done)]


def store(args: argparse.Namespace) -> int:
    """``swapnas store check|salvage|merge|accept-code``: print the report (--json: as JSON); a damaged store
    exits 2."""
    checked = None
    if args.store_action == "salvage":
        refuse_file_in_bundle("--out", args.out)
        report: Any = salvage_store(args.store, args.out)
        text = salvage_text(report)
    elif args.store_action == "merge":
        report = merge_stores(args.sources, args.into, args.mixed_code)
        text = merge_text(report)
    elif args.store_action == "accept-code":
        report = accept_code(args.store, args.names)
        text = accept_text(report)
    else:
        report = checked = check_store(args.store)
        text = check_text(checked)
    bad = checked is not None and not checked.ok
    damaged = f"the score store {args.store} is damaged; {damaged_advice(args.store, fresh=False)}" if bad else ""
    if args.store_action == "accept-code" and (left := _not_accepted(args.names, report)):  # (session 64: exit 0)
        damaged = (f"{', '.join(left)} not accepted: this process runs none of its recorded versions (another version, "
                   "or a metric of your own: run accept-code from the script that registers it, python my_script.py "
                   "store accept-code …)")
    if getattr(args, "json", False):  # one document: a damaged store's report holds the error (session 56: two)
        print_json(json.dumps({**(checked.as_json() if checked is not None else asdict(report)),
                               **({"error": damaged, "exit": EXIT_ERROR} if damaged else {})}))
        if damaged:
            print(f"swapnas: error: {damaged}", file=sys.stderr)
            return EXIT_ERROR
    elif not getattr(args, "quiet", False) or args.store_action != "check":
        print(printable(text))
    if damaged:
        raise StoreError(damaged)
    return EXIT_OK
