"""Argument types and the options several commands share (as argparse parent parsers)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

from .. import arg_checks
from ..search import checks as search_checks
from ..search.evolution import EAConfig


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
    if v < low:
        raise argparse.ArgumentTypeError(f"expected {what} (got {v})")
    return v


def _int_in(low: int, high: int, why: str) -> Callable[[str], int]:
    """argparse type: an integer in low..high; ``why`` says what the ceiling guards (session 56: a huge --repeats
    ended in an SQLite OverflowError, a huge --batch-size or --cells ran for hours, --threads said "Overflow when
    unpacking long long")."""
    floor = "a positive integer" if low == 1 else f"an integer >= {low}"  # positive_int's, non_negative_int's words

    def parse(text: str) -> int:
        v = _int_at_least(text, low, floor)
        if v > high:
            raise argparse.ArgumentTypeError(f"expected an integer in {low}..{high}{why} (got {v})")
        return v
    return parse


#: ceilings of sizes and counts: far above any protocol's (S ≤ 512, R ≤ 32, C ≤ 128 …), below what runs for hours
repeats_int = _int_in(1, 10_000, ", re-initialisations per arch")
samples_int = _int_in(1, 1 << 16, ", samples per forward pass")
resolution_int = _int_in(1, 4096, ", pixels per side")
net_size_int = _int_in(1, 1024, "")
threads_int = _int_in(1, 1024, ", torch threads per process")
prefetch_int = _int_in(0, 1024, ", archs built ahead")
workers_int = _int_in(1, 1024, ", scoring processes")


def path_text(text: str) -> str:
    """argparse type: a path, not empty (``--out "$OUT"`` with OUT unset wrote into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, not an empty string (an unset shell variable?)")
    return text


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def synthetic_images(text: str) -> int:
    """argparse type for train --synthetic: an integer >= 2, synthetic_data's least (session 65: 1 was parsed and
    then refused by the command)."""
    return _int_at_least(text, 2, "an integer >= 2")


#: the largest seed every generator takes (torch's manual_seed: a signed 64-bit integer)
MAX_SEED = arg_checks.MAX_SEED


def seed_int(text: str) -> int:
    """argparse type for seeds: an integer in 0..2**63-1."""
    v = _int_at_least(text, 0, f"a seed in 0..{MAX_SEED}")
    if v > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed in 0..{MAX_SEED} (got {v})")
    return v


def _finite(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected {what} (got {text}: not a finite number)")
    return v


def finite_float(text: str) -> float:
    """argparse type: any finite number (no nan, no inf)."""
    return _finite(text, "a finite number")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    v = _finite(text, "a finite number > 0")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0 (got {text})")
    return v


def probability(text: str) -> float:
    """argparse type: a finite number in [0, 1]."""
    v = _finite(text, "a probability in [0, 1]")
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1] (got {text})")
    return v


#: what --device accepts (availability is checked when the run starts: devices.resolve_device)
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def device_name(text: str) -> str:
    """argparse type for --device: auto, cpu, cuda, cuda:N or mps."""
    if not DEVICE_PATTERN.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; accepted: auto, cpu, cuda, cuda:N (GPU N), mps")
    return text.strip()


class DefaultArchs(arg_checks.AtMost):
    """The default of --archs: at most this many (a benchmark with fewer gives all of them); a number
    given on the command line must not exceed the archs there are."""


def archs(text: str) -> int | None:
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


def shard(text: str) -> tuple[int, int]:
    """argparse type for --shard: ``I/K`` with 0 <= I < K."""
    try:
        i, k = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes I/K, e.g. 0/4, not {text!r}") from None
    if not 0 <= i < k:
        raise argparse.ArgumentTypeError(f"--shard I/K needs 0 <= I < K (got {text})")
    return i, k


def net_options(text: str) -> dict:
    """``KEY=VALUE[,KEY=VALUE…]`` → dict; values parsed as int, float, true/false, else str."""
    out: dict = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"--net takes KEY=VALUE pairs joined by ',', e.g. C=16,N=2; bad item {item!r}")
        if key.strip() in out:
            raise argparse.ArgumentTypeError(f"--net names {key.strip()} twice ({text!r}); give each key once")
        v: object = value.strip()
        for cast in (int, float):
            try:
                v = cast(value)
                break
            except ValueError:
                pass
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"--net values must be finite numbers; bad item {item!r}")
        if isinstance(v, str) and v.lower() in ("true", "false"):
            v = v.lower() == "true"
        out[key.strip()] = v
    return out


class MergeNet(argparse.Action):
    """``--net`` (and ``--refine-net``) given more than once: the pairs are merged (``--net C=4 --net N=1`` is
    ``--net C=4,N=1``); a key named twice is refused, as within one value."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        given = getattr(namespace, self.dest, None)
        merged = dict(given) if isinstance(given, dict) and given is not self.default else {}  # the default: a 1st
        pairs = dict(values) if isinstance(values, dict) else {}  # net_options made it
        twice = sorted(set(merged) & set(pairs))
        if twice:
            parser.error(f"{option_string} names {', '.join(twice)} twice; give each key once")
        merged.update(pairs)
        setattr(namespace, self.dest, merged)


