"""Session 17 review of the spaces and benchmarks: each test pins one fixed finding (docs/reliability.md)."""

from __future__ import annotations

import random

import pytest

from swapnas.spaces import darts
from swapnas.spaces import flexibert as fb
from swapnas.spaces import nb201
from swapnas.spaces import transnas_macro as tM
from swapnas.spaces import transnas_micro as tm



@pytest.fixture(scope="module", autouse=True)
def _meta_init_imported():
    """The first weight init on the meta device imports torch._dynamo (seconds, once per process): pay it
    here, not in whichever test counts parameters first."""
    import torch

    with torch.device("meta"):
        torch.nn.init.normal_(torch.empty(1))


# DARTS-V2 as the DARTS repository writes it: lists, and range() for a concat
DARTS_V2_REPO = dict(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=range(2, 6),
)

LIST_BUILT = {
    "darts": (darts, lambda: darts.Genotype(**DARTS_V2_REPO)),
    "nb201": (nb201, lambda: nb201.Arch(["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "none", "nor_conv_1x1"])),
    "transnas_micro": (tm, lambda: tm.Arch([1, 0, 2, 3, 3, 3])),
    "transnas_macro": (tM, lambda: tM.Arch([1, 2, 3, 4])),
    "flexibert": (fb, lambda: fb.Arch(256, [fb.Layer("SA", "SDP", 4, 512, 1), fb.Layer("DSC", "5", 2, 1024, 3)])),
}


@pytest.mark.parametrize("name", LIST_BUILT)
def test_an_arch_built_from_lists_equals_its_parsed_twin_and_hashes(name: str) -> None:
    mod, make = LIST_BUILT[name]
    arch = make()
    twin = mod.parse(str(arch))
    assert arch == twin and hash(arch) == hash(twin)
    assert len({arch, twin}) == 1
    assert mod.iso_key(arch) == mod.iso_key(twin)
    assert mod.mutate(arch, random.Random(0)) == mod.mutate(twin, random.Random(0))


def test_a_range_concat_is_stored_as_a_tuple() -> None:
    g = darts.Genotype(**DARTS_V2_REPO)
    assert g.reduce_concat == (2, 3, 4, 5) and isinstance(g.normal, tuple) and isinstance(g.normal_concat, tuple)
    assert darts.Genotype(g.normal, g.reduce, range(2, 4)).normal_concat == (2, 3)
    assert tM.Arch(range(1, 5)).codes == (1, 2, 3, 4)


@pytest.mark.parametrize("make, what", [
    (lambda: nb201.Arch("nor_conv_3x3"), "ops"),
    (lambda: darts.Genotype("sep_conv_3x3", DARTS_V2_REPO["reduce"]), "normal"),
    (lambda: darts.Genotype(DARTS_V2_REPO["normal"], DARTS_V2_REPO["reduce"], 5), "normal_concat"),
    (lambda: fb.Arch(256, {fb.Layer("SA", "SDP", 4, 512, 1), fb.Layer("DSC", "5", 2, 1024, 3)}), "layers"),
])
def test_a_field_that_is_no_sequence_is_a_clear_error(make, what: str) -> None:
    with pytest.raises(ValueError, match=f"{what}.*tuple or list"):
        make()


def test_a_darts_repo_genotype_is_found_in_nb301(small_bundle) -> None:
    from swapnas.benchmarks.nb301 import NB301Benchmark

    bench = NB301Benchmark(small_bundle)
    stored = bench.archs[0]
    as_repo = darts.Genotype(list(stored.normal), list(stored.reduce), [2, 3, 4, 5], range(2, 6))
    assert as_repo == stored
    assert bench.accuracies([as_repo])[0] == bench.accuracies([stored])[0]


SMALL_BENCHMARKS = ("nb101", "nb301", "darts_swap", "transnas_micro", "transnas_macro", "flexibert")


@pytest.mark.parametrize("name", SMALL_BENCHMARKS)
def test_a_benchmark_looks_up_an_arch_given_as_its_string(name: str, small_bundle) -> None:
    from swapnas.benchmarks import get_benchmark

    bench = get_benchmark(name, small_bundle)
    task = bench.tasks[-1]
    archs = bench.archs_for(task)[:3]
    assert list(bench.accuracies([str(a) for a in archs], task)) == list(bench.accuracies(archs, task))
    assert bench.params_m(str(archs[0]), task) == bench.params_m(archs[0], task)


@pytest.mark.parametrize("name", SMALL_BENCHMARKS)
def test_a_string_that_is_no_arch_names_the_spaces_format(name: str, small_bundle) -> None:
    from swapnas.benchmarks import get_benchmark

    bench = get_benchmark(name, small_bundle)
    with pytest.raises(ValueError, match="must"):
        bench.accuracies(["not an arch"], bench.tasks[0])


@pytest.mark.bundle
def test_nb201_looks_up_an_arch_given_as_its_string(data_dir) -> None:
    from swapnas.benchmarks.nb201 import NB201Benchmark

    bench = NB201Benchmark(data_dir)
    archs = bench.archs[100:103]
    assert list(bench.accuracies([str(a) for a in archs], "cifar100")) == list(bench.accuracies(archs, "cifar100"))
    assert bench.accuracy(str(archs[0]), "cifar10") == bench.accuracy(archs[0], "cifar10")
    assert bench.index_of(str(archs[1])) == 101


def test_nb201_params_m_for_an_unknown_dataset_names_the_datasets() -> None:
    from swapnas.benchmarks.nb201 import NB201Benchmark

    bench = NB201Benchmark.__new__(NB201Benchmark)  # params_m reads no table
    arch = nb201.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")
    assert bench.params_m(arch, "cifar100") == nb201.count_params(arch, num_classes=100) / 1e6
    for bad in ("mnist", "ImageNet16-120"):
        with pytest.raises(ValueError, match=f"{bad!r}.*cifar10, cifar100, imagenet16-120"):
            bench.params_m(arch, bad)


def test_nb201_ground_truth_quotes_a_wrong_type_of_epochs() -> None:
    from swapnas.benchmarks.nb201 import GroundTruth

    with pytest.raises(ValueError, match=r"epochs='200'"):
        GroundTruth("cifar10", "valid", "200")  # type: ignore[arg-type]


def test_nb301_params_m_refuses_a_task_it_has_no_ground_truth_for(small_bundle) -> None:
    from swapnas.benchmarks.nb301 import NB301Benchmark

    import json

    bench = NB301Benchmark(small_bundle)
    first = json.loads((small_bundle / "nb301" / "naslib_zc_nasbench301.json").read_text())["cifar10"][bench.keys[0]]
    assert bench.params_m(bench.archs[0], "cifar10") == pytest.approx(first["params"]["score"], abs=1e-6)  # NASLib's
    with pytest.raises(ValueError, match="only for cifar10.*'cifar100'"):
        bench.params_m(bench.archs[0], "cifar100")


@pytest.mark.parametrize("space", ["transnas_micro", "transnas_macro"])
def test_a_csv_truths_params_are_the_network_of_the_rows_task(space: str, small_bundle, tmp_path) -> None:
    from swapnas.benchmarks import get_benchmark
    from swapnas.benchmarks.csv_truth import CsvBenchmark
    from swapnas.spaces import get_space

    bench, mod = get_benchmark(space, small_bundle), get_space(space)
    tasks = ("autoencoder", "class_object", "segmentsemantic")
    rows = [(str(a), t) for t in tasks for a in bench.archs_for(t)[:2]]
    path = tmp_path / "truth.csv"
    path.write_text("arch,task,accuracy\n" + "".join(f"{a},{t},{i}\n" for i, (a, t) in enumerate(rows)))
    csv_bench = CsvBenchmark(path, space, "autoencoder")
    sizes = {t: [csv_bench.params_m(a, t) for a in csv_bench.archs_for(t)] for t in tasks}
    for t in tasks:
        assert sizes[t] == pytest.approx([mod.count_params(a, task=t) / 1e6 for a in csv_bench.archs_for(t)], rel=1e-12)
    assert sizes["autoencoder"] != [csv_bench.params_m(a, "class_object") for a in csv_bench.archs_for("autoencoder")]


def test_a_csv_truth_of_a_space_without_tasks_keeps_its_final_network(tmp_path) -> None:
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    archs = [nb201.sample(random.Random(i)) for i in range(3)]
    path = tmp_path / "truth.csv"
    path.write_text("arch,acc\n" + "".join(f"{a},{i}\n" for i, a in enumerate(archs)))
    csv_bench = CsvBenchmark(path, "nb201", "cifar100")
    assert [csv_bench.params_m(a, "cifar100") for a in archs] == pytest.approx(
        [nb201.count_params(a, num_classes=100) / 1e6 for a in archs], rel=1e-12)


def _built_params(arch: fb.Arch, **net) -> int:
    import torch

    with torch.device("meta"):
        return sum(p.numel() for p in fb.build(arch, **net).parameters())


@pytest.mark.parametrize("sizes", fb.SIZES)
def test_flexibert_count_params_counts_the_objectives_head(sizes: str) -> None:
    rng = random.Random(17)
    for arch in (fb.sample(rng) for _ in range(2)):
        for objective in ("cls", "mlm"):
            assert fb.count_params(arch, sizes=sizes, objective=objective) == _built_params(
                arch, sizes=sizes, objective=objective)
        assert fb.count_params(arch, sizes=sizes) == _built_params(arch, sizes=sizes)  # the default: cls


def test_flexibert_size_prior_of_the_mlm_encoder_is_its_own_range() -> None:
    from swapnas.patterns import prior_from_range

    arch = fb.sample(random.Random(3))
    head_k = (_built_params(arch, objective="mlm") - _built_params(arch)) / 1e3  # authors: one hidden size
    (lo, hi), (lo_m, hi_m) = fb.param_range_k(), fb.param_range_k(objective="mlm")
    assert (lo_m - lo, hi_m - hi) == pytest.approx((head_k, head_k))
    net = {"sizes": "authors", "resolution": 16, "objective": "mlm"}
    assert fb.default_size_prior(net) == prior_from_range(lo_m, hi_m)
    assert fb.default_size_prior({"sizes": "authors", "resolution": 16}) == prior_from_range(lo, hi)


def test_flexibert_count_params_refuses_an_option_that_is_no_build_option() -> None:
    arch = fb.sample(random.Random(5))
    assert fb.count_params(arch, dropout=0.1, init_std=0.05, resolution=32) == fb.count_params(arch)
    for call in (lambda: fb.count_params(arch, objectiv="mlm"), lambda: fb.param_range_k(objectiv="mlm")):
        with pytest.raises(ValueError, match="objectiv.*options"):
            call()


def test_the_docs_name_every_space_search_runs_on() -> None:
    from pathlib import Path

    from swapnas.spaces import searchable_spaces

    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "spaces.md").read_text().split())
    sentence = text[text.index("the spaces `swapnas search` runs on"):].split(")")[0]
    missing = [s for s in searchable_spaces() if s not in sentence]
    assert missing == [], (f"add {', '.join(missing)} to the first paragraph of docs/spaces.md (the list of the spaces "
                           "`swapnas search` runs on): a searchable space is documented where users look for one")


def test_the_darts_genotype_module_names_its_builder() -> None:
    from swapnas.spaces import darts_genotype, darts_net

    assert "not written yet" not in (darts_genotype.__doc__ or "")
    assert "darts_net.build" in (darts_genotype.__doc__ or "") and callable(darts_net.build)


def _same_outputs(build, a, b, x) -> bool:
    import torch

    torch.manual_seed(0)
    net_a = build(a).eval()
    torch.manual_seed(0)
    net_b = build(b).eval()
    with torch.no_grad():
        return torch.equal(net_a(x), net_b(x))


def test_documented_iso_key_limits_one_network_under_two_keys() -> None:
    """Pins what the iso_key docstrings and docs/spaces.md say (behaviour unchanged: keys are store-visible)."""
    import torch

    # DARTS: the input of a 'none' edge does not matter
    cell = (("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("dil_conv_3x3", 0), ("dil_conv_3x3", 1),
            ("skip_connect", 2), ("skip_connect", 3), ("avg_pool_3x3", 2), ("avg_pool_3x3", 4))
    g0, g1 = (darts.Genotype(c, c) for c in ((("none", 0), *cell[1:]), (("none", 1), *cell[1:])))
    assert darts.iso_key(g0) != darts.iso_key(g1)
    assert _same_outputs(lambda g: darts.build(g, C=4, layers=3), g0, g1, torch.randn(2, 3, 16, 16))
    # NB201: an op on an all-zero node that is not spelt '#'
    a = nb201.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    b = nb201.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert nb201.iso_key(a) != nb201.iso_key(b)
    assert _same_outputs(lambda x: nb201.build(x, C=4, N=1), a, b, torch.randn(2, 3, 16, 16))
    # FlexiBERT, sizes="authors": the hidden size and FF widths are not built
    f, g = fb.parse("h128|DSC.5.h4.f512x3|SA.SDP.h2.f512x1"), fb.parse("h256|DSC.5.h4.f1024x3|SA.SDP.h2.f1024x1")
    assert fb.iso_key(f) != fb.iso_key(g)
    assert _same_outputs(fb.build, f, g, torch.randint(1, 30522, (2, 8)))


def test_nb201_classes_if_every_all_zero_node_were_zero() -> None:
    """The figures nb201.iso_key's docstring gives: 6,466 classes, 5,390 with every all-zero node as '#'."""
    def zero_aware(arch: nb201.Arch) -> str:
        nodes = ["0"]
        for j in (1, 2, 3):
            terms = [nodes[src] if op == "skip_connect" else f"({nodes[src]})@{op}"
                     for (dst, src), op in zip(nb201.EDGES, arch.ops)
                     if dst == j and op != "none" and nodes[src] != "#"]
            nodes.append("+".join(sorted(terms)) or "#")
        return nodes[3]

    keys: dict[str, set[str]] = {}
    for arch in nb201.all_archs():
        keys.setdefault(zero_aware(arch), set()).add(nb201.iso_key(arch))
    assert len(set().union(*keys.values())) == 6466
    assert (len(keys), sum(len(v) > 1 for v in keys.values())) == (5390, 394)
    assert "5,390" in (nb201.iso_key.__doc__ or "") and "394" in (nb201.iso_key.__doc__ or "")
