"""Rank-correlation statistics between proxy scores and ground truth (scipy.stats)."""

from __future__ import annotations

import numbers
import reprlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Correlation:
    n: int
    spearman: float
    kendall: float
    spearman_ci: tuple[float, float]
    top10_spearman: float
    spearman_given_params: float
    #: archs in the top-10 % subset (ground truth >= its 90th percentile) that ``top10_spearman`` ranks
    top10_n: int = 0
    #: P@10%: :func:`top_k_precision` at 10 % of the archs (the share of the true top 10 % the score puts there)
    top10_precision: float = float("nan")


#: |Spearman ρ| of x (or y) with the control z at or above which ρ(x, y | z) is undefined (NaN)
ILL_CONDITIONED = 0.999


def _partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Spearman ρ(x, y) after removing the rank-linear effect of z from both.

    NaN when x (or y) ranks as z: |ρ(x, z)| >= ``ILL_CONDITIONED`` (0.999). Then the residuals are the few
    swaps between the two rankings (one adjacent swap in 30 archs gives ρ = 0.99955) and their correlation
    with y's residuals says nothing about x beyond z, yet reads as a figure (0.334 for ``params`` against
    TransNAS's own #params); an identical ranking left rounding noise alone.
    """
    from scipy import stats  # imported where used: ~0.6 s, which `import swapnas` need not pay
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    with np.errstate(all="ignore"):  # a constant z: NaN, which compares False (z removes nothing)
        if any(abs(np.corrcoef(r, rz)[0, 1]) >= ILL_CONDITIONED for r in (rx, ry)):
            return float("nan")
    design = np.column_stack([np.ones_like(rz), rz])
    res = [r - design @ np.linalg.lstsq(design, r, rcond=None)[0] for r in (rx, ry)]
    # nothing left once z is removed (e.g. x ranks exactly as z): the residuals are rounding noise, ρ undefined
    if any(np.std(e) <= 1e-9 * max(float(np.std(r)), 1.0) for e, r in zip(res, (rx, ry))):
        return float("nan")
    return float(stats.pearsonr(res[0], res[1])[0])


#: resamples of the bootstrap CI of ρ (``correlate``'s default)
BOOTSTRAP_RESAMPLES = 1000

#: values ranked at once by the bootstrap (resamples × n): ~1e6, i.e. tens of MiB of temporaries
_CHUNK_VALUES = 1_000_000


def _resample_ranks(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(v[idx], axis=1)`` (average ranks) without a sort per row: a value's
    average rank in a resample is the count of smaller drawn values plus (its own count + 1) / 2."""
    uniq, ids = np.unique(v, return_inverse=True)
    rows, n_uniq = idx.shape[0], len(uniq)
    drawn = ids[idx]
    offsets = (drawn + n_uniq * np.arange(rows)[:, None]).ravel()
    counts = np.bincount(offsets, minlength=rows * n_uniq).reshape(rows, n_uniq).astype(float)
    avg = np.cumsum(counts, axis=1) - counts + (counts + 1.0) / 2.0
    return np.take_along_axis(avg, drawn, axis=1)


def _bootstrap_rhos(xs: list[np.ndarray], y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Spearman ρ of each score in ``xs`` with ``y`` over the same ``n_boot`` paired resamples: (len(xs), n_boot),
    NaN where a resample leaves either side constant.

    Each resample's ρ is what ``scipy.stats.spearmanr`` returns, bit for bit (the same
    average ranks, the same ``np.corrcoef``; tested), without sorting each resample and without
    spearmanr's per-call checks and p-value.
    """
    rng = np.random.default_rng(seed)
    rhos = np.full((len(xs), n_boot), np.nan)
    rows = max(1, _CHUNK_VALUES // max(1, len(y)))  # resamples per chunk: bounded memory at any n
    for start in range(0, n_boot, rows):
        idx = np.stack([rng.integers(0, len(y), len(y)) for _ in range(min(rows, n_boot - start))])
        ry = _resample_ranks(y, idx)
        for i, x in enumerate(xs):
            rx = _resample_ranks(x, idx)
            constant = (rx == rx[:, :1]).all(axis=1) | (ry == ry[:, :1]).all(axis=1)
            with np.errstate(all="ignore"):
                for b in np.flatnonzero(~constant).tolist():  # ints (numpy 2.5's stubs type its items otherwise)
                    rhos[i, start + b] = np.corrcoef(np.column_stack((rx[b], ry[b])), rowvar=False)[1, 0]
    return rhos


def _bootstrap_ci(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile 95% CI of Spearman ρ over paired resamples (degenerate resamples skipped)."""
    rhos = _bootstrap_rhos([x], y, n_boot, seed)[0]
    rhos = rhos[np.isfinite(rhos)]
    if not len(rhos) or len(rhos) < n_boot // 2:  # n_boot = 0: no interval
        return float("nan"), float("nan")
    return float(np.percentile(rhos, 2.5)), float(np.percentile(rhos, 97.5))


