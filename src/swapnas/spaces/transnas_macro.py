"""TransNAS-Bench-101 macro (skeleton-level) space: 3,256 residual skeletons.

Official string ``64-<codes>-basic`` (README of ``yawen-d/TransNASBench``, e.g.
``64-1234-basic``): base channels 64, then 4 to 6 modules of two ResNet basic blocks,
one code digit per module -- 1 normal, 2 channels ×2, 3 resolution ÷2, 4 both. The
space holds the skeletons with 1 to 4 downsampling modules (3 or 4) and 1 to 3
channel-doubling modules (2 or 4): exactly 3,256, the benchmark's count; all 725 keys
of NASLib's file obey these bounds. NASLib's key is a 6-tuple of the codes with
trailing zeros for absent modules, e.g. ``(1, 2, 3, 4, 0, 0)``. Tasks, heads and the
stem are in :mod:`.transnas`.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import transnas as tn
from .protocol import CanonicalString, as_arch, tuple_field

NAME = "transnas_macro"
MIN_MODULES, MAX_MODULES = 4, 6
MIN_DOWN, MAX_DOWN = 1, 4
MIN_DOUBLE, MAX_DOUBLE = 1, 3
NASLIB_LEN = 6
NUM_ARCHS = 3256
TASKS = tn.TASKS
MAP_ROWS_PER_SAMPLE = tn.MAP_ROWS_PER_SAMPLE
CODES = {1: "normal", 2: "channels x2", 3: "resolution /2", 4: "channels x2 and resolution /2"}

_STRING = re.compile(r"([0-9]+)-([0-9]+)-([a-z]+)")  # ASCII digits, fullmatch


def _problems(codes: tuple[int, ...]) -> str | None:
    if not MIN_MODULES <= len(codes) <= MAX_MODULES:
        return f"has {len(codes)} modules; the macro space has {MIN_MODULES} to {MAX_MODULES}"
    bad = [c for c in codes if c not in CODES]
    if bad:
        return f"module code {bad[0]!r} is not one of 1 normal, 2 channels x2, 3 resolution /2, 4 both"
    n_down = sum(c in (3, 4) for c in codes)
    n_double = sum(c in (2, 4) for c in codes)
    if not MIN_DOWN <= n_down <= MAX_DOWN:
        return f"downsamples {n_down} times (codes 3/4); the macro space allows {MIN_DOWN} to {MAX_DOWN}"
    if not MIN_DOUBLE <= n_double <= MAX_DOUBLE:
        return f"doubles channels {n_double} times (codes 2/4); the macro space allows {MIN_DOUBLE} to {MAX_DOUBLE}"
    return None


@dataclass(frozen=True, order=True)
class Arch(CanonicalString):
    """An immutable macro skeleton: one code (1..4) per module, 4 to 6 modules."""

    codes: tuple[int, ...]

    def __post_init__(self) -> None:
        tuple_field(self, "codes", "a TransNAS macro Arch")
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in self.codes):
            raise ValueError(f"TransNAS macro module codes must be ints 1..4, got {self.codes}")
        problem = _problems(self.codes)
        if problem:
            raise ValueError(f"TransNAS macro skeleton {''.join(map(str, self.codes))!r} {problem}")


    @property
    def skeleton(self) -> str:
        return "".join(str(c) for c in self.codes)


def format_arch(arch: Arch) -> str:
    """``64-<codes>-basic``."""
    return f"{tn.BENCH_C}-{arch.skeleton}-basic"


def parse(text: str) -> Arch:
    """Parse ``64-1234-basic`` or NASLib's ``(1, 2, 3, 4, 0, 0)``."""
    if not isinstance(text, str):
        raise TypeError(f"transnas_macro: expected an arch string, got {type(text).__name__}")
    s = text.strip()
    if s.startswith("("):
        return parse_naslib(s)
    m = _STRING.fullmatch(s)
    if not m:
        hint = "; it looks like a micro arch (space transnas_micro)" if "_" in s else ""
        raise ValueError(f"TransNAS macro arch {text!r} must look like '64-1234-basic' "
                         f"(base channels, 4-6 module codes 1..4, 'basic'){hint}")
    base, skeleton, cell = m.groups()
    if base != str(tn.BENCH_C) or cell != "basic":
        raise ValueError(f"TransNAS macro arch {text!r} must start with '64-' and end with '-basic'; "
                         "a string like '64-41414-1_02_333' is a micro arch (space transnas_micro)")
    try:
        return Arch(tuple(int(ch) for ch in skeleton))
    except ValueError as exc:  # the skeleton's rule, with the string it came from
        raise ValueError(f"TransNAS macro arch {text!r}: {exc}") from None


def parse_naslib(key: str) -> Arch:
    """NASLib's key: 6 codes, trailing zeros for absent modules."""
    try:
        values = tn.parse_int_tuple(key, NASLIB_LEN, "TransNAS macro NASLib")
        n = len(values)
        while n and values[n - 1] == 0:
            n -= 1
        if 0 in values[:n]:
            raise ValueError(f"TransNAS macro NASLib key {key!r}: zeros (absent modules) may only trail")
        return Arch(values[:n])
    except ValueError as exc:  # codes out of range (or too many digits): say which key
        if repr(key) in str(exc):
            raise
        raise ValueError(f"TransNAS macro NASLib key {key!r}: {exc}") from None