def triple(text: str) -> tuple[float, float, float]:
    """argparse type for --mean/--std: three comma-separated numbers."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three numbers R,G,B like 0.5,0.5,0.5, not {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers R,G,B, got {len(values)} in {text!r}")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected three finite numbers R,G,B, not {text!r}")
    return values


def unit_triple(text: str) -> tuple[float, float, float]:
    """argparse type for --mean: three comma-separated numbers in [0, 1] (the pixels' range after loading: a mean in
    0..255 units was taken until session 57, and shifted every normalised pixel far below zero)."""
    values = triple(text)
    if min(values) < 0 or max(values) > 1:
        raise argparse.ArgumentTypeError(f"expected three numbers in [0, 1] (a mean per channel of pixels in [0, 1]; "
                                         f"divide 0..255 values by 255), not {text!r}")
    return values


def positive_triple(text: str) -> tuple[float, float, float]:
    """argparse type for --std: three comma-separated finite numbers > 0."""
    values = triple(text)
    if min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected three numbers > 0 (a std per channel), not {text!r}")
    return values


def archs_per(text: str) -> dict[str, int | None]:
    """argparse type for --archs-per: ``BENCH=N[,…]``, each benchmark named once."""
    out: dict[str, int | None] = {}
    for item in filter(None, text.split(",")):
        name, sep, n = item.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"--archs-per takes BENCH=N pairs, e.g. nb201=1000; bad item {item!r}")
        if name.strip() in out:
            raise argparse.ArgumentTypeError(f"--archs-per names {name.strip()!r} twice")
        try:
            out[name.strip()] = archs(n.strip())
        except argparse.ArgumentTypeError as exc:  # (session 61: "--archs must be >= 1" named the other flag)
            raise argparse.ArgumentTypeError(f"--archs-per {name.strip()}={n.strip()}: "
                                             f"{str(exc).removeprefix('--archs ')}") from None
    return out


def search_space(text: str) -> str:
    """argparse type for ``search --space``: a benchmark's name (nb301, darts_swap) is refused with its search space,
    another unknown name with the searchable spaces (session 65: argparse's ``choices`` offered nb101 and TransNAS,
    which the command then refused); a registered space that cannot be searched is refused by the command with what
    it lacks."""
    from ..benchmarks import BENCHMARKS, benchmark_class
    from ..errors import did_you_mean
    from ..spaces import SPACES, searchable_spaces

    if text not in SPACES and text in BENCHMARKS:
        space = benchmark_class(text).space
        raise argparse.ArgumentTypeError(f"{text!r} is a benchmark (ground truth) of the {space} space, not a search "
                                         f"space: search its archs with --space {space}")
    if text not in SPACES:
        searchable = searchable_spaces()
        raise argparse.ArgumentTypeError(f"unknown search space {text!r}{did_you_mean(text, searchable)} "
                                         f"(searchable: {', '.join(searchable)})")
    return text


def ray_gpus(text: str) -> float:
    """argparse type for --ray-gpus: GPUs per task, >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ray-gpus takes a number of GPUs per task, e.g. 1 or 0.25, not {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"--ray-gpus must be a finite number >= 0 (got {text})")
    return v


def millions(text: str) -> float:
    """argparse type for sizes in millions: ``4.0M`` or ``4.0``, > 0."""
    t = text.strip().upper()
    t = t[:-1] if t.endswith("M") else t  # one unit: "5MMM" is no size
    try:
        v = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size in millions like 4.0M or 4.0, not {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"size must be a finite number > 0 (got {text})")
    return v


