"""Session 65 audit of label hygiene (each test failed on the code as found): choice scripts that still read runs
outside the dev sets, though docs/protocol.md and docs/generated/dev/README.md say "since session 23 the choice scripts
refuse runs outside the dev sets"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.script_tools import load_script, run_main
from tests.test_review23_dev_scripts import NOT_DEV, _run

#: NOT_DEV: ground truths docs/protocol.md says may never steer a choice, each on otherwise dev-shaped runs

SWAP_NB201_BASES = ("swap", "az_nas_progressivity", "meco", "az_nas_trainability", "fisher", "l2_norm")


def _small(n: int) -> dict:
    """The fields of a run of ``n`` archs (review23's ``_run`` writes 1000)."""
    return {"archs": [f"a{i}" for i in range(n)], "accuracy": [float(i % 97) for i in range(n)],
            "scores": {"swap": [float(i % 13 + 1) for i in range(n)]}}


@pytest.mark.parametrize("case", sorted(NOT_DEV))
def test_choose_refine_refuses_runs_outside_the_dev_sets(tmp_path: Path, monkeypatch, case: str) -> None:
    """scripts/choose_refine.py ("Choose the search's second stage ... on dev data only") has no dev check: a CIFAR-100
    or test-accuracy pair of runs prints its choice table as if it were dev data."""
    cr = load_script("choose_refine", "hyg65")
    scores = {"swap_prog": [float(i % 13 + 1) for i in range(1000)]}
    a = _run(tmp_path, "r1", **{"scores": scores, **NOT_DEV[case]})
    b = _run(tmp_path, "r4", **{"scores": scores, **NOT_DEV[case]})
    with pytest.raises(SystemExit, match="dev"):
        run_main(cr, monkeypatch, str(a), str(b), "--draws", "5")


def test_choose_search_prior_refuses_the_12_epoch_ground_truth(tmp_path: Path, monkeypatch) -> None:
    """scripts/choose_search_prior.py (chose nb201.SEARCH_PRIOR) has its own check, which tests "NB201 valid accuracy"
    only: 12-epoch validation accuracy (not the dev ground truth, which is 200 epochs) is accepted. choose_fitness's
    check_dev refuses it."""
    sp = load_script("choose_search_prior", "hyg65")
    run = _run(tmp_path, "r", repeats=4, init="gaussian", **NOT_DEV["12_epochs"])
    with pytest.raises(SystemExit):
        sp._dev_run(str(run))


@pytest.mark.parametrize("case", ["test_accuracy", "other_sample", "12_epochs"])
def test_meco_full_net_dev_refuses_runs_outside_the_dev_sets(tmp_path: Path, monkeypatch, case: str) -> None:
    """scripts/meco_full_net_dev.py (chooses a weight w on random halves; output in docs/generated/dev/) checks only
    that the two runs are CIFAR-10, share archs and share a ground truth: two test-accuracy runs (or another sample,
    or 12-epoch labels) are read as dev data."""
    mf = load_script("meco_full_net_dev", "hyg65")
    n = 1000
    bases = {b: [float(i % 13 + 1) for i in range(n)] for b in SWAP_NB201_BASES}
    a = _run(tmp_path, "fit", scores=bases, **NOT_DEV[case])
    b = _run(tmp_path, "full", net={"C": 16, "N": 5}, scores={"meco_all": [float(i % 7 + 1) for i in range(n)]},
             **NOT_DEV[case])
    with pytest.raises(SystemExit, match="dev"):
        run_main(mf, monkeypatch, str(a), str(b), "--seeds", "1", "--draws", "3", "--out", str(tmp_path / "o.md"))


def test_choose_fitness_refuses_a_darts_run_on_a_ground_truth_of_the_users(tmp_path: Path) -> None:
    """choose_fitness.DEV_RUNS["darts"] = ("cifar10", None, ""): every DARTS-space run passes check_dev, including one
    on `--truth FILE.csv` (e.g. the other 700 rows of the SWAP authors' DARTS_archs_CIFAR10.csv, held back from the
    bundle as the darts_swap file's name, dev300, says; or DARTS archs' test accuracy). Only NB301's and darts_swap's
    ground truths are dev (docs/protocol.md). The same check guards choose_stage2_net, simulated_picks,
    lswag_layers_dev, swap_variants_dev and darts_cell_shape."""
    cf = load_script("choose_fitness", "hyg65")
    n = 12
    csv_run = _run(tmp_path, "csv", **_small(n), space="darts", net={"C": 8, "layers": 5},
                   ground_truth="/tmp/DARTS_archs_CIFAR10.csv (column 'cifar10_accuracy', archs from column "
                                "'genotype'; 700 archs of darts in the file, task cifar10)")
    with pytest.raises(SystemExit, match="not a dev run"):
        cf.load([str(csv_run)])
    nb301 = _run(tmp_path, "nb301", **_small(n), space="darts", net={"C": 8, "layers": 5},
                 ground_truth="NB301 CIFAR-10 validation accuracy (%) as stored in NASLib's NAS-Bench-Suite-Zero file "
                              "(725 archs)")
    assert len(cf.load([str(nb301)])) == 1  # the dev sets stay accepted