def top_k_share(values: np.ndarray, k: int) -> np.ndarray:
    """Each arch's chance of being in the top ``k`` by ``values`` when ties are broken at random:
    1 above the k-th largest value, 0 below it, and the places left over shared evenly by the
    archs tied at it."""
    kth = np.sort(values)[::-1][k - 1]
    above, tied = values > kth, values == kth
    return above + tied * ((k - int(above.sum())) / int(tied.sum()))


def top_k_precision(score: np.ndarray, truth: np.ndarray, frac: float) -> float:
    """P@k: |top k by score ∩ top k by truth| / k, k = round(frac · n) (at least 1), both higher-is-better; its
    expected value when each ranking's ties are broken at random (independently): the same for every order of the
    archs. Until session 26 ties went to the arch listed first, so a score with many ties (#params) got a P@k set
    by the arch order (``scripts/nb201_space_table.py``, where it was until session 56). Pairs whose score or truth
    is not finite are left out, as :func:`correlate` leaves them (session 69: a NaN score gave a wrong P@k), and n
    counts the rest."""
    score, truth = _numbers("score", score), _numbers("truth", truth)
    if len(score) != len(truth) or not len(score) or not (0 < frac <= 1):
        raise ValueError(f"top_k_precision needs one truth per score and a fraction in (0, 1] (got {len(score)} "
                         f"scores, {len(truth)} truths, frac {frac})")
    keep = np.isfinite(score) & np.isfinite(truth)
    score, truth = score[keep], truth[keep]
    if not len(score):
        raise ValueError("top_k_precision needs at least one arch whose score and truth are both finite")
    k = max(1, int(round(frac * len(score))))
    return float(np.dot(top_k_share(score, k), top_k_share(truth, k)) / k)


def _check_resampling(n_boot: object, seed: object, least: int, note: str = "") -> None:
    """``n_boot`` an integer >= ``least`` and ``seed`` one >= 0 (numpy's generator seed), each said by name (until
    session 57, 2.5 or 'a' failed inside numpy)."""
    def whole(v: object) -> bool:  # numpy's integers too (numbers.Integral), not a bool
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)
    if not whole(n_boot) or n_boot < least:  # type: ignore[operator]
        raise ValueError(f"n_boot is the number of bootstrap resamples, an integer {least} or more (got {n_boot!r})"
                         f"{note}")
    if not whole(seed) or seed < 0:  # type: ignore[operator]
        raise ValueError(f"seed is the bootstrap's seed, an integer 0 or more (got {seed!r})")


def _numbers(name: str, values: object) -> np.ndarray:
    """``values`` as a flat float array; a TypeError naming ``name`` where they are not numbers (session 65: numpy's
    "could not convert string to float")."""
    try:
        return np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers, one per arch (a list or an array), not "
                        f"{reprlib.repr(values)}") from None


def correlate(
    scores: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None,  # (arrays or lists: session 67's types audit)
    higher_is_better: bool = True, n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
) -> Correlation:
    """ρ, τ, bootstrap 95% CI of ρ, top-10% ρ (with its subset's size, ``top10_n``), ρ given #params and P@10%.

    ``higher_is_better=False`` negates the scores, so a good metric has ρ > 0;
    no ``abs()`` is ever taken. Pairs whose score or truth is not finite (NaN / inf) are left out
    (``n`` counts the rest); ρ given #params uses those of them whose #params is finite. ``n_boot``: the bootstrap
    resamples of ρ's interval (0: no interval, NaN), drawn by numpy's generator from ``seed``.
    """
    if not isinstance(higher_is_better, (bool, np.bool_, int)) or higher_is_better not in (0, 1):  # None or "False"
        raise TypeError(f"higher_is_better is True or False, not {higher_is_better!r}")  # flipped ρ until session 57
    _check_resampling(n_boot, seed, 0, "; 0 gives no interval")
    x = _numbers("scores", scores) * (1.0 if higher_is_better else -1.0)
    y = _numbers("truth", truth)
    z = None if params is None else _numbers("params", params)
    if len(x) != len(y) or (z is not None and len(z) != len(x)):
        raise ValueError(f"scores, truth and params must have one value per arch (got {len(x)}, {len(y)}"
                         f"{'' if z is None else f', {len(z)}'})")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    z = None if z is None else z[keep]
    n = len(x)
    top = y >= np.quantile(y, 0.9) if n else np.zeros(0, dtype=bool)  # (its size is said also where ρ is nan)
    if n < 3 or np.all(x == x[0]) or np.all(y == y[0]):  # too few, or a constant score ranks nothing: ρ undefined
        nan = float("nan")
        return Correlation(n, nan, nan, (nan, nan), nan, nan, int(top.sum()))
    from scipy import stats  # imported where used (see _partial_spearman)

    rho = float(stats.spearmanr(x, y)[0])
    tau = float(stats.kendalltau(x, y)[0])
    ci = _bootstrap_ci(x, y, n_boot, seed)
    xt, yt = x[top], y[top]
    defined = top.sum() >= 3 and np.ptp(xt) > 0 and np.ptp(yt) > 0
    top_rho = float(stats.spearmanr(xt, yt)[0]) if defined else float("nan")
    given = float("nan")
    if z is not None:
        sized = np.isfinite(z)
        if sized.sum() >= 3 and np.ptp(x[sized]) > 0 and np.ptp(y[sized]) > 0:
            given = _partial_spearman(x[sized], y[sized], z[sized])
    return Correlation(n, rho, tau, ci, top_rho, given, int(top.sum()), top_k_precision(x, y, 0.1))


