"""What a search space is: the :class:`Space` protocol, and :class:`SearchableSpace` for search.

A space is a module (or any object) with these members; ``isinstance(module, Space)``
checks that they exist. Scoring and correlation need :class:`Space`; ``swapnas search``
needs :class:`SearchableSpace`, which adds crossover, the cell drawing and the final
(trained) networks. Optional members, read with ``getattr``: ``TASKS`` (a space with several
tasks takes ``task`` as a network option), ``FITNESS_PROTOCOL`` (the recommended fitness and
its protocol, docs/protocol.md; ``refine``: the search's second stage; ``former``: earlier
recommended fitnesses scored under the same protocol), ``SEARCH_PRIOR`` (the search's size-prior rule) and
``NET_VERSION`` (default "1"; raise it when the networks ``build`` makes change, so that their stored scores are
not reused: :func:`swapnas.spaces.net_version`) and ``MAP_ROWS_PER_SAMPLE`` (task → how many rows a hooked map holds
per input sample, default 1: TransNAS jigsaw's siamese encoder sees 9 tiles per image, so Ψ's ceiling is 2**(9·S)).

Every arch has ``arch.key == str(arch)``: the canonical string that ``parse`` reads back and
the score store's key; ``iso_key(arch)`` is equal for isomorphic archs (the search never
proposes an arch isomorphic to one it has seen).
"""

from __future__ import annotations

import numbers
import random
import sys
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from torch import nn

A = TypeVar("A")


def as_arch(arch: Any, kind: type[A], parse: Callable[[str], A], space: str) -> A:
    """``arch`` itself if it is a ``kind``, parsed if it is a string; else a TypeError
    ``{space}: expected an arch or its string, got {type}`` (``build(None)`` and the like)."""
    if isinstance(arch, str):
        return parse(arch)
    if isinstance(arch, kind):
        return arch
    raise TypeError(f"{space}: expected an arch or its string, got {type(arch).__name__} (a {space} "
                    f"{kind.__name__}, or a string {space}'s parse reads)")


def _plain_ints(value: Any) -> Any:
    """``value`` with numpy's (or any other non-bool) integers made ``int``, inside tuples too."""
    if isinstance(value, tuple):
        return tuple(_plain_ints(v) for v in value)
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
        return int(value)
    return value


def tuple_field(arch: Any, name: str, what: str) -> None:
    """Store the field ``name`` of the frozen arch dataclass ``arch`` as a tuple when it was given as a
    list or a ``range`` (as the DARTS repository writes genotypes), and numpy integers in it as ``int``
    (``np.arange``'s codes), so the arch hashes and equals the arch ``parse`` reads from its string; any
    other non-tuple is a ValueError naming ``what``."""
    value = getattr(arch, name)
    if isinstance(value, (list, range)):
        value = tuple(value)
    elif not isinstance(value, tuple):
        raise ValueError(f"{what}: {name} must be a tuple or list, got {type(value).__name__} {value!r}")
    object.__setattr__(arch, name, _plain_ints(value))


class CanonicalString:
    """Base of every space's arch class: ``str(arch)`` and ``arch.key`` (the store key) are the
    ``format_arch`` of the module that defines the class, so the two can never disagree."""

    __slots__ = ()

    def __str__(self) -> str:
        return sys.modules[type(self).__module__].format_arch(self)

    @property
    def key(self) -> str:
        """The canonical string: the store and cache key."""
        return str(self)


#: edges ``(source, target, op)`` per cell name, as :func:`swapnas.report.draw_cells` draws them
CellEdges = dict[str, list[tuple[str, str, str]]]


@runtime_checkable
class Space(Protocol):
    """A space of archs that can be sampled, mutated, parsed, built and scored."""

    #: the registry name (``SPACES``)
    NAME: str
    #: the scored network's options and the paper's batch size and repeats:
    #: ``{"net": {...}, "batch_size": S, "repeats": R}``
    SCORING_DEFAULTS: dict[str, Any]

    def parse(self, text: str) -> Any: ...
    def format_arch(self, arch: Any) -> str: ...
    def sample(self, rng: random.Random) -> Any: ...
    def mutate(self, arch: Any, rng: random.Random) -> Any: ...
    def iso_key(self, arch: Any) -> str: ...
    def build(self, arch: Any, *args: Any, **net: Any) -> nn.Module: ...  # (named options: session 67)
    def param_range_k(self, *args: Any, **net: Any) -> tuple[float, float]: ...
    def default_size_prior(self, net: dict, num_classes: int = ...) -> tuple[float, float]: ...


@runtime_checkable
class SearchableSpace(Space, Protocol):
    """A space ``swapnas search`` runs on: crossover, a cell drawing and final networks."""

    #: per dataset, the final (trained) network: ``{"net": build options incl. num_classes,
    #: "resolution": px}`` and optionally ``"builder"``, a build function other than ``build``
    FINAL_NETS: dict[str, dict[str, Any]]

    def crossover(self, a: Any, b: Any, rng: random.Random) -> Any: ...
    def cell_edges(self, arch: Any) -> CellEdges: ...
