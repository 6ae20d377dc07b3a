"""The DARTS network: shapes, published size, and NAS-Bench-301 params equal to NASLib's."""

from __future__ import annotations

import json

import pytest
import torch

from swapnas.spaces import darts_genotype as dg
from swapnas.spaces import darts_net as dn
from tests.test_darts_genotype import DARTS_V2


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for n, p in net.named_parameters() if "auxiliary" not in n)


def test_darts_v2_evaluation_network_size_and_outputs() -> None:
    with torch.device("meta"):
        net = dn.build(DARTS_V2, **dn.NETS["eval_cifar"], auxiliary=True)
    assert round(_params(net) / 1e6, 2) == 3.35  # the DARTS paper reports 3.3 M
    small = dn.build(DARTS_V2, C=8, layers=5, auxiliary=True, drop_path_prob=0.2)
    small.train()
    logits, aux = small(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    small.eval()
    assert small(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_stemless_single_cell_network_runs_on_the_image() -> None:
    net = dn.build(DARTS_V2, C=3, layers=1, stem=False)
    assert net(torch.randn(4, 3, 32, 32)).shape == (4, 10)


@pytest.mark.slow
@pytest.mark.bundle  # NASLib's full NB301 file (725 archs)
def test_nb301_params_equal_naslib_for_every_fifth_arch_and_the_extremes(data_dir) -> None:
    """Every 5th arch of the file and its smallest and largest (all 725 took 82 s of CI; each arch builds the
    same few cell layouts, so a fifth of them covers every op on every edge many times over)."""
    records = json.loads((data_dir / "nb301" / "naslib_zc_nasbench301.json").read_text())["cifar10"]
    assert len(records) == 725
    by_size = sorted(records, key=lambda k: records[k]["params"]["score"])
    keys = dict.fromkeys([*list(records)[::5], by_size[0], by_size[-1]])
    assert len(keys) >= 145
    with torch.device("meta"):
        for key in keys:
            rec = records[key]
            net = dn.build(dg.parse_naslib(key), **dn.NETS["nb301"])
            assert _params(net) == round(rec["params"]["score"] * 1e6), key


def test_darts_space_scores_through_the_common_protocol() -> None:
    import random

    from swapnas.data import load_batch
    from swapnas.proxies import resolve
    from swapnas.scoring import Protocol, score_arch
    from swapnas.spaces import get_space

    space = get_space("darts")
    g = space.sample(random.Random(0))
    assert space.parse(space.format_arch(g)) == g and space.iso_key(g) == g.iso_key and g.key == str(g)
    batch = load_batch("cifar10", 16, inputs="synthetic")
    prot = Protocol("darts", "cifar10", 16, repeats=2, net=dict(space.NETS["swap_proxy"]), batch_digest=batch.digest)
    out = score_arch(g, space.build, resolve("swap,params"), batch, prot, torch.device("cpu"))
    assert out["swap"].ok and 1 < out["swap"].value <= 2**16 and len(out["swap"].values) == 2
    assert out["params"].value == _params(space.build(g, num_classes=10, **space.NETS["swap_proxy"]))


def test_nb301_benchmark_table(small_bundle, tmp_path) -> None:
    import pytest

    from swapnas.benchmarks.nb301 import NB301Benchmark

    bench = NB301Benchmark(small_bundle)
    assert len(bench) == 30 and len(set(bench.archs)) == 30  # the small bundle's first 30 NB301 keys
    records = json.loads((small_bundle / "nb301" / "naslib_zc_nasbench301.json").read_text())["cifar10"]
    first = bench.archs[0]
    assert bench.accuracies([first])[0] == records[bench.keys[0]]["val_accuracy"]
    assert bench.params_m(first) == pytest.approx(records[bench.keys[0]]["params"]["score"], abs=1e-6)
    with pytest.raises(FileNotFoundError, match="nb301/naslib_zc_nasbench301.json.*NASLib"):
        NB301Benchmark(tmp_path)


def test_darts_swap_benchmark_table(small_bundle, tmp_path) -> None:
    import csv

    import pytest

    from swapnas.benchmarks import get_benchmark

    bench = get_benchmark("darts_swap", small_bundle)
    rows = list(csv.reader((small_bundle / "darts" / "swap_darts_dev300.csv").open()))[1:]
    # the small bundle keeps the file's first 30 rows
    assert bench.space == "darts" and bench.tasks == ("cifar10",) and len(bench) == len(rows) == 30
    for i in (0, 15, 29):  # the file's own text, read without our parser's help
        g = bench.archs[i]
        assert g.normal == g.reduce  # the authors tie the two cells
        assert str(g.normal[0]) in rows[i][1] and bench.rows[i] == int(rows[i][0])
        assert bench.accuracies([g])[0] == float(rows[i][2])
    # the NB301 training network (C=32, 8 cells, non-affine op BatchNorms), built and counted here
    with torch.device("meta"):
        net = dn.build(bench.archs[0], C=32, layers=8, affine_ops=False)
    assert bench.params_m(bench.archs[0]) == pytest.approx(_params(net) / 1e6, rel=1e-12)
    with pytest.raises(ValueError, match="only for cifar10"):
        bench.accuracies(bench.archs[:1], "cifar100")
    bad = tmp_path / "darts"
    bad.mkdir()
    (bad / "swap_darts_dev300.csv").write_text('row,genotype,cifar10_accuracy\n0,"Genotype(normal=[(\'conv_9x9\', 0)])",80\n')
    with pytest.raises(ValueError, match=r"swap_darts_dev300.csv, line 2"):
        get_benchmark("darts_swap", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="darts/swap_darts_dev300.csv"):
        get_benchmark("darts_swap", tmp_path / "empty")


def test_reduction_cells_placement() -> None:
    import pytest

    g = dg.parse(DARTS_V2)
    assert [c.reduction for c in dn.build(g, C=4, layers=5).cells] == [False, True, False, True, False]
    assert [c.reduction for c in dn.build(g, C=4, layers=3, reductions="none").cells] == [False] * 3
    net = dn.build(g, C=4, layers=4, reductions="1+3", stem=False)
    assert [c.reduction for c in net.cells] == [False, True, False, True]
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert [c.reduction for c in dn.build(g, C=4, layers=2, reductions=1).cells] == [False, True]
    with pytest.raises(ValueError, match="reductions='7'.*0..1"):
        dn.build(g, C=4, layers=2, reductions="7")


def test_pool_bn_follows_each_pool_with_a_parameter_free_batchnorm() -> None:
    """NASLib's NB301 network (its MaxPool/AvgPool with use_bn=True): every cell pool, and nothing else, gets a
    BatchNorm without scale/shift, so the size is unchanged and a pool's output is normalised per channel."""
    genotype = dg.parse(DARTS_V2) if isinstance(DARTS_V2, str) else DARTS_V2
    torch.manual_seed(0)
    plain = dn.build(genotype, C=8, layers=5, affine_ops=False)
    torch.manual_seed(0)
    with_bn = dn.build(genotype, C=8, layers=5, affine_ops=False, pool_bn=True)
    pools = [m for m in plain.modules() if isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d))]
    wrapped = [m for m in with_bn.modules() if isinstance(m, torch.nn.Sequential)
               and isinstance(m[0], (torch.nn.MaxPool2d, torch.nn.AvgPool2d))]
    assert len(pools) == len(wrapped) > 0
    for seq in wrapped:
        assert len(seq) == 2 and isinstance(seq[1], torch.nn.BatchNorm2d) and not seq[1].affine
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in with_bn.modules()) == n_bn + len(pools)
    assert _params(with_bn) == _params(plain)
    with_bn.train()
    x = torch.randn(4, 3, 32, 32)
    out = wrapped[0](torch.relu(x[:, :1].repeat(1, wrapped[0][1].num_features, 1, 1)))
    assert out.mean(dim=(0, 2, 3)).abs().max() < 1e-5  # batch statistics: each channel centred
    assert with_bn(x).shape == plain(x).shape == (4, 10)
