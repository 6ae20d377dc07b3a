"""The ``swapnas`` command line: a thin layer over the library."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
    if v < low:
        raise argparse.ArgumentTypeError(f"expected {what} (got {v})")
    return v


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def _archs(text: str) -> int | None:
    """argparse type for --archs: a positive integer or 'all' (None)."""
    if text == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--archs takes a number or 'all', not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--archs must be >= 1 (got {n})")
    return n


def _shard(text: str) -> tuple[int, int]:
    try:
        i, k = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes I/K, e.g. 0/4, not {text!r}") from None
    if not 0 <= i < k:
        raise argparse.ArgumentTypeError(f"--shard I/K needs 0 <= I < K (got {text})")
    return i, k


def _net(text: str) -> dict:
    """``KEY=VALUE[,KEY=VALUE…]`` → dict; values parsed as int, float, true/false, else str."""
    out: dict = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"--net takes KEY=VALUE pairs joined by ',', e.g. C=16,N=2; bad item {item!r}")
        v: object = value.strip()
        for cast in (int, float):
            try:
                v = cast(value)
                break
            except ValueError:
                pass
        if isinstance(v, str) and v.lower() in ("true", "false"):
            v = v.lower() == "true"
        out[key.strip()] = v
    return out


def _archs_per(text: str) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for item in filter(None, text.split(",")):
        name, sep, n = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--archs-per takes BENCH=N pairs, e.g. nb201=1000; bad item {item!r}")
        out[name.strip()] = _archs(n.strip())
    return out


def _ray_gpus(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ray-gpus takes a number of GPUs per task, e.g. 1 or 0.25, not {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"--ray-gpus must be >= 0 (got {text})")
    return v


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    """Where the archs are scored: here, or on Ray workers (results always go to --store from here)."""
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local: score in this process; ray: one Ray task per arch on a local Ray instance or "
                   "the cluster at --address (needs pip install 'swapnas[ray]'); same scores, same store")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="--executor ray: address of a running Ray cluster, e.g. auto or HOST:6379 "
                   "(default: start a local Ray instance)")
    p.add_argument("--ray-cpus", type=positive_int, default=None, metavar="N",
                   help="--executor ray: CPUs of the local Ray instance = parallel CPU tasks (default: all)")
    p.add_argument("--ray-gpus", type=_ray_gpus, default=None, metavar="G",
                   help="--executor ray: GPUs per task, e.g. 1, or 0.25 for four tasks per GPU; tasks then score "
                   "on cuda (default: 1 when --device is cuda, or auto and this machine has CUDA; else 0)")
    p.add_argument("--prefetch", type=non_negative_int, default=0, metavar="K",
                   help="--executor local, throughput mode: a thread builds and initialises the next K archs' "
                   "networks while the current one is scored (SWAP-only runs; same scores; default 0 = off)")


def _executor(args: argparse.Namespace):
    """The executor and the device the archs are scored on, from the --executor options."""
    from .executors import make_executor
    from .session import resolve_device

    if args.executor == "local":
        given = [o for o, v in (("--address", args.address), ("--ray-cpus", args.ray_cpus),
                                ("--ray-gpus", args.ray_gpus)) if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --executor ray")
        return make_executor("local", prefetch=args.prefetch), resolve_device(args.device)
    if args.prefetch:
        raise ValueError("--prefetch applies to --executor local (each Ray worker builds its own networks)")
    import torch

    gpus = args.ray_gpus
    if gpus is None:  # the workers' device; this machine need not have one when --address is a cluster
        cuda = args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())
        gpus = 1.0 if cuda else 0.0
    elif gpus == 0 and args.device.startswith("cuda"):
        raise ValueError("--device cuda with --executor ray needs --ray-gpus > 0")
    if gpus > 0 and args.device == "cpu":
        raise ValueError("--ray-gpus > 0 scores on cuda; drop --device cpu")
    executor = make_executor("ray", address=args.address, num_cpus=args.ray_cpus, num_gpus_per_task=gpus)
    return executor, torch.device("cuda" if gpus > 0 else "cpu")


def _add_scoring_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that scores archs of a benchmark."""

    p.add_argument("--proxies", default="swap,swap_reg,params", help="comma-separated names, or 'all' (see `swapnas proxies`)")
    p.add_argument("--archs", type=_archs, default=1000, help="number of archs sampled with --seed per task, or 'all'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=None, help="samples S per forward pass (default: the space's; nb201 16)")
    p.add_argument("--repeats", type=int, default=None, help="re-initialisations averaged per arch (default: the space's; nb201 4)")
    p.add_argument("--net", type=_net, default={}, metavar="K=V,…",
                   help="override options of the scored network, e.g. C=32,N=2 (nb201), C=3,layers=1,stem=false (darts)")
    p.add_argument("--init", default=None, choices=["gaussian", "default"], help="gaussian: N(0,1) weights (the paper's); default: PyTorch's init (default: the space's protocol; gaussian unless the run scores `best`)")
    p.add_argument("--mu", type=float, default=None, help="swap_reg size-prior centre, thousands of params of the scored net (default: the space's rule)")
    p.add_argument("--sigma", type=float, default=None, help="swap_reg size-prior width, thousands^2, unsquared (default: the space's rule)")
    p.add_argument("--inputs", default="real", choices=["real", "synthetic"])
    p.add_argument("--fill", default="augment", choices=["augment", "error"], help="when the dataset has fewer real images than the batch")
    p.add_argument("--data-dir", default=None, help="swapnas data bundle (else $SWAPNAS_DATA)")
    p.add_argument("--image-root", default=None, help="torchvision-format dataset folder for the input images")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--store", default=None, help="SQLite score store (default OUT/scores.sqlite)")
    p.add_argument("--retry-failed", action="store_true", help="re-score archs whose stored result is a failure")
    p.add_argument("--shard", type=_shard, default=None, metavar="I/K",
                   help="score only shard I of K (archs I, I+K, …) into --store and skip the table; "
                   "run K shards in parallel, then once without --shard for the table")
    _add_executor_args(p)
    p.add_argument("--no-progress", action="store_true")


def _add_correlate(sub: argparse._SubParsersAction) -> None:
    from .benchmarks import BENCHMARKS

    p = sub.add_parser(
        "correlate",
        help="score sampled archs with proxies and correlate with the benchmark's ground truth",
        description="Score archs of a benchmark with training-free proxies and report rank correlations "
        "with the ground truth (Spearman, Kendall, bootstrap CI, top-10%%). Resumes from --store.",
    )
    p.add_argument("--space", default="nb201", choices=list(BENCHMARKS),
                   help="benchmark (nb301 / darts_swap = the DARTS space with NAS-Bench-301 / the SWAP authors' ground truth)")
    p.add_argument("--dataset", default=None, help="dataset or task (default: the benchmark's first; nb201: cifar10, "
                   "cifar100, imagenet16-120; transnas_*: class_object, class_scene, room_layout, jigsaw, autoencoder, "
                   "normal, segmentsemantic)")
    _add_scoring_args(p)
    p.add_argument("--channels", type=int, default=None, help="shortcut for --net C=…")
    p.add_argument("--cells", type=int, default=None, help="nb201 only: shortcut for --net N=… (cells per stage; the benchmark trains N=5)")
    p.add_argument("--metric", default="valid", choices=["valid", "test"], help="ground-truth split (nb201 only; default valid)")
    p.add_argument("--epochs", type=int, default=200, choices=[200, 12], help="ground-truth training schedule (nb201 only)")
    p.add_argument("--out", required=True, help="output folder for results.json and plots")
    p.set_defaults(func=_cmd_correlate)


def _net_overrides(args: argparse.Namespace) -> dict:
    net = dict(args.net)
    if getattr(args, "channels", None) is not None:
        net["C"] = args.channels
    if getattr(args, "cells", None) is not None:
        if args.space != "nb201":
            raise ValueError(f"--cells is an nb201 shortcut; for {args.space} set the network with --net")
        net["N"] = args.cells
    return net


def _cmd_correlate(args: argparse.Namespace) -> int:
    from .benchmarks import get_benchmark
    from .correlate import run_correlation, write_outputs
    from .report import failure_lines, protocol_text, results_table
    from .session import check_task, configure, pick_archs, score_archs, shard_of
    from .store import ScoreStore

    bench = get_benchmark(args.space, args.data_dir, args.metric, args.epochs)
    task = args.dataset or bench.tasks[0]
    check_task(bench, task)
    protocol, batch, proxies = configure(
        bench.space, task, args.proxies, seed=args.seed, batch_size=args.batch_size, repeats=args.repeats,
        net=_net_overrides(args), init=args.init, inputs=args.inputs, data_dir=args.data_dir,
        image_root=args.image_root, fill=args.fill, mu=args.mu, sigma=args.sigma,
    )
    out = Path(args.out)
    executor, device = _executor(args)
    with executor, ScoreStore(args.store or out / "scores.sqlite") as store:
        if args.shard is not None:
            archs = shard_of(pick_archs(bench.archs_for(task), args.archs, args.seed), args.shard)
            recs = score_archs(archs, bench.space, proxies, protocol, batch, store, device, args.retry_failed,
                               not args.no_progress, f"shard {args.shard[0]}/{args.shard[1]}", executor)
            failed = sum(not r.ok for rs in recs.values() for r in rs)
            print(f"scored shard {args.shard[0]}/{args.shard[1]}: {len(archs)} archs, {failed} failed scores, "
                  f"in {store.path}; rerun without --shard for the table")
            return 0
        run = run_correlation(
            bench=bench, task=task, proxies=proxies, n_archs=args.archs, protocol=protocol, batch=batch,
            store=store, device=device, retry_failed=args.retry_failed, progress=not args.no_progress,
            executor=executor,
        )
    write_outputs(run, out)
    print(protocol_text(run.protocol, run.ground_truth, run.batch_note))
    for p in proxies:
        if p.options:
            print(f"{p.name}: {p.key}")
    where = f"device {device}" + (" on Ray workers" if args.executor == "ray" else "")
    print(f"{where} | wall {run.wall_seconds:.1f} s (stored scores are reused)\n")
    print(results_table(run.results))
    for line in failure_lines(run.results):
        print(line)
    print(f"\nwrote {out / 'results.json'} and scatter_*.png")
    return 0


def _add_grid(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grid",
        help="every metric on every benchmark task (the paper's Fig. 4): grid.md, grid.json, grid.png",
        description="Score sampled archs of every benchmark task with every metric under each space's default "
        "protocol and write the Spearman-rho grid (markdown, JSON, heat map). Resumes from --store; "
        "--shard I/K scores one slice of every column (run K in parallel, then once without --shard).",
    )
    p.add_argument("--benchmarks", default="all", help="comma-separated: nb101,nb201,nb301,darts_swap,transnas_micro,transnas_macro")
    p.add_argument("--tasks", default="all", help="comma-separated datasets/tasks to keep (default all)")
    p.add_argument("--proxies", default="all", help="comma-separated names, or 'all'")
    p.add_argument("--archs", type=_archs, default=1000, help="archs sampled with --seed per column, or 'all'")
    p.add_argument("--archs-per", type=_archs_per, default={}, metavar="BENCH=N,…",
                   help="per-benchmark override of --archs, e.g. nb201=1000,transnas_macro=100")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="re-initialisations per arch for every metric (default 1)")
    p.add_argument("--data-dir", default=None, help="swapnas data bundle (else $SWAPNAS_DATA)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--store", default=None, help="SQLite score store (default OUT/scores.sqlite)")
    p.add_argument("--retry-failed", action="store_true", help="re-score archs whose stored result is a failure")
    p.add_argument("--shard", type=_shard, default=None, metavar="I/K", help="score only shard I of K of every column")
    _add_executor_args(p)
    p.add_argument("--out", required=True, help="output folder for grid.md, grid.json and grid.png")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_grid)


