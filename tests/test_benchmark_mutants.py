"""The benchmark loaders of NB301 / darts_swap, NB101 and TransNAS on the committed small bundle: each refusal whole,
strings read as archs, the default task, and a task passed on to every lookup (session 41's mutation runs:
docs/reliability.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swapnas.benchmarks.nb101 import NB101Benchmark
from swapnas.benchmarks.nb301 import DartsSwapBenchmark, GenotypeTable, NB301Benchmark
from swapnas.benchmarks.transnas import TransNASMacroBenchmark, TransNASMicroBenchmark
from swapnas.spaces import nb101

from .message_tools import refusal

BUNDLE = Path(__file__).resolve().parent / "data" / "bundle"


def test_nb301_reads_a_naslib_key_with_leading_spaces_and_a_genotype_string():
    bench = NB301Benchmark(BUNDLE)
    assert bench.index_of("  " + bench.keys[3]) == bench.index_of(bench.keys[3]) == 3
    assert bench.index_of(str(bench.archs[7])) == 7
    assert list(bench.accuracies([bench.keys[7], str(bench.archs[3])])) == [bench._acc[7], bench._acc[3]]


def test_nb301_default_task_and_refusals_whole():
    bench = NB301Benchmark(BUNDLE)
    assert bench.archs_for() == bench.archs and len(bench.archs) == 30
    assert bench.truth_text() == bench.protocol
    other = DartsSwapBenchmark(BUNDLE).archs[0]
    assert refusal(KeyError, lambda: bench.index_of(other)) == (
        f"{other} is not among the 30 archs of {bench.path}; nb301 ground truth exists only for its stored archs")
    assert refusal(ValueError, lambda: bench.archs_for("cifar100")) == (
        "nb301 has ground truth only for cifar10 (got task 'cifar100')")


def test_a_genotype_table_with_two_tasks_names_both():
    class Two(GenotypeTable):
        name, tasks = "two", ("a", "b")

    assert refusal(ValueError, lambda: Two(Path("t.csv"), [], []).truth_text("c")) == (
        "two has ground truth only for a, b (got task 'c')")


def test_nb101_default_task_in_every_lookup():
    bench = NB101Benchmark(BUNDLE)
    arch = bench.archs[4]
    assert bench.index_of(arch) == 4 and bench.index_of(bench.keys[4]) == 4
    assert list(bench.accuracies([arch])) == [bench._acc[4]]
    assert bench.params_m(arch) == nb101.count_params(arch) / 1e6
    assert bench.truth_text() == bench.protocol == (
        "NB101 CIFAR-10 validation accuracy (%) after 108 epochs as stored in NASLib's NAS-Bench-Suite-Zero file "
        "(40 archs; one of the benchmark's 3 training runs per entry, as NASLib queried it)")


def test_nb101_passes_the_task_on_to_each_arch():
    bench = NB101Benchmark(BUNDLE)
    assert refusal(ValueError, lambda: bench.accuracies([bench.archs[0]], "cifar100")) == (
        "NB101 ground truth has no task 'cifar100'; tasks: cifar10")


def test_nb101_missing_arch_whole_with_and_without_an_isomorphic_entry():
    bench = NB101Benchmark(BUNDLE)
    alone = nb101.Arch(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", "conv3x3-bn-relu", "output"))
    want = (f"{alone} is not among the 40 NB101 specs of {bench.path}: ground truth exists only for NASLib's "
            "stored keys, matched as stored (unpruned)")
    assert refusal(KeyError, lambda: bench.index_of(alone)) == want
    assert refusal(KeyError, lambda: bench.index_of(str(alone))) == want
    twin = next(nb101.prune(a) for a in bench.archs if nb101.prune(a) not in bench.archs and bench.iso_indices(a))
    iso = bench.iso_indices(twin)
    assert refusal(KeyError, lambda: bench.index_of(twin)).endswith(
        f"; it is isomorphic to {len(iso)} stored entries (first: index {iso[0]}, {bench.archs[iso[0]]}), "
        "see iso_indices()")


def test_nb101_with_two_tasks_names_both():
    class Two(NB101Benchmark):
        tasks = ("cifar10", "x")

    assert refusal(ValueError, lambda: Two(BUNDLE).archs_for("y")) == (
        "NB101 ground truth has no task 'y'; tasks: cifar10, x")


def test_nb101_stored_scores_listed_whole_from_the_first_record(tmp_path):
    bench = NB101Benchmark(BUNDLE)
    stored = "epe_nas, fisher, flops, grad_norm, grasp, jacov, l2_norm, params, plain, snip, synflow"
    assert refusal(KeyError, lambda: bench.naslib_score("cifar10", "val_accuracy")) == (
        f"{bench.path} stores no NB101 score 'val_accuracy'; stored: {stored}")
    raw = json.loads((BUNDLE / "nb101" / "naslib_zc_nasbench101.json").read_text())
    key = next(iter(raw["nasbench101"]["cifar10"]))
    one = {"nasbench101": {"cifar10": {key: raw["nasbench101"]["cifar10"][key]}}}
    (tmp_path / "nb101").mkdir()
    (tmp_path / "nb101" / "naslib_zc_nasbench101.json").write_text(json.dumps(one))
    single = NB101Benchmark(tmp_path)
    assert single.naslib_score("cifar10", "synflow") == {single.archs[0]: float(one["nasbench101"]["cifar10"][key]
                                                                                ["synflow"])}


@pytest.mark.parametrize("cls", [TransNASMicroBenchmark, TransNASMacroBenchmark])
def test_transnas_refusals_whole(cls):
    bench = cls(BUNDLE)
    tasks = "class_object, class_scene, room_layout, jigsaw, autoencoder, normal, segmentsemantic"
    assert refusal(ValueError, lambda: bench.archs_for("x")) == (
        f"unknown TransNAS-Bench-101 task 'x'; choose one of {tasks}")
    assert refusal(KeyError, lambda: bench.naslib_score("jigsaw", "x")) == (
        f"NASLib stores no 'x' score for {bench.name} jigsaw; available: {', '.join(bench.proxies('jigsaw'))}")
    assert len(bench.proxies("jigsaw")) > 1


def test_transnas_reads_strings_and_refuses_a_missing_arch_whole():
    bench = TransNASMicroBenchmark(BUNDLE)
    arch = bench.archs_for("jigsaw")[2]
    assert bench.index_of(str(arch), "jigsaw") == 2
    missing = "64-41414-0_00_000"
    assert refusal(KeyError, lambda: bench.index_of(missing, "jigsaw")) == (
        f"{missing} is not among the 10 transnas_micro archs of task jigsaw in {bench.path}; ground truth exists "
        "only for NASLib's stored archs (see archs_for(task))")
