"""What mutation testing of ``swapnas.search.final`` found untested (session 31,
``bash scripts/mutation_check.sh search/final``: 137 killed, 20 survived, 196 timeouts; the timeouts re-run with
tests/test_final_macs.py and this file only, a partial verdict).

The final networks and the size prior were reached mostly through whole searches, which check the search's answer,
not the sizes or the prior behind it. Untested: ``range_prior``'s classes, network options, centre and width and its
record's keys; ``target_prior``'s defaults (100 draws, seed 0, 10 classes, a progress bar), its seeded draw, its
least-squares line and r² (checked only against itself), a target or tolerance of 0, and the sampled range of a
final network without an exact one; ``final_range`` of a network with its own builder; the size limits' bounds
(``<`` → ``<=`` refused a limit equal to the smallest network) and messages; the missing final network's message;
``final_size`` and ``final_macs`` of a network counted only by a build (FlexiBERT, a DARTS genotype of other concat
lists). These tests kill 92 of the 106 survivors; the other 14 are equivalent (the fast counts switched off give
the same float by a build) or change only the progress bar's look (docs/reliability.md, session 31).
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
import torch
from scipy.stats import linregress

from swapnas.patterns import count_params_k
from swapnas.search.final import (
    _builder,
    check_max_macs,
    check_max_params,
    check_target_params,
    exact_m,
    final_macs,
    final_net,
    final_range,
    final_size,
    range_prior,
    target_prior,
)
from swapnas.size_prior import count_flops
from swapnas.spaces import darts, get_space, nb201

NET = {"C": 16, "N": 1}


def _size_k(ops: str, num_classes: int, **net: int) -> float:
    """A network's size in thousands, built on the meta device (no use of the space's range function)."""
    with torch.device("meta"):
        return count_params_k(nb201.build(nb201.Arch((ops,) * 6), num_classes=num_classes, **net))


@pytest.mark.parametrize("num_classes, net, rule", [(100, NET, (0.8, 0.5)), (10, {"C": 8, "N": 2}, (0.3, 0.1))])
def test_range_prior_is_the_rule_over_the_exact_range_of_the_scored_network(num_classes, net, rule) -> None:
    lo, hi = _size_k("none", num_classes, **net), _size_k("nor_conv_3x3", num_classes, **net)
    centre, width = rule
    mu, sigma, info = range_prior(nb201, net, num_classes, rule)
    assert mu == pytest.approx(lo + centre * (hi - lo), rel=1e-12)
    assert sigma == pytest.approx((width * (hi - lo)) ** 2, rel=1e-12)
    assert info == {"prior_centre": centre, "prior_width": width, "proxy_range_k": [pytest.approx(lo, rel=1e-12),
                                                                                     pytest.approx(hi, rel=1e-12)]}


def test_target_prior_defaults_and_its_seeded_draw(capsys) -> None:
    final = final_net("nb201", "cifar10")
    mu, sigma, info = target_prior(nb201, NET, final, 0.8)
    bar = capsys.readouterr().err
    assert "size prior (--target-params)" in bar and "100/100" in bar and "arch/s" in bar  # a progress bar by default
    explicit = target_prior(nb201, NET, final, 0.8, 0.1, n=100, seed=0, num_classes=10, progress=False)
    assert capsys.readouterr().err == ""
    assert (mu, sigma) == explicit[:2] and info["n"] == 100 and info["tolerance"] == 0.1
    assert sigma == pytest.approx((0.1 * mu) ** 2, rel=1e-12)
    # the draw is seeded: the same seed, the same fit; another seed, other archs and another fit
    assert target_prior(nb201, NET, final, 0.8, n=30, seed=3, progress=False)[:2] == \
        target_prior(nb201, NET, final, 0.8, n=30, seed=3, progress=False)[:2]
    assert target_prior(nb201, NET, final, 0.8, n=30, seed=4, progress=False)[0] != \
        target_prior(nb201, NET, final, 0.8, n=30, seed=3, progress=False)[0]


@pytest.mark.parametrize("target, tolerance", [(0.0, 0.1), (0.8, 0.0), (-1.0, 0.1), (float("inf"), 0.1),
                                               (0.8, float("nan"))])
def test_target_prior_refuses_a_target_or_tolerance_that_is_not_positive_and_finite(target, tolerance) -> None:
    with pytest.raises(ValueError) as err:
        target_prior(nb201, NET, final_net("nb201", "cifar10"), target, tolerance, progress=False)
    assert str(err.value) == ("--target-params and --tolerance must be finite numbers > 0 "
                              f"(got {target}, {tolerance})")


def test_a_final_network_with_its_own_builder_is_built_by_it() -> None:
    imagenet = final_net("darts", "imagenet")
    assert "builder" in imagenet and _builder(darts, imagenet) is imagenet["builder"]
    assert _builder(darts, final_net("darts", "cifar10")) is darts.build


KNOWN = ("nb201/cifar10, nb201/cifar100, nb201/imagenet16-120, darts/cifar10, darts/imagenet, flexibert/glue, "
         "flexibert/cola, flexibert/mnli, flexibert/mrpc, flexibert/qnli, flexibert/qqp, flexibert/rte, flexibert/sst, "
         "flexibert/sts")  # the built-in spaces' (a space added later is listed after them)


def test_a_missing_final_network_lists_every_known_one_or_the_space_s_own() -> None:
    # nb101 declares no FINAL_NETS at all: every space's; nb201 has none for mnist: its own (session 61)
    with pytest.raises(ValueError) as err:
        final_net("nb101", "cifar10")
    head = f"no final network defined for space 'nb101' on 'cifar10'; known: {KNOWN}"
    assert str(err.value) == head or str(err.value).startswith(f"{head}, ")  # a space added later: listed after
    with pytest.raises(ValueError, match=r"^no final network defined for space 'nb201' on 'mnist'; nb201's: cifar10, "
                       r"cifar100, imagenet16-120$"):
        final_net("nb201", "mnist")
    with pytest.raises(ValueError, match=r"^no final network defined for space 'darts' on 'ImageNet' \(did you mean "
                       r"'imagenet'\?\); darts's: cifar10, imagenet$"):
        final_net("darts", "ImageNet")


def test_the_size_limits_are_checked_against_the_smallest_final_network_inclusively() -> None:
    final = final_net("nb201", "cifar10")
    lo_m, hi_m = _size_k("none", 10, C=16, N=5) / 1e3, _size_k("nor_conv_3x3", 10, C=16, N=5) / 1e3
    assert final_range(nb201, final) == (pytest.approx(lo_m, rel=1e-12), pytest.approx(hi_m, rel=1e-12))
    lo_macs = final_macs(nb201, nb201.smallest_arch(), final)
    # a limit equal to the smallest network leaves that network: no error
    check_max_params(nb201, final, lo_m)
    check_max_macs(nb201, final, lo_macs)
    check_target_params(nb201, final, 0.5, max_params=0.5)
    for edge in final_range(nb201, final):
        check_target_params(nb201, final, edge)
    for fn, arg in ((check_max_params, None), (check_max_macs, None), (check_target_params, None)):
        fn(nb201, final, arg)  # no limit, no check
    bare = SimpleNamespace()  # a space that names neither its smallest nor its largest network: nothing to check
    check_max_macs(bare, {"builder": None, "net": {}}, 0.001)  # type: ignore[arg-type]
    check_max_params(bare, {"builder": None, "net": {}}, 0.001)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as err:
        check_max_macs(nb201, final, 7.5)
    assert str(err.value) == (f"--max-macs 7.5M is below the smallest final network of this space ({exact_m(lo_macs)}M "
                              "multiply-adds): no arch is feasible; raise the limit")
    with pytest.raises(ValueError) as err:
        check_max_params(nb201, final, 0.05)
    assert str(err.value) == (f"--max-params 0.05M is below the smallest final network of this space "
                              f"({exact_m(lo_m)}M; its range is {exact_m(lo_m)}-{exact_m(hi_m)}M): no arch is "
                              "feasible; raise the limit")
    with pytest.raises(ValueError) as err:
        check_target_params(nb201, final, 0.6, max_params=0.5)
    assert str(err.value) == ("--target-params 0.6M is above --max-params 0.5M: no feasible arch has that size; "
                              "lower the target or raise the limit")
    for outside in (0.07, 1.6):
        with pytest.raises(ValueError) as err:
            check_target_params(nb201, final, outside)
        assert str(err.value) == (f"--target-params {outside}M is outside this space's range: "
                                  f"{exact_m(lo_m)}-{exact_m(hi_m)}M for the final network")


def test_a_network_without_a_count_of_its_own_is_counted_built() -> None:
    """FlexiBERT (its input: token ids) and a DARTS genotype of other concat lists have no count without a build."""
    fb, g = get_space("flexibert"), darts.sample(random.Random(5))
    odd = darts.Genotype(g.normal, g.reduce, (2, 3, 5), (2, 3, 4, 5))
    small = {"net": {"C": 8, "layers": 5, "num_classes": 10}, "resolution": 32}
    for mod, arch, final in ((fb, fb.sample(random.Random(0)), final_net("flexibert", "glue")), (darts, odd, small)):
        r = final["resolution"]
        with torch.device("meta"):
            model = mod.build(arch, **final["net"]).eval()
            x = mod.final_input(r) if mod is fb else torch.empty(1, 3, r, r)
            flops = count_flops(model, x)
        assert final_size(mod, arch, final) == count_params_k(model) / 1e3
        assert final_macs(mod, arch, final) == flops / 2 / 1e6
        assert final_size(mod, arch, final) > 0.04 and final_macs(mod, arch, final) > 5.0  # millions


def _golden_fit(mod, proxy_net: dict, final: dict, n: int, seed: int, num_classes: int) -> tuple:
    """Target_prior's mapping by hand: the same draws, both sizes built on the meta device, scipy's regression."""
    rng = random.Random(seed)
    archs = [mod.sample(rng) for _ in range(n)]
    with torch.device("meta"):
        theta = [count_params_k(mod.build(a, num_classes=num_classes, **proxy_net)) for a in archs]
        sizes = [count_params_k(final.get("builder", mod.build)(a, **final["net"])) / 1e3 for a in archs]
    return linregress(sizes, theta), sizes


def test_target_prior_maps_the_target_by_a_least_squares_line_from_final_to_scored_size() -> None:
    # DARTS: the two sizes are not exactly linear in each other (NB201's are, r² = 1), so r² is checked too
    final, net = {"net": {"C": 12, "layers": 8, "num_classes": 10}, "resolution": 32}, {"C": 8, "layers": 5}
    fit, _ = _golden_fit(darts, net, final, 12, 2, 100)
    mu, sigma, info = target_prior(darts, net, final, 0.12, 0.2, n=12, seed=2, num_classes=100, progress=False)
    golden_mu = fit.slope * 0.12 + fit.intercept
    assert mu == pytest.approx(golden_mu, rel=1e-9) and sigma == pytest.approx((0.2 * golden_mu) ** 2, rel=1e-9)
    lo, hi = final_range(darts, final)
    assert {k: v for k, v in info.items() if k != "seconds"} == {
        "slope_k_per_M": pytest.approx(fit.slope, rel=1e-9), "intercept_k": pytest.approx(fit.intercept, rel=1e-9),
        "r2": pytest.approx(fit.rvalue ** 2, rel=1e-9), "n": 12, "final_range_m": [lo, hi], "target_m": 0.12,
        "tolerance": 0.2}
    assert 0.0 <= info["seconds"] < 60.0 and 0.5 < info["r2"] < 0.99


def test_without_an_exact_range_the_target_is_checked_against_the_sampled_one() -> None:
    """A final network of its own builder in a space that names no smallest and largest arch (DARTS ImageNet's
    case, were it not for them): the range is that of the draws."""
    mod = SimpleNamespace(sample=nb201.sample, build=nb201.build)
    final = {"net": {"C": 16, "N": 5, "num_classes": 10}, "resolution": 32, "builder": nb201.build}
    assert final_range(mod, final) is None
    _, sizes = _golden_fit(nb201, NET, final, 12, 0, 10)
    lo, hi = min(sizes), max(sizes)
    target = (lo + hi) / 2
    info = target_prior(mod, NET, final, target, n=12, progress=False)[2]  # type: ignore[arg-type]
    assert info["final_range_m"] == [pytest.approx(lo, rel=1e-12), pytest.approx(hi, rel=1e-12)]
    for outside in (lo * 0.9, hi * 1.1):
        with pytest.raises(ValueError) as err:
            target_prior(mod, NET, final, outside, n=12, progress=False)  # type: ignore[arg-type]
        assert str(err.value) == (f"--target-params {outside}M is outside the sampled range: "
                                  f"{exact_m(lo)}-{exact_m(hi)}M for the final network")


def test_a_final_network_of_its_own_builder_takes_its_range_from_the_smallest_and_largest_arch() -> None:
    imagenet = final_net("darts", "imagenet")
    with torch.device("meta"):
        golden = [count_params_k(imagenet["builder"](a, **imagenet["net"])) / 1e3
                  for a in (darts.smallest_arch(), darts.largest_arch())]
    assert final_range(darts, imagenet) == (pytest.approx(golden[0], rel=1e-12), pytest.approx(golden[1], rel=1e-12))
    assert golden[0] < golden[1]
    # naming only one end is no range (NB201 names its smallest arch, for --max-macs, but not its largest)
    half = SimpleNamespace(smallest_arch=nb201.smallest_arch, build=nb201.build)
    assert final_range(half, {"net": {}, "builder": nb201.build}) is None  # type: ignore[arg-type]
