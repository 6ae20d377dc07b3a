"""Session 64 audit of the spaces other than NAS-Bench-201 (each test failed on the code as found): NASLib's NB301
keys read wherever a DARTS arch is given (a --truth CSV, train --genotype), and a --dataset whose inputs a space's
networks cannot read refused before scoring, naming the datasets it takes."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from swapnas.cli import main
from swapnas.spaces import arch_reader, get_space
from tests.conftest import SMALL_BUNDLE


@pytest.fixture(autouse=True)
def _one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWAPNAS_WORKERS", "1")


def _truth_csv(path: Path, rows: list[tuple[str, float]], task: str | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["arch", "accuracy"] + (["task"] if task else []))
        for arch, acc in rows:
            w.writerow([arch, acc] + ([task] if task else []))
    return path


def _sampled(space: str, n: int = 4) -> list[tuple[str, float]]:
    mod = get_space(space)
    rng = random.Random(0)
    return [(str(mod.sample(rng)), 50.0 + i) for i in range(n)]


# --------------------------------------------------------------------------------------------------------------
# 1. darts.parse does not read NASLib's NB301 keys (nb101, nb201, transnas parse their NASLib keys), so a --truth
#    CSV keyed as NASLib / `swapnas export --format naslib-zc` writes them is refused for --space darts, and so is
#    `swapnas train --genotype KEY`; docs/spaces.md says the DARTS space "parses ... NASLib's compact NB301 keys".

def test_darts_parse_reads_naslib_nb301_keys_like_the_other_spaces() -> None:
    darts = get_space("darts")
    g = darts.sample(random.Random(0))
    key = darts.to_naslib(g)  # e.g. '[[(0, 2), (1, 0), …], […]]', NASLib's zc_nasbench301.json key
    assert darts.parse_naslib(key) == g  # the reader exists …
    assert arch_reader(darts)(key) == g  # … and what reads a user's arch falls back to it (the space's parse not:
    assert arch_reader(darts)(str(g)) == g  # its module's digest is in every darts store)
    with pytest.raises(ValueError, match=r"must look like 'Genotype\(normal=\[\.\.\.\], \.\.\.\)'"):
        arch_reader(darts)("Genotype(normal=[oops")  # neither form: the own form's error …
    with pytest.raises(ValueError, match=r"^not an arch of its own form, and as NASLib's key: "):
        arch_reader(darts)("[[(9, 9)]]")  # … or the key's, for a text shaped like a key
    from swapnas.train.recipe import load_genotype
    assert load_genotype(key) == g  # `swapnas train --genotype KEY` was refused


def test_correlate_truth_csv_with_naslib_nb301_keys(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    darts = get_space("darts")
    rng = random.Random(1)
    rows = [(darts.to_naslib(darts.sample(rng)), 90.0 + i) for i in range(4)]
    truth = _truth_csv(tmp_path / "nb301_keys.csv", rows)
    code = main(["correlate", "--space", "darts", "--truth", str(truth), "--arch-column", "arch", "--proxies",
                 "params", "--archs", "all", "--no-progress", "--data-dir", str(SMALL_BUNDLE),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err  # today: exit 2, "not an arch of darts (… must look like 'Genotype(normal=[...], ...)')"


# --------------------------------------------------------------------------------------------------------------
# 2. --truth lets a space be scored on another modality's batch: an image space (darts, nb101) on a GLUE task's
#    token ids, or flexibert on Taskonomy images (after following the error's "use --batch-size 20 or less").
#    Nothing refuses it up front: every arch fails with torch's own RuntimeError (conv2d got [16, 128]; embedding
#    got a FloatTensor), exit 3, and `params` still reports a rho. transnas refuses 'cola' at once ("unknown
#    TransNAS-Bench-101 task 'cola'; choose one of …"): the others should too, naming the space's datasets.

@pytest.mark.parametrize("space, dataset, extra", [
    ("darts", "cola", []),
    ("nb101", "sts", []),
    ("flexibert", "jigsaw", ["--batch-size", "8"]),  # the small bundle has 10 stand-in images
])
def test_truth_run_on_a_dataset_of_another_modality_is_refused_before_scoring(
        tmp_path: Path, capsys: pytest.CaptureFixture, space: str, dataset: str, extra: list[str]) -> None:
    truth = _truth_csv(tmp_path / "truth.csv", _sampled(space))
    proxy = "swap_ext" if space == "flexibert" else "swap"
    out = tmp_path / "out"
    code = main(["correlate", "--space", space, "--truth", str(truth), "--dataset", dataset, "--proxies",
                 f"{proxy},params", "--archs", "all", "--no-progress", "--data-dir", str(SMALL_BUNDLE),
                 "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2, err  # today: 3, after every arch failed with a torch RuntimeError
    assert "RuntimeError" not in err
    assert not (out / "results.json").exists()


# --------------------------------------------------------------------------------------------------------------
# 3. flexibert / transnas with --truth and an image dataset (cifar10, imagenet16-120): the error blames flags the
#    user did not give ("--num-classes, --mean, --std and --resolution describe your own images: they need
#    --image-root"): the space's default --net resolution leaks into load_batch. It should say that the space does
#    not take that dataset and name the ones it takes.

@pytest.mark.parametrize("space, takes", [("flexibert", "glue"), ("transnas_micro", "class_object")])
def test_image_dataset_for_a_space_that_cannot_take_it_names_the_space_not_unused_flags(
        tmp_path: Path, capsys: pytest.CaptureFixture, space: str, takes: str) -> None:
    truth = _truth_csv(tmp_path / "truth.csv", _sampled(space))
    code = main(["correlate", "--space", space, "--truth", str(truth), "--dataset", "cifar10", "--proxies",
                 "params", "--archs", "all", "--no-progress", "--data-dir", str(SMALL_BUNDLE),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--image-root" not in err and "--num-classes" not in err, err  # none of these was given
    assert takes in err, err  # the datasets the space does take


def test_the_inputs_check_names_what_a_space_reads_and_leaves_a_space_of_ones_own_alone(monkeypatch) -> None:
    """The rule behind the refusals above: the datasets a space names itself (FINAL_NETS, TASKS) and its benchmarks'
    tasks, all of one kind; a space that names none (one of your own) or mixes kinds is not checked."""
    from types import SimpleNamespace

    from swapnas import space_inputs

    with pytest.raises(ValueError, match=r"^--dataset cola is a GLUE task, and space darts's networks read images: "
                                         r"choose one of cifar10, cifar100, imagenet16-120, imagenet$"):
        space_inputs.check_dataset_for("darts", "cola")
    with pytest.raises(ValueError, match=r"is an image dataset, and space flexibert's networks read token ids of a "
                                         r"GLUE task: choose one of glue, cola"):
        space_inputs.check_dataset_for("flexibert", "cifar10")
    for space, dataset in (("nb101", "imagenet"), ("darts", "imagenet"), ("transnas_macro", "jigsaw"),
                           ("flexibert", "sts"), ("nb201", "no_such_name")):  # (an unknown name: the loader's)
        space_inputs.check_dataset_for(space, dataset)
    monkeypatch.setattr(space_inputs, "get_space", lambda name: SimpleNamespace())
    assert space_inputs.space_datasets("mine") is None
    space_inputs.check_dataset_for("mine", "cola")
    monkeypatch.setattr(space_inputs, "get_space", lambda name: SimpleNamespace(FINAL_NETS={"cifar10": {}, "sts": {}}))
    assert space_inputs.space_datasets("mixed") is None
