"""Every subcommand's parser; each sets ``func`` to its command in :mod:`.commands`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from ..benchmarks import BENCHMARKS
from ..export import FORMATS
from ..search import EAConfig
from ..spaces import SPACES, get_space, searchable_spaces
from ..train import RECIPES, SCHEDULES, TrainConfig
from ..train.recipe import config_flag
from . import commands, search_command
from .args import (
    DEFAULT_TOLERANCE,
    DefaultArchs,
    DefaultSample,
    HelpFormatter,
    MergeNet,
    PopulationAction,
    archs,
    archs_per,
    data_parent,
    device_parent,
    executor_parent,
    finite_float,
    global_parent,
    millions,
    net_options,
    net_size_int,
    non_negative_int,
    path_text,
    positive_float,
    positive_int,
    probability,
    repeats_int,
    samples_int,
    scoring_parent,
    search_space,
    seed_int,
    shard,
    store_parent,
    synthetic_images,
)

Sub = argparse._SubParsersAction


def add_correlate(sub: Sub) -> None:
    p = sub.add_parser(
        "correlate", formatter_class=HelpFormatter, epilog="example:\n  swapnas correlate --space nb201 --dataset cifar100 --proxies swap,swap_reg,params --archs 1000 --data-dir ../shared/data --out runs/c100\n  swapnas correlate --space darts --truth my_archs.csv --proxies best --archs all --data-dir ../shared/data --out runs/mine",
        parents=[global_parent(), scoring_parent(), device_parent(), data_parent(), store_parent(), executor_parent()],
        help="score sampled archs with proxies and correlate with the benchmark's ground truth",
        description="Score archs of a benchmark with training-free proxies and report rank correlations "
        "with the ground truth (Spearman, Kendall, bootstrap CI, top-10%). Resumes from --store.",
    )
    p.add_argument("--space", default="nb201", choices=list(dict.fromkeys([*BENCHMARKS, *SPACES])),
                   help="benchmark (nb301 / darts_swap = the DARTS space with NAS-Bench-301 / the SWAP authors' ground "
                   "truth); with --truth: the space of the file's archs")
    p.add_argument("--truth", type=path_text, default=None, metavar="FILE.csv",
                   help="your own ground truth: a CSV with an arch column (archs of --space) and an accuracy column "
                   "[and a task column]; columns found by name (README, 'Your own ground truth')")
    p.add_argument("--arch-column", default=None, help="--truth: the column holding the archs (default: the first "
                   "column that parses as archs of --space)")
    p.add_argument("--accuracy-column", default=None, help="--truth: the accuracy column (default: the one column "
                   "named *acc*, else the last numeric column)")
    p.add_argument("--dataset", default=None, help="dataset or task (default: the benchmark's first; nb201: cifar10, "
                   "cifar100, imagenet16-120; transnas_*: class_object, class_scene, room_layout, jigsaw, autoencoder, "
                   "normal, segmentsemantic)")
    p.add_argument("--channels", type=net_size_int, default=None, help="shortcut for --net C=…")
    p.add_argument("--cells", type=net_size_int, default=None,
                   help="nb201 only: shortcut for --net N=… (cells per stage; the benchmark trains N=5)")
    p.add_argument("--metric", default="valid", choices=["valid", "test"], help="ground-truth split (nb201 only; default valid)")
    p.add_argument("--epochs", type=int, default=200, choices=[200, 12], help="ground-truth training schedule (nb201 only)")
    p.add_argument("--out", type=path_text, required=True, help="output folder for results.json and plots")
    p.set_defaults(func=commands.correlate)


def add_grid(sub: Sub) -> None:
    p = sub.add_parser(
        "grid", formatter_class=HelpFormatter, epilog="example:\n  swapnas grid --benchmarks nb201 --proxies swap,params,nwot --archs 200 --data-dir ../shared/data --out runs/grid",
        parents=[global_parent(), device_parent(), data_parent(), store_parent(), executor_parent()],
        help="every metric on every benchmark task (the paper's Fig. 4): grid.md, grid.json, grid.tex, grid.png",
        description="Score sampled archs of every benchmark task with every metric under each space's default "
        "protocol (at --repeats 1) and write the Spearman-rho grid (markdown, JSON, heat map). Resumes from --store; "
        "--shard I/K scores one slice of every column (run K in parallel, then once without --shard).",
    )
    p.add_argument("--benchmarks", default="all", help=f"comma-separated: {','.join(BENCHMARKS)}")
    p.add_argument("--tasks", default="all", help="comma-separated datasets/tasks to keep (default all)")
    p.add_argument("--proxies", default="all", help="comma-separated names, or 'all'")
    p.add_argument("--archs", type=archs, default=DefaultArchs(1000),
                   help="archs sampled with --seed per column (at most; a number given above a column's count is "
                   "warned about), or 'all'")
    p.add_argument("--archs-per", type=archs_per, default={}, metavar="BENCH=N,…",
                   help="per-benchmark override of --archs, e.g. nb201=1000,transnas_macro=100")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of each column's arch sample, batch and inits")
    p.add_argument("--repeats", type=repeats_int, default=1,
                   help="re-initialisations per arch for every metric (default 1)")
    p.add_argument("--init", default=None, choices=["gaussian", "default"],
                   help="init of every metric: gaussian (N(0,1), the SWAP protocol) or default (PyTorch's). Default: "
                   "each column's space protocol; `best` alone gets its fitness protocol; `best` beside other metrics "
                   "gets gaussian with them (a warning says so)")
    p.add_argument("--shard", type=shard, default=None, metavar="I/K", help="score only shard I of K of every column")
    p.add_argument("--out", type=path_text, required=True,
                   help="output folder for grid.md, grid.json, grid.tex, grid.png, report.md (and scores.sqlite, the "
                   "default --store)")
    p.set_defaults(func=commands.grid)


def _add_search_budget(p: argparse.ArgumentParser) -> None:
    d = EAConfig()
    p.add_argument("--population", type=positive_int, default=d.population, action=PopulationAction,
                   help=f"P (default {d.population})")
    p.add_argument("--sample", type=positive_int, default=DefaultSample(d.sample),
                   help=f"K, tournament size (default {d.sample}, or P when only a smaller --population is given)")
    p.add_argument("--mutations", type=positive_int, default=d.mutations, help=f"M, children per cycle (default {d.mutations})")
    p.add_argument("--cycles", type=non_negative_int, default=d.cycles, help="EA cycles after the initial population; "
                   f"a larger value given to a saved search in --out extends it (default {d.cycles})")
    p.add_argument("--crossover", type=probability, default=d.crossover, help=f"crossover probability in [0, 1] (default {d.crossover})")
    p.add_argument("--max-evals", type=positive_int, default=None, help="start no cycle once this many evaluations are done (the running cycle, or the initial "
                   "population, is finished, so up to M - 1 (P - 1) more are made and a resumed run equals one run; "
                   "default: no limit)")
    p.add_argument("--max-seconds", type=positive_float, default=None,
                   help="start no cycle once this process has searched this many seconds (checked between cycles, as "
                        "--max-evals: the initial population and the running cycle are finished, and the second stage "
                        "runs after it; default: no limit)")


def _add_search_stage(p: argparse.ArgumentParser) -> None:
    """The search's second stage (``search.fitness.SecondStage``); the help reads each space's
    ``FITNESS_PROTOCOL["refine"]`` (read once here), e.g. 'nb201 20, darts 20'."""
    own = {s: r for s in searchable_spaces() if (r := getattr(get_space(s), "FITNESS_PROTOCOL", {}).get("refine"))}

    def _stage_default(key: str, fmt: Callable[[Any], str] = str) -> str:
        return ", ".join(f"{s} {fmt(r[key])}" for s, r in own.items())

    nets = _stage_default("net", lambda net: ",".join(f"{k}={v}" for k, v in net.items()))
    p.add_argument("--refine", type=non_negative_int, default=None, metavar="K",
                   help="second stage: re-score the K fittest archs (K >= 2; 0 or 1 = none) under the --refine-* "
                   "protocol, return the best "
                   f"(default for best: the space's, {_stage_default('k')}; else 0 = none)")
    p.add_argument("--refine-repeats", type=repeats_int, default=None, metavar="R",
                   help=f"repeats of the second stage (default for best: the space's, {_stage_default('repeats')}; else 4)")
    p.add_argument("--refine-net", type=net_options, default=None, action=MergeNet, metavar="K=V,…",
                   help=f"second stage: options changed on the scored network ('' = none; default for best: the space's, "
                   f"{nets}; else none)")
    p.add_argument("--refine-batch-size", type=samples_int, default=None, metavar="S",
                   help=f"samples S of the second stage (default for best: the space's, {_stage_default('batch_size')}; "
                   "else the first stage's)")


def _add_search_size(p: argparse.ArgumentParser) -> None:
    rule = ("default: swap_reg: the space's rule (--prior); other fitnesses: no size prior; given: swap_reg, best or a "
            "log-linear combination only")
    p.add_argument("--mu", type=finite_float, default=None,
                   help=f"size-prior centre, thousands of params of the proxy net; with --sigma ({rule})")
    p.add_argument("--sigma", type=positive_float, default=None,
                   help=f"size-prior width, thousands^2 (unsquared), > 0; with --mu ({rule})")
    p.add_argument("--target-params", type=millions, default=None, metavar="4.0M",
                   help="aim at this final-network size instead of --mu/--sigma (mapping in docs/search.md)")
    p.add_argument("--tolerance", type=positive_float, default=None,
                   help=f"relative width of --target-params, > 0; only with it (default {DEFAULT_TOLERANCE})")
    p.add_argument("--prior", type=finite_float, nargs=2, default=None, metavar=("CENTRE", "WIDTH"),
                   help="size-prior rule: mu = lo + CENTRE*(hi-lo), sigma = (WIDTH*(hi-lo))^2 over the proxy "
                   "net's size range (swap_reg only; default: nb201 0.8 0.5, chosen on the CIFAR-10 dev sample; darts "
                   "0.8 1.0)")
    p.add_argument("--max-params", type=millions, default=None, metavar="5M",
                   help="hard limit on the final network's parameters (default: no limit)")
    p.add_argument("--max-macs", type=millions, default=None, metavar="600M",
                   help="hard limit on multiply-adds of the final network (one input: an image, on flexibert a "
                   "sequence of the final network's length; default: no limit)")


def _fitness_protocol_default(key: str) -> str:
    """What search's ``--batch-size`` / ``--repeats`` default to: the fitness's own protocol (``session.own_protocol``),
    each searchable space's value (session 65: "the space's" read as its SCORING_DEFAULTS, nb201 4 repeats, where the
    default search, best, runs 1)."""
    spaces = [(s, get_space(s)) for s in searchable_spaces()]
    fitness = ", ".join(f"{s} {(getattr(m, 'FITNESS_PROTOCOL', None) or m.SCORING_DEFAULTS)[key]}" for s, m in spaces)
    other = ", ".join(f"{s} {m.SCORING_DEFAULTS[key]}" for s, m in spaces)
    return (f"the fitness's own protocol: for best (and the proxy it names, or one it named before) the space's "
            f"FITNESS_PROTOCOL, {fitness}; for another proxy the space's scoring defaults, {other}")


def add_search(sub: Sub) -> None:
    p = sub.add_parser(
        "search", formatter_class=HelpFormatter, epilog="example:\n  swapnas search --space nb201 --dataset cifar10 --seed 0 --data-dir ../shared/data --out runs/search\n  swapnas search --space darts --dataset cifar10 --target-params 4.0M --data-dir ../shared/data --out runs/darts",
        parents=[global_parent(), device_parent(), data_parent(), store_parent(retry=False), executor_parent()],
        help="SWAP-NAS: evolutionary search with a training-free fitness (default: best; resumable)",
        description="Evolutionary search (random scored population; each cycle: sample K, best parent or crossover "
        "of the best two, up to M mutations, add the best child, remove the worst) with a training-free fitness "
        "of the space's proxy network (--fitness: best by default, swap_reg for the paper's SWAP-NAS). Scores go "
        "to --store; the state to OUT/state.json after every cycle: rerun the same command to resume.",
    )
    p.add_argument("--space", default="nb201", type=search_space, metavar="{" + ",".join(searchable_spaces()) + "}",
                   help="search space: "
                   f"{', '.join(searchable_spaces())} (a registered space with crossover, cell drawing and final "
                   "networks; another one is refused with what it lacks)")
    p.add_argument("--dataset", default=None, help="the final network's dataset or task (default: the space's "
                   "first): " + "; ".join(f"{s}: {', '.join(get_space(s).FINAL_NETS)}" for s in searchable_spaces()))
    p.add_argument("--fitness", default="best", help="any per-arch proxy (`swapnas proxies`); best (default) = the "
                   "recommended fitness under the space's fitness protocol; swap_reg = the paper's SWAP-NAS")
    p.add_argument("--seed", type=seed_int, default=0, help="the EA's seed (sampling, parents, mutations)")
    p.add_argument("--score-seed", type=seed_int, default=0, help="the scores' seed (init, batch); kept fixed so "
                   "searches with different --seed share the store")
    _add_search_budget(p)
    _add_search_size(p)
    _add_search_stage(p)
    p.add_argument("--net", type=net_options, default={}, action=MergeNet, metavar="K=V,…",
                   help="override the scored proxy network")
    p.add_argument("--batch-size", type=samples_int, default=None,
                   help=f"samples S (default: {_fitness_protocol_default('batch_size')})")
    p.add_argument("--repeats", type=repeats_int, default=None,
                   help=f"re-initialisations (default: {_fitness_protocol_default('repeats')})")
    p.add_argument("--out", type=path_text, required=True,
                   help="output folder: result.json, report.md, state.json, search_curve.png, cell.png (and "
                   "scores.sqlite, the default --store)")
    p.set_defaults(func=search_command.search)


def add_conformance(sub: Sub) -> None:
    p = sub.add_parser(
        "conformance", formatter_class=HelpFormatter, epilog="example:\n  swapnas conformance --dataset cifar10 --proxies nwot,synflow --archs 100 --data-dir ../shared/data --out runs/conf",
        parents=[global_parent(), device_parent(), data_parent(), store_parent()],
        help="score NASLib's archs with our metrics and compare with NASLib's stored zero-cost scores",
        description="Score the archs of NASLib's stored zero-cost file with our implementation of every metric "
        "it stores, under NASLib's setup (the network whose size NASLib stores, PyTorch default init, BatchNorm "
        "train mode, 64 images: real ones where the bundle has enough, flipped/shifted copies beside them where "
        "not (CIFAR-100, ImageNet16-120: 20 real), 1 repeat, seed 0; the differences that remain: "
        "docs/conformance.md), and report Spearman rho(ours, NASLib) with its bootstrap 95% CI, rho(ours, acc) and "
        "rho(NASLib, acc) against NASLib's stored val_accuracy. Resumes from --store. NASLib's networks are the "
        "benchmarks' full ones: on one CPU thread NB101's metrics together take about a minute per arch "
        "(docs/conformance.md); a small --archs first gives an idea.",
    )
    p.add_argument("--space", default="nb201", choices=["nb201", "nb101", "nb301"],
                   help="the benchmark of NASLib's file (nb301's archs are scored in the darts space)")
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet16-120"],
                   help="the dataset of NASLib's file (nb101 and nb301: cifar10 only)")
    p.add_argument("--proxies", default="all", help="comma-separated names, or 'all' (every metric NASLib stores)")
    p.add_argument("--archs", type=archs, default=None, help="number of NASLib's archs drawn with seed 0, or 'all' (default)")
    p.add_argument("--seed", type=seed_int, default=0, help="init and batch seed (not the arch draw): compare two seeds "
                   "to see how far two runs of our own implementation agree")
    p.add_argument("--out", type=path_text, required=True, help="output folder for conformance.json and conformance.md")
    p.set_defaults(func=commands.conformance)


def add_proxies(sub: Sub) -> None:
    p = sub.add_parser("proxies", parents=[global_parent()], formatter_class=HelpFormatter,
                       help="list the registered training-free metrics", epilog="example:\n  swapnas proxies 'swap*'")
    p.add_argument("pattern", nargs="?", default="*", help="glob over names")
    p.set_defaults(func=commands.proxies)


#: TrainConfig fields → metavars other than N / X (their flags: ``config_flag``)
_METAVARS = {"C": "C"}
_FLAG_HELP = {
    "epochs": "training epochs", "batch_size": "batch size", "lr": "initial learning rate",
    "momentum": "SGD momentum", "weight_decay": "weight decay", "schedule": "lr schedule: cosine or step",
    "lr_gamma": "step schedule only: lr factor per epoch",
    "cutout": "cutout square side, 0 = off (applied to CIFAR-10 and to --synthetic images, with --dataset imagenet "
    "too; ignored on ImageNet image folders, with a warning)",
    "drop_path": "drop-path probability, ramped linearly: epoch e (from 0) of E drops paths with X*e/E (0 in the "
    "first, X*(E-1)/E in the last), 0 = off",
    "auxiliary_weight": "auxiliary-head loss weight, 0 = no auxiliary head",
    "grad_clip": "gradient-norm clip, 0 = off", "label_smoothing": "label smoothing",
    "C": "initial channels C", "layers": "number of cells",
}


def _add_recipe_flags(p: argparse.ArgumentParser) -> None:
    """One ``--flag`` per TrainConfig field (dest ``cfg_<field>``, default None = the recipe's)."""
    base = RECIPES["cifar10"]
    for f in fields(TrainConfig):
        kind: Any = type(getattr(base, f.name))
        kind = finite_float if kind is float else kind  # ranges: TrainConfig's check
        flag = config_flag(f.name)
        extra: dict[str, Any] = {"choices": list(SCHEDULES)} if f.name == "schedule" else {}
        if f.name != "schedule":  # (its choices are its metavar)
            extra["metavar"] = _METAVARS.get(f.name) or ("N" if kind is int else "X")
        p.add_argument(flag, dest=f"cfg_{f.name}", type=kind, default=None,
                       help=f"{_FLAG_HELP[f.name]} ({_recipe_default(f.name)})", **extra)


def _recipe_default(name: str) -> str:
    """A recipe flag's default in its help; ``lr_gamma`` applies to the step schedule only (session 65: "cifar10 0.97"
    was named, and --lr-gamma is refused under the cifar10 recipe's cosine schedule)."""
    c10, imnet = getattr(RECIPES["cifar10"], name), getattr(RECIPES["imagenet"], name)
    if name != "lr_gamma":
        return f"default: the recipe's, cifar10 {c10}, imagenet {imnet}"
    step = [r for r, c in RECIPES.items() if c.schedule == "step"]
    cosine = [r for r, c in RECIPES.items() if c.schedule != "step"]
    own = ", ".join(f"the {r} recipe's {getattr(RECIPES[r], name)}" for r in step)
    given = "".join(f"; {r} with --schedule step: {getattr(RECIPES[r], name)}" for r in cosine)
    return f"default: {own}{given}; refused under the cosine schedule (the {', '.join(cosine)} recipe's)"


def add_train(sub: Sub) -> None:
    p = sub.add_parser(
        "train", formatter_class=HelpFormatter, epilog="example:\n  swapnas train --genotype runs/darts/result.json --dataset cifar10 --data-root ~/data --out runs/train\n  swapnas train --genotype runs/darts/result.json --synthetic 64 --epochs 1 --out /tmp/smoke",
        parents=[global_parent(), device_parent()],
        help="train a DARTS genotype from scratch with the DARTS evaluation recipe (resumable)",
        description="Train a DARTS genotype from scratch with the DARTS evaluation recipe of --dataset "
        "(cifar10: 20 cells, 36 channels, 600 epochs, cosine lr 0.025, cutout, drop-path 0.2, auxiliary 0.4; "
        "imagenet: mobile setting, 14 cells, 48 channels, 250 epochs, lr 0.1 x 0.97 per epoch, label "
        "smoothing 0.1). Every recipe field can be overridden (each flag and its defaults: docs/training.md). "
        "Writes OUT/checkpoint.pt every epoch, OUT/history.json and OUT/result.json; rerun the same command to "
        "resume (only --epochs may change, and how it runs: --eval-every, --device, --workers, --no-amp; a start "
        "without OUT/checkpoint.pt removes an earlier run's result.json and history.json).",
    )
    p.add_argument("--genotype", required=True,
                   help="'Genotype(normal=[...], ...)' string, NASLib's NB301 key ('[[(0, 2), ...], [...]]'), or a "
                   "result.json of `swapnas search --space darts`")
    p.add_argument("--dataset", default="cifar10", choices=list(RECIPES), help="recipe, network and data (default cifar10)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data-root", type=path_text, default=None, help="cifar10: the folder holding "
                     "cifar-10-batches-py/; imagenet: the folder holding train/<class>/ and val/<class>/")
    src.add_argument("--synthetic", type=synthetic_images, default=None, metavar="N",
                     help="train on N random images (10 classes, N >= 2; N more to test on) instead: smoke runs and "
                     "tests")
    _add_recipe_flags(p)
    p.add_argument("--max-steps", type=positive_int, default=None, metavar="N",
                   help="at most N training and N test batches per epoch (smoke runs)")
    p.add_argument("--eval-every", type=positive_int, default=1, metavar="E",
                   help="evaluate on the test split every E epochs (and after the last)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the init, the data order and the augmentation")
    p.add_argument("--workers", type=non_negative_int, default=4, help="DataLoader processes that read images (imagenet folders only); not "
                   "correlate/grid/search's scoring workers: training runs in this process")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--out", type=path_text, required=True,
                   help="output folder: checkpoint.pt, history.json, result.json")
    p.set_defaults(func=commands.train)


