"""The ``swapnas`` command line: a thin layer over the library."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__


def _archs(text: str) -> int | None:
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


def _add_correlate(sub: argparse._SubParsersAction) -> None:
    from .spaces import nb201

    d = nb201.SCORING_DEFAULTS
    p = sub.add_parser(
        "correlate",
        help="score sampled archs with proxies and correlate with the benchmark's ground truth",
        description="Score archs of a benchmark with training-free proxies and report rank correlations "
        "with the ground truth (Spearman, Kendall, bootstrap CI, top-10%%). Resumes from --store.",
    )
    p.add_argument("--space", default="nb201", choices=["nb201"])
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet16-120"])
    p.add_argument("--proxies", default="swap,swap_reg,params", help="comma-separated names, or 'all' (see `swapnas proxies`)")
    p.add_argument("--archs", type=_archs, default=1000, help="number of archs sampled with --seed, or 'all'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=d["batch_size"], help=f"samples S per forward pass (default {d['batch_size']})")
    p.add_argument("--repeats", type=int, default=d["repeats"], help=f"re-initialisations averaged per arch (default {d['repeats']})")
    p.add_argument("--channels", type=int, default=d["net"]["C"], help=f"initial channels C of the scored net (default {d['net']['C']})")
    p.add_argument("--cells", type=int, default=d["net"]["N"], help=f"cells per stage N of the scored net (default {d['net']['N']}; the benchmark trains N=5)")
    p.add_argument("--init", default="gaussian", choices=["gaussian", "default"], help="gaussian: N(0,1) weights (the paper's); default: PyTorch's init")
    p.add_argument("--mu", type=float, default=None, help="swap_reg size-prior centre, thousands of params of the scored net (default: the space's rule)")
    p.add_argument("--sigma", type=float, default=None, help="swap_reg size-prior width, thousands^2, unsquared (default: the space's rule)")
    p.add_argument("--metric", default="valid", choices=["valid", "test"], help="ground-truth split (default valid)")
    p.add_argument("--epochs", type=int, default=200, choices=[200, 12], help="ground-truth training schedule")
    p.add_argument("--inputs", default="real", choices=["real", "synthetic"])
    p.add_argument("--fill", default="augment", choices=["augment", "error"], help="when the dataset has fewer real images than the batch")
    p.add_argument("--data-dir", default=None, help="swapnas data bundle (else $SWAPNAS_DATA)")
    p.add_argument("--image-root", default=None, help="torchvision-format dataset folder for the input images")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--store", default=None, help="SQLite score store (default OUT/scores.sqlite)")
    p.add_argument("--retry-failed", action="store_true", help="re-score archs whose stored result is a failure")
    p.add_argument("--out", required=True, help="output folder for results.json and plots")
    p.add_argument("--shard", type=_shard, default=None, metavar="I/K",
                   help="score only shard I of K (archs I, I+K, …) into --store and skip the table; "
                   "run K shards in parallel, then once without --shard for the table")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_correlate)


def _cmd_correlate(args: argparse.Namespace) -> int:
    from .benchmarks import GroundTruth
    from .benchmarks import get_benchmark
    from .correlate import pick_archs, prepare, resolve_device, run_correlation, score_archs, shard_of, write_outputs
    from .proxies import resolve
    from .report import failure_lines, protocol_text, results_table
    from .spaces import nb201
    from .store import ScoreStore

    truth = GroundTruth(args.dataset, args.metric, args.epochs)
    net = {"C": args.channels, "N": args.cells}
    proxies = resolve(args.proxies)
    if any(p.name == "swap_reg" for p in proxies):
        mu, sigma = nb201.default_size_prior(net) if args.mu is None or args.sigma is None else (None, None)
        mu = args.mu if args.mu is not None else mu
        sigma = args.sigma if args.sigma is not None else sigma
        proxies = [p.configure(mu=mu, sigma=sigma) if p.name == "swap_reg" else p for p in proxies]
    protocol, batch = prepare(
        space=args.space, dataset=args.dataset, batch_size=args.batch_size, repeats=args.repeats,
        seed=args.seed, init=args.init, net=net, inputs=args.inputs, data_dir=args.data_dir,
        image_root=args.image_root, fill=args.fill,
    )
    out = Path(args.out)
    device = resolve_device(args.device)
    with ScoreStore(args.store or out / "scores.sqlite") as store:
        if args.shard is not None:
            bench = get_benchmark(args.space, args.data_dir)
            archs = shard_of(pick_archs(bench.archs, args.archs, args.seed), args.shard)
            recs = score_archs(archs, args.space, proxies, protocol, batch, store, device, args.retry_failed,
                               not args.no_progress, f"shard {args.shard[0]}/{args.shard[1]}")
            failed = sum(not r.ok for rs in recs.values() for r in rs)
            print(f"scored shard {args.shard[0]}/{args.shard[1]}: {len(archs)} archs, {failed} failed scores, "
                  f"in {store.path}; rerun without --shard for the table")
            return 0
        run = run_correlation(
            space=args.space, dataset=args.dataset, proxies=proxies, n_archs=args.archs, protocol=protocol,
            batch=batch, store=store, device=device, truth=truth, data_dir=args.data_dir,
            retry_failed=args.retry_failed, progress=not args.no_progress,
        )
    write_outputs(run, out)
    print(protocol_text(run.protocol, run.ground_truth, run.batch_note))
    for p in proxies:
        if p.options:
            print(f"{p.name}: {p.key}")
    print(f"device {device} | wall {run.wall_seconds:.1f} s (stored scores are reused)\n")
    print(results_table(run.results))
    for line in failure_lines(run.results):
        print(line)
    print(f"\nwrote {out / 'results.json'} and scatter_*.png")
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
    from .proxies import get_proxy, list_proxies

    print(f"{'name':<12} {'higher_better':<13} {'grad':<5} {'labels':<6} {'input':<6} {'version':<7} description")
    for name in list_proxies(args.pattern):
        p = get_proxy(name)
        print(f"{p.name:<12} {str(p.higher_is_better):<13} {str(p.needs_grad):<5} {str(p.needs_labels):<6} "
              f"{p.input_kind:<6} {p.version:<7} {p.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swapnas", description="Training-free NAS with the SWAP-Score.")
    parser.add_argument("--version", action="version", version=f"swapnas {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_correlate(sub)
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