@dataclass(frozen=True)
class RhoDifference:
    """:func:`compare_spearman`: ρ of two scores with one ground truth on the same archs, and their difference."""

    n: int
    spearman_a: float
    spearman_b: float
    #: ρ(a) − ρ(b)
    difference: float
    #: percentile 95 % interval of the difference over paired resamples (one draw of archs for both scores)
    difference_ci: tuple[float, float]
    #: two-sided bootstrap p-value of "no difference": twice the smaller share of resampled differences on either
    #: side of 0, each share counted as (k + 1) / (B + 1), so it is never 0: with B resamples the least is 2 / (B + 1)
    p_value: float


def compare_spearman(
    a: ArrayLike, b: ArrayLike, truth: ArrayLike,
    higher_is_better: bool | tuple[bool, bool] | list[bool] = (True, True),
    n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
) -> RhoDifference:
    """Is score ``a``'s Spearman ρ with ``truth`` different from score ``b``'s on the same archs? ρ(a) − ρ(b) with a
    paired bootstrap (each resample draws the archs once for both, as :func:`correlate`'s interval draws them:
    the same ``seed`` gives the same resamples). Archs where ``a``, ``b`` or ``truth`` is not finite are left out of
    both, so the two ρ may differ from each :func:`correlate` over its own finite pairs. ``higher_is_better``: one
    bool for both scores, or one per score. ``n_boot`` (>= 1) paired resamples from ``seed``. With few archs the
    interval is wide or degenerate: read it beside ``n``."""
    signs = (higher_is_better, higher_is_better) if isinstance(higher_is_better, (bool, np.bool_)) else \
        tuple(higher_is_better) if isinstance(higher_is_better, (tuple, list)) else ()
    if len(signs) != 2 or not all(isinstance(s, (bool, np.bool_)) for s in signs):  # (numpy's: as correlate's)
        raise ValueError(f"higher_is_better is a bool, or a pair of them (one per score), not {higher_is_better!r}")
    _check_resampling(n_boot, seed, 1)
    xa, xb, y = (_numbers(name, v) for name, v in (("a", a), ("b", b), ("truth", truth)))  # (as correlate's: 69)
    if not len(xa) == len(xb) == len(y):
        raise ValueError(f"a, b and truth must have one value per arch (got {len(xa)}, {len(xb)}, {len(y)})")
    keep = np.isfinite(xa) & np.isfinite(xb) & np.isfinite(y)
    xa = xa[keep] * (1.0 if signs[0] else -1.0)
    xb = xb[keep] * (1.0 if signs[1] else -1.0)
    y = y[keep]
    nan = float("nan")
    if len(y) < 3 or any(np.all(v == v[0]) for v in (xa, xb, y)):  # ρ undefined on one side
        return RhoDifference(len(y), nan, nan, nan, (nan, nan), nan)
    from scipy import stats  # imported where used (see _partial_spearman)

    rho_a, rho_b = float(stats.spearmanr(xa, y)[0]), float(stats.spearmanr(xb, y)[0])
    rhos = _bootstrap_rhos([xa, xb], y, n_boot, seed)
    diffs = rhos[0] - rhos[1]
    diffs = diffs[np.isfinite(diffs)]
    if not len(diffs) or len(diffs) < n_boot // 2:  # n_boot = 1 and its one resample degenerate: no interval
        return RhoDifference(len(y), rho_a, rho_b, rho_a - rho_b, (nan, nan), nan)
    below, above = ((int(np.sum(side)) + 1) / (len(diffs) + 1) for side in (diffs <= 0, diffs >= 0))
    p = min(1.0, 2.0 * min(below, above))
    ci = (float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5)))
    return RhoDifference(len(y), rho_a, rho_b, rho_a - rho_b, ci, p)