def _cmd_grid(args: argparse.Namespace) -> int:
    from .grid import run_grid, select_columns, write_grid
    from .store import ScoreStore

    columns = select_columns(args.benchmarks, args.tasks)
    out = Path(args.out)
    executor, device = _executor(args)
    with executor, ScoreStore(args.store or out / "scores.sqlite") as store:
        cols = run_grid(columns, proxies=args.proxies, n_archs=args.archs, n_archs_per=args.archs_per, seed=args.seed, repeats=args.repeats,
                        store=store, device=device, data_dir=args.data_dir, shard=args.shard,
                        retry_failed=args.retry_failed, progress=not args.no_progress, executor=executor)
    if args.shard is not None:
        print(f"scored shard {args.shard[0]}/{args.shard[1]} of {len(columns)} columns into {args.store or out / 'scores.sqlite'}; "
              "rerun without --shard for the grid")
        return 0
    command = "swapnas " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("swapnas") else ""
    paths = write_grid(cols, out, command)
    print((out / "grid.md").read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _add_search(sub: argparse._SubParsersAction) -> None:
    from .search import EAConfig

    d = EAConfig()
    p = sub.add_parser(
        "search",
        help="SWAP-NAS: evolutionary search with a training-free fitness (default: best; resumable)",
        description="Evolutionary search (random scored population; each cycle: sample K, best parent or crossover "
        "of the best two, up to M mutations, add the best child, remove the worst) with a training-free fitness "
        "of the space's proxy network (--fitness: best by default, swap_reg for the paper's SWAP-NAS). Scores go to --store; the state to OUT/state.json after every cycle: "
        "rerun the same command to resume.",
    )
    p.add_argument("--space", default="nb201", choices=["nb201", "darts"])
    p.add_argument("--dataset", default="cifar10", help="nb201: cifar10, cifar100, imagenet16-120; darts: cifar10, imagenet")
    p.add_argument("--fitness", default="best", help="any per-arch proxy (`swapnas proxies`); best (default) = the "
                   "recommended fitness under the space's fitness protocol; swap_reg = the paper's SWAP-NAS")
    p.add_argument("--seed", type=int, default=0, help="the EA's seed (sampling, parents, mutations)")
    p.add_argument("--score-seed", type=int, default=0, help="the scores' seed (init, batch); kept fixed so "
                   "searches with different --seed share the store")
    p.add_argument("--population", type=int, default=d.population, help=f"P (default {d.population})")
    p.add_argument("--sample", type=int, default=d.sample, help=f"K, tournament size (default {d.sample})")
    p.add_argument("--mutations", type=int, default=d.mutations, help=f"M, children per cycle (default {d.mutations})")
    p.add_argument("--cycles", type=int, default=d.cycles, help=f"(default {d.cycles})")
    p.add_argument("--crossover", type=float, default=d.crossover, help=f"crossover probability (default {d.crossover})")
    p.add_argument("--max-evals", type=int, default=None, help="stop after this many evaluations")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this many seconds (this process)")
    p.add_argument("--mu", type=float, default=None, help="size-prior centre, thousands of params of the proxy net")
    p.add_argument("--sigma", type=float, default=None, help="size-prior width, thousands^2 (unsquared)")
    p.add_argument("--target-params", type=_millions, default=None, metavar="4.0M",
                   help="aim at this final-network size instead of --mu/--sigma (mapping in docs/search.md)")
    p.add_argument("--tolerance", type=float, default=0.1, help="relative width of --target-params (default 0.1)")
    p.add_argument("--prior", type=float, nargs=2, default=None, metavar=("CENTRE", "WIDTH"),
                   help="size-prior rule: mu = lo + CENTRE*(hi-lo), sigma = (WIDTH*(hi-lo))^2 over the proxy "
                   "net's size range (default: nb201 1.0 0.3, chosen on CIFAR-10 searches; darts 0.8 1.0)")
    p.add_argument("--max-params", type=_millions, default=None, metavar="5M", help="hard limit, final network")
    p.add_argument("--max-macs", type=_millions, default=None, metavar="600M",
                   help="hard limit on multiply-adds of the final network (one image)")
    p.add_argument("--refine", type=int, default=None, metavar="K",
                   help="second stage: re-score the K fittest archs with --refine-repeats inits, return the best "
                   "(default for best: the space's, nb201 3; 0 = none)")
    p.add_argument("--refine-repeats", type=int, default=None, metavar="R",
                   help="repeats of the second stage (default for best: the space's, nb201 4)")
    p.add_argument("--net", type=_net, default={}, metavar="K=V,…", help="override the scored proxy network")
    p.add_argument("--batch-size", type=int, default=None, help="samples S (default: the space's)")
    p.add_argument("--repeats", type=int, default=None, help="re-initialisations (default: the space's)")
    p.add_argument("--data-dir", default=None, help="swapnas data bundle (else $SWAPNAS_DATA)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--store", default=None, help="SQLite score store (default OUT/scores.sqlite)")
    p.add_argument("--out", required=True, help="output folder: result.json, state.json, search_curve.png, cell.png")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_search)