class DefaultSample(int):
    """The default of search's --sample (K): lowered to --population by :class:`PopulationAction` when
    only a smaller --population is given (a --sample given on the command line is kept)."""

    #: K when nothing lowers it
    DEFAULT = EAConfig.sample


class PopulationAction(argparse.Action):
    """--population P: also lowers --sample's default K to P when K > P and --sample was not given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        k = getattr(namespace, "sample", None)
        if isinstance(k, DefaultSample) and isinstance(values, int):  # from the parser's default, not an earlier P
            namespace.sample = DefaultSample(min(values, DefaultSample.DEFAULT))


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default (unless it is None/False or the help already says it) and keeps
    the examples in the epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        unset = d is None or d is False or d is argparse.SUPPRESS or (isinstance(d, (dict, list)) and not d)
        if unset or "default" in text or not action.option_strings:  # (a default of 0 is shown)
            return text
        return super()._get_help_string(action) or text


#: exit codes of every command (README "Exit codes")
EXIT_OK, EXIT_ERROR, EXIT_FAILED_ARCHS, EXIT_INTERRUPTED = 0, 2, 3, 130

#: search --tolerance when --target-params is given without it (the flag's own default is None: given or not)
DEFAULT_TOLERANCE = search_checks.DEFAULT_TOLERANCE


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def global_parent(top: bool = False) -> argparse.ArgumentParser:
    """-v/--verbose, -q/--quiet, --json: accepted before and after the subcommand (the subcommand's
    copies default to SUPPRESS so they never undo a flag given before it)."""
    p = _parent()
    default: dict = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging", **default)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars and no table: only what was "
                   "written, warnings and errors", **default)
    p.add_argument("--json", action="store_true", help="print the result as one JSON document on stdout "
                   "(nothing else there: what else is printed goes to stderr; an error as "
                   "{\"error\": MESSAGE, \"exit\": CODE})", **default)
    return p


def device_parent() -> argparse.ArgumentParser:
    """--device and --no-progress: every command that computes."""
    p = _parent()
    p.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def data_parent() -> argparse.ArgumentParser:
    """--data-dir: every command that reads the data bundle."""
    p = _parent()
    p.add_argument("--data-dir", type=path_text, default=None, help="swapnas data bundle (default: $SWAPNAS_DATA, else "
                   "$XDG_DATA_HOME/swapnas/data, i.e. ~/.local/share/swapnas/data, if it exists)")
    return p


def store_path(args: argparse.Namespace) -> Path:
    """A scoring command's store: ``--store``, default OUT/scores.sqlite."""
    return Path(args.store) if args.store else Path(args.out) / "scores.sqlite"


def store_parent(retry: bool = True) -> argparse.ArgumentParser:
    """--store (and --retry-failed): every command that keeps scores."""
    p = _parent()
    p.add_argument("--store", type=path_text, default=None, help="SQLite score store (default OUT/scores.sqlite)")
    if retry:
        p.add_argument("--retry-failed", action="store_true", help="re-score archs whose stored result is a failure")
        p.add_argument("--allow-failures", action="store_true", help="exit 0 even when some archs failed "
                       f"(default: exit {EXIT_FAILED_ARCHS} after writing the results)")
    return p


def executor_parent() -> argparse.ArgumentParser:
    """Where the archs are scored: here, or on Ray workers (results always go to --store from here)."""
    p = _parent()
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local: score on this machine (--workers processes); ray: one Ray task per arch on a local Ray "
                   "instance or the cluster at --address (needs pip install 'ray>=2.9'); same scores, same store")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="--executor ray: address of a running Ray cluster, e.g. auto or HOST:6379 "
                   "(default: $RAY_ADDRESS if set, else start a local Ray instance)")
    p.add_argument("--ray-cpus", type=positive_int, default=None, metavar="N",
                   help="--executor ray: CPUs of the local Ray instance = parallel CPU tasks (default: all)")
    p.add_argument("--ray-gpus", type=ray_gpus, default=None, metavar="G",
                   help="--executor ray: GPUs per task, e.g. 1, or 0.25 for four tasks per GPU; tasks then score "
                   "on cuda (default: 1 when --device is cuda, or auto and this machine has CUDA; else 0)")
    p.add_argument("--workers", type=workers_int, default=None, metavar="N",
                   help="--executor local: scoring processes (default on a CPU: one per usable core, or "
                   "$SWAPNAS_WORKERS; on a GPU: 1; with --prefetch: 1, and it cannot be larger); "
                   "1 = score in this process")
    p.add_argument("--threads", type=threads_int, default=1, metavar="T",
                   help="torch threads per local worker (default 1: the cores go to --workers)")
    p.add_argument("--prefetch", type=prefetch_int, default=0, metavar="K",
                   help="--executor local, throughput mode: a thread builds and initialises the next K archs' "
                   "networks while the current one is scored, where every metric scored, bases included, keeps "
                   "the model it scores (swap, swap_ext, params, vkdnw, AZ-NAS's expressivity, progressivity and "
                   "trainability, and metrics derived from those alone: swap_reg, flexibert's `best`); with another "
                   "(nwot, fisher, nb201's and darts' `best`, …) a warning says so and each network is built as it "
                   "is scored (same scores; default 0 = off)")
    return p