def add_export(sub: Sub) -> None:
    p = sub.add_parser(
        "export", parents=[global_parent()], formatter_class=HelpFormatter,
        help="write a score store as CSV or in NASLib's zero-cost JSON layout",
        description="Export every score of a SQLite score store: csv (one row per stored score, failures "
        "included) or naslib-zc (per space, the layout of NASLib's zc_<space>.json files: dataset or task -> arch "
        "-> proxy -> score, time, in NASLib's spelling: doc['nb201'] saved alone is such a file, NASLib's "
        "zc_nasbench201.json; nb101, darts and transnas_micro/_macro are its zc_nasbench101 (under 'nasbench101', "
        "scores alone, as NASLib's), zc_nasbench301 and zc_transbench101_*; one setting per dataset (--protocol "
        "chooses) and one version and options per metric, described with the conventions in a "
        "'provenance' key beside them: synflow as NASLib stores it, its log; NASLib's fisher is our fisher_fanin, "
        "ours is written fisher_swapnas; no val_accuracy; params and flops count the scored network, not NASLib's "
        "millions).",
        epilog="example:\n  swapnas export runs/c100/scores.sqlite --format csv --out runs/c100/scores.csv")
    p.add_argument("store", type=path_text, help="the SQLite score store (a run's OUT/scores.sqlite or its --store)")
    p.add_argument("--format", default="csv", choices=list(FORMATS), help="output format")
    p.add_argument("--protocol", default=None, help="keep only the scores of this protocol fingerprint, or of the "
                   "store's only fingerprint of this dataset (e.g. cifar100; `swapnas store check` lists them), in csv "
                   "and naslib-zc; naslib-zc needs it when a dataset's scores were made under several fingerprints "
                   "(not for runs of one fingerprint and other --repeats or networks: csv keeps those)")
    p.add_argument("--out", type=path_text, required=True, help="the file to write")
    p.set_defaults(func=commands.export_store)