def _millions(text: str) -> float:
    t = text.strip().upper().rstrip("M")
    try:
        v = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size in millions like 4.0M or 4.0, not {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"size must be > 0 (got {text})")
    return v


def _cmd_search(args: argparse.Namespace) -> int:
    from .search import EAConfig, nb201_extras, run_search, write_result
    from .session import resolve_device
    from .store import ScoreStore

    config = EAConfig(args.population, args.sample, args.mutations, args.cycles, args.crossover)
    out = Path(args.out)
    with ScoreStore(args.store or out / "scores.sqlite") as store:
        result = run_search(
            args.space, args.dataset, config=config, seed=args.seed, store=store, out=out,
            device=resolve_device(args.device), score_seed=args.score_seed, mu=args.mu, sigma=args.sigma,
            target_params=args.target_params, tolerance=args.tolerance,
            prior=tuple(args.prior) if args.prior else None, max_params=args.max_params,
            max_macs=args.max_macs, max_evals=args.max_evals, max_seconds=args.max_seconds, net=args.net,
            batch_size=args.batch_size, repeats=args.repeats, data_dir=args.data_dir, progress=not args.no_progress,
            fitness=args.fitness, refine=args.refine, refine_repeats=args.refine_repeats,
        )
    if args.space == "nb201":
        result.extra = nb201_extras(result, args.data_dir)
    paths = write_result(result, out)
    print(f"best {result.space} arch (fitness {result.fitness:.6g}, {result.evaluations} evaluations, "
          f"{result.cycles} cycles, {result.wall_seconds:.1f} s):\n{result.best}")
    prior = "none" if result.mu is None else f"mu={result.mu:.4g} sigma={result.sigma:.4g}"
    print(f"fitness {result.fitness_proxy} | final network: {result.params_m:.3f} M params, "
          f"{result.macs_m:.1f} M multiply-adds | size prior {prior}")
    if result.extra:
        e = result.extra
        print(f"NB201 {result.dataset}: valid {e['valid_accuracy']:.2f} (rank {e['valid_rank']}), test "
              f"{e['test_accuracy']:.2f} (rank {e['test_rank']}, optimum {e['test_optimum']:.2f}, regret "
              f"{e['test_regret']:.2f})")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _add_conformance(sub: argparse._SubParsersAction) -> None:
    def run(args: argparse.Namespace) -> int:
        from .conformance import command

        return command(args)

    p = sub.add_parser(
        "conformance",
        help="score NASLib's archs with our metrics and compare with NASLib's stored zero-cost scores",
        description="Score the archs of NASLib's stored zero-cost file with our implementation of every metric "
        "it stores, under NASLib's setup (full network, PyTorch default init, BatchNorm train mode, 64 real "
        "images, 1 repeat, seed 0), and report Spearman rho(ours, NASLib), rho(ours, acc) and rho(NASLib, acc) "
        "against NASLib's stored val_accuracy. Resumes from --store.",
    )
    p.add_argument("--space", default="nb201", choices=["nb201"])
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet16-120"])
    p.add_argument("--proxies", default="all", help="comma-separated names, or 'all' (every metric NASLib stores)")
    p.add_argument("--archs", type=_archs, default=None, help="number of NASLib's archs drawn with seed 0, or 'all' (default)")
    p.add_argument("--seed", type=int, default=0, help="init and batch seed (not the arch draw): compare two seeds "
                   "to see how far two runs of our own implementation agree")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--data-dir", default=None, help="swapnas data bundle (else $SWAPNAS_DATA)")
    p.add_argument("--store", default=None, help="SQLite score store (default OUT/scores.sqlite)")
    p.add_argument("--retry-failed", action="store_true", help="re-score archs whose stored result is a failure")
    p.add_argument("--out", required=True, help="output folder for conformance.json and conformance.md")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _cmd_proxies(args: argparse.Namespace) -> int:
    import fnmatch

    from .proxies import ALIASES, get_proxy, list_proxies
    from .spaces import SPACES, get_space

    print(f"{'name':<20} {'higher_better':<13} {'grad':<5} {'labels':<6} {'input':<6} {'version':<7} description")
    for name in list_proxies(args.pattern):
        p = get_proxy(name)
        print(f"{p.name:<20} {str(p.higher_is_better):<13} {str(p.needs_grad):<5} {str(p.needs_labels):<6} "
              f"{p.input_kind:<6} {p.version:<7} {p.description}")
    for alias, target in sorted(ALIASES.items()):
        if fnmatch.fnmatch(alias, args.pattern):
            own = {s: get_space(s).FITNESS_PROTOCOL["proxy"] for s in SPACES
                   if "proxy" in getattr(get_space(s), "FITNESS_PROTOCOL", {})}
            where = "; ".join(f"{s}: {n}" for s, n in own.items())
            print(f"alias {alias} = {target}" + (f" (per space: {where})" if where else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swapnas", description="Training-free NAS with the SWAP-Score.")
    parser.add_argument("--version", action="version", version=f"swapnas {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_correlate(sub)
    _add_grid(sub)
    _add_search(sub)
    from .train import add_train_parser

    add_train_parser(sub)
    _add_conformance(sub)
    pp = sub.add_parser("proxies", help="list the registered training-free metrics")
    pp.add_argument("pattern", nargs="?", default="*", help="glob over names")
    pp.set_defaults(func=_cmd_proxies)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"swapnas: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("swapnas: interrupted; every finished score is in the store, rerun the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