def scoring_parent() -> argparse.ArgumentParser:
    """The scoring protocol of a correlation run over a benchmark's archs."""
    p = _parent()
    p.add_argument("--proxies", default="swap,swap_reg,params", help="comma-separated names (see `swapnas proxies`), "
                   "or 'all': every proxy the space's networks can take, under the space's SWAP protocol")
    p.add_argument("--archs", type=archs, default=DefaultArchs(1000), help="number of archs sampled with --seed per "
                   "task (at most the benchmark's), or 'all'")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the arch sample, the input batch and the inits")
    p.add_argument("--batch-size", type=samples_int, default=None,
                   help="samples S per forward pass (default: the space's; nb201 16)")
    p.add_argument("--repeats", type=repeats_int, default=None,
                   help="re-initialisations averaged per arch (default: the space's; nb201 4; `best` alone: its "
                   "fitness protocol's, 1; `best` beside other metrics on nb201: none, give --repeats and --init, "
                   "the run is refused without them)")
    p.add_argument("--net", type=net_options, default={}, action=MergeNet, metavar="K=V,…",
                   help="override options of the scored network, e.g. C=32,N=2 (nb201), C=3,layers=1,stem=false (darts)")
    p.add_argument("--init", default=None, choices=["gaussian", "default"],
                   help="gaussian: N(0,1) weights (the paper's); default: the network's own init, PyTorch's (on "
                   "flexibert the builder's N(0, 0.02), as BERT's) (default: the space's protocol: gaussian, but the "
                   "network's own on flexibert and for `best` alone, its fitness protocol's; `best` beside other "
                   "metrics, but on flexibert: none, give --init (and --repeats where the two differ in it), the run "
                   "is refused without it)")
    p.add_argument("--mu", type=finite_float, default=None, help="swap_reg size-prior centre, thousands of params of the scored net (default: the space's rule)")
    p.add_argument("--sigma", type=positive_float, default=None, help="swap_reg size-prior width, thousands^2, unsquared, > 0 (default: the space's rule)")
    p.add_argument("--inputs", default="real", choices=["real", "synthetic"],
                   help="real: images of the dataset from the bundle (or --image-root), English prose on flexibert "
                   "(the Python documentation's, docs/transformers.md); "
                   "synthetic: N(0, 1) noise, uniform random word ids on flexibert")
    p.add_argument("--fill", default="augment", choices=["augment", "error"], help="when the dataset has fewer real images than the batch")
    p.add_argument("--image-root", type=path_text, default=None, help="your images: a torchvision-format dataset "
                   "folder or one sub-folder of images per class (only the S drawn files are opened)")
    p.add_argument("--num-classes", type=positive_int, default=None, metavar="K",
                   help="--image-root: classes of your images = the scored network's outputs (default: the dataset's)")
    p.add_argument("--resolution", type=resolution_int, default=None, metavar="R",
                   help="--image-root: resize your images to R x R (default: the dataset's)")
    p.add_argument("--mean", type=unit_triple, default=None, metavar="R,G,B",
                   help="--image-root: per-channel mean of your images in [0, 1] (default: the dataset's)")
    p.add_argument("--std", type=positive_triple, default=None, metavar="R,G,B",
                   help="--image-root: per-channel std of your images, > 0 (default: the dataset's)")
    p.add_argument("--shard", type=shard, default=None, metavar="I/K",
                   help="score only shard I of K (archs I, I+K, …) into --store and skip the table; "
                   "run K shards in parallel, then once without --shard for the table (shards on machines "
                   "without a shared --store: `swapnas store merge` their stores first)")
    return p