def add_store(sub: Sub) -> None:
    p = sub.add_parser(
        "store", parents=[global_parent()], formatter_class=HelpFormatter,
        help="check a score store's integrity, salvage the readable scores of a damaged one, merge stores, or "
        "accept changed code",
        description="check: full SQLite integrity check, score and failure counts, protocols (exit 2 when damaged). "
        "salvage: copy every readable score and protocol of a damaged store into a new store (the damaged one is "
        "only read) and report how many were recovered and lost; rerunning a command with --store NEW scores the "
        "lost ones again. merge: gather stores into one. accept-code: record the code that runs now as the code of "
        "a store's scores (after a change that left the values alone).",
        epilog="example:\n  swapnas store check runs/c100/scores.sqlite\n  swapnas store salvage runs/c100/scores.sqlite "
        "--out runs/c100/salvaged.sqlite")
    actions = p.add_subparsers(dest="store_action", required=True, metavar="{check,salvage,merge,accept-code}")
    check = actions.add_parser("check", parents=[global_parent()], formatter_class=HelpFormatter,
                               help="integrity, counts and protocols of a store",
                               epilog="example:\n  swapnas store check runs/c100/scores.sqlite")
    check.add_argument("store", type=path_text,
                       help="the SQLite score store (a run's OUT/scores.sqlite or its --store)")
    salvage = actions.add_parser("salvage", parents=[global_parent()], formatter_class=HelpFormatter,
                                 help="copy every readable score of a damaged store into a new one",
                                 epilog="example:\n  swapnas store salvage runs/c100/scores.sqlite --out "
                                 "runs/c100/salvaged.sqlite")
    salvage.add_argument("store", type=path_text, help="the damaged SQLite score store (only read)")
    salvage.add_argument("--out", type=path_text, required=True, help="the new store to write (must not exist)")
    merge = actions.add_parser("merge", parents=[global_parent()], formatter_class=HelpFormatter,
                               help="copy the scores of several stores into one (e.g. grid shards run apart)",
                               description="Copy every score, failure and protocol of the source stores (only read) "
                               "into --into (made if missing): a key new there is added, a failure there gives way "
                               "to a source's score, a score there stays (the count of those a source gives another "
                               "value is printed).",
                               epilog="example:\n  swapnas store merge runs/shard0.sqlite runs/shard1.sqlite --into "
                               "runs/grid/scores.sqlite")
    merge.add_argument("sources", nargs="+", type=path_text, help="the stores to copy from (only read)")
    merge.add_argument("--into", type=path_text, required=True, help="the store to copy into (made if missing)")
    merge.add_argument("--mixed-code", action="store_true",
                       help="merge a source that records other code for a metric or network than --into or an "
                       "earlier source (refused by default: its scores would stand under the first code record)")
    accept = actions.add_parser("accept-code", parents=[global_parent()], formatter_class=HelpFormatter,
                                help="record the code that runs now as the code of a store's scores",
                                description="A run whose metric or network code differs from the code recorded "
                                "beside a store's scores (same version) reuses them and warns, in every run. If the "
                                "change left the values alone, this records the running code and ends the warnings; "
                                "if it did not, give the metric a new version= (a network: NET_VERSION) instead, "
                                "which scores them again. A metric of your own is accepted from the script that "
                                "registers it (python my_script.py store accept-code …).",
                                epilog="example:\n  swapnas store accept-code runs/c100/scores.sqlite swap")
    accept.add_argument("store", type=path_text,
                        help="the SQLite score store (a run's OUT/scores.sqlite or its --store)")
    accept.add_argument("names", nargs="*", metavar="NAME", help="only these: a metric (swap or swap@1) or a "
                        "space's networks (net:nb201); default: every recorded code that differs")
    p.set_defaults(func=commands.store)