def to_naslib(arch: Arch) -> str:
    """NASLib's key string, e.g. ``"(1, 2, 3, 4, 0, 0)"``."""
    return "(" + ", ".join(str(c) for c in arch.codes + (0,) * (NASLIB_LEN - len(arch.codes))) + ")"


@functools.lru_cache(maxsize=1)
def _all() -> tuple[Arch, ...]:
    out = []
    for n in range(MIN_MODULES, MAX_MODULES + 1):
        for codes in itertools.product(sorted(CODES), repeat=n):
            if _problems(codes) is None:
                out.append(Arch(codes))
    return tuple(out)


def all_archs() -> Iterator[Arch]:
    """All 3,256 skeletons: by length, then in product order."""
    return iter(_all())


def sample(rng: random.Random) -> Arch:
    """A uniformly random skeleton."""
    return rng.choice(_all())


def neighbours(arch: Arch) -> list[Arch]:
    """Valid skeletons one edit away: change, insert or delete one module code."""
    codes = arch.codes
    cands: set[tuple[int, ...]] = set()
    for i in range(len(codes)):
        for c in CODES:
            cands.add(codes[:i] + (c,) + codes[i + 1:])
        cands.add(codes[:i] + codes[i + 1:])
    for i in range(len(codes) + 1):
        for c in CODES:
            cands.add(codes[:i] + (c,) + codes[i:])
    cands.discard(codes)
    return sorted(Arch(c) for c in cands if _problems(c) is None)


def mutate(arch: Arch, rng: random.Random) -> Arch:
    """A uniformly random valid neighbour (one module code changed, inserted or deleted)."""
    return rng.choice(neighbours(arch))


def iso_key(arch: Arch) -> str:
    """The official string (distinct skeletons are distinct networks)."""
    return format_arch(arch)


# ----------------------------------------------------------------------------- network


class Encoder(tn.Encoder):
    """Stem and the skeleton's modules of two ResNet basic blocks."""

    def __init__(self, arch: Arch, C: int = tn.BENCH_C):
        super().__init__(arch.skeleton, C, tn.BasicBlock)
        self.arch = arch


def _as_arch(arch: Arch | str) -> Arch:
    return as_arch(arch, Arch, parse, "transnas_macro")


def build(arch: Arch | str, num_classes: int | None = None, task: str = "class_object", C: int = tn.BENCH_C,
          resolution: int = 64) -> tn.TaskNet:
    """The macro encoder for ``arch`` with ``task``'s head (see :mod:`.transnas`).

    ``num_classes`` is the head's output size (default: the benchmark's, ``TASKS[task].size``);
    ``C`` the base channels (64 in the benchmark; decoders scale with C/64);
    ``resolution`` the input size the net is meant for -- recorded only, the layout
    does not depend on it. Outputs: (S, num_classes) for class/regression/jigsaw,
    (S, num_classes, H, W) for dense tasks. With C=64 and NASLib's head sizes the
    parameter count equals NASLib's stored ``params``.

    Example:
        >>> net = build("64-1234-basic", task="autoencoder", C=16)
        >>> net(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """
    return tn.TaskNet(Encoder(_as_arch(arch), C), task, num_classes, C, resolution)


def count_params(arch: Arch | str, task: str = "class_object", num_classes: int | None = None,
                 C: int = tn.BENCH_C, resolution: int = 64, **_: object) -> int:
    """Parameters of ``build(arch, num_classes, task, C)``, summed from cached meta-device parts."""
    plan = tn.skeleton_plan(_as_arch(arch).skeleton, C)
    body = sum(tn.block_params(c_in, c_out, stride) + tn.block_params(c_out, c_out, 1)
               for c_in, c_out, stride in plan)
    return tn.net_params(body, plan, task, num_classes, C)


# ----------------------------------------------------------------------------- scoring defaults

#: Training-free scoring on CPU: a quarter-width net (the benchmark uses C=64) at 64×64.
SCORING_DEFAULTS: dict = {"net": {"C": 16, "resolution": 64}, "batch_size": 16, "repeats": 1}

#: The recommended fitness (``best``) here: the scored network above with PyTorch's default init
#: (which its AZ-NAS parts need). TransNAS has no dev ground truth (docs/protocol.md), so ``best`` is the
#: alias's target: the fitness with the best worst-case ρ over every other space's dev sets.
FITNESS_PROTOCOL: dict = {**SCORING_DEFAULTS, "init": "default"}


@functools.lru_cache(maxsize=64)
def param_range_k(task: str = "class_object", num_classes: int | None = None, C: int = tn.BENCH_C,
                  **_: object) -> tuple[float, float]:
    """Smallest and largest parameter count (thousands) over all 3,256 skeletons (exact)."""
    counts = [count_params(a, task, num_classes, C) for a in _all()]
    return min(counts) / 1e3, max(counts) / 1e3


def default_size_prior(net: dict, num_classes: int | None = None) -> tuple[float, float]:
    """Label-free μ, σ for ``swap_reg`` on the scored net (thousands of params); the NB201 rule."""
    return tn.size_prior_for(param_range_k, net, num_classes)
