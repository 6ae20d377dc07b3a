"""Session 19's fixes, each with a test that fails without it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from swapnas.data import load_batch
from swapnas.session import configure
from swapnas.train.data import FolderSplit


def _grey_pair(tmp_path):
    """A 16-bit greyscale PNG and its 8-bit twin (values / 257, rounded) in two class-folder roots."""
    wide = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472: a full-range gradient
    narrow = np.rint(wide / 257.0).astype(np.uint8)
    for name, arr in (("wide", wide), ("narrow", narrow)):
        (tmp_path / name / "class0").mkdir(parents=True)
        Image.fromarray(arr).save(tmp_path / name / "class0" / "img.png")
    assert Image.open(tmp_path / "wide" / "class0" / "img.png").mode.startswith("I")
    return tmp_path / "wide", tmp_path / "narrow"


def test_a_16_bit_greyscale_image_reads_as_its_8_bit_twin_not_white(tmp_path) -> None:
    """Pillow's convert("RGB") clips 16-bit grey values at 255: the image was read as (nearly) all white."""
    wide, narrow = _grey_pair(tmp_path)
    a = load_batch("cifar10", 1, image_root=str(wide))
    b = load_batch("cifar10", 1, image_root=str(narrow))
    assert torch.equal(a.inputs, b.inputs)
    assert float(a.inputs.std()) > 0.5  # a gradient, not one flat colour


def test_swapnas_train_reads_16_bit_greyscale_images_like_the_scorer(tmp_path) -> None:
    wide, narrow = _grey_pair(tmp_path)
    files = [wide / "class0" / "img.png", narrow / "class0" / "img.png"]
    split = FolderSplit(files, [0, 0], train=False, size=24, resize=32)
    (x_wide, _), (x_narrow, _) = split[0], split[1]
    assert torch.equal(x_wide, x_narrow) and int(x_wide.max()) > 200 and int(x_wide.min()) < 50


# ---------------------------------------------------------------- one run, one protocol (output review)

def test_best_beside_other_metrics_is_refused_until_the_settings_that_differ_are_given(small_bundle) -> None:
    """`--proxies swap,params,best` scored swap_nb201 under the SWAP protocol (Gaussian init, R = 4: failures) and
    `--proxies swap,best` scored swap under the fitness protocol: a proxy's figure depended on its companions."""
    data = str(small_bundle)
    for names in ("swap,params,best", "swap,best", "swap_nb201,swap,fisher"):
        with pytest.raises(ValueError, match=r"different protocols on nb201 .*give --init and --repeats .*"
                                             r"--init default --repeats 1"):
            configure("nb201", "cifar10", names, data_dir=data)
    with pytest.raises(ValueError, match=r"give --repeats to score"):  # init given: only what is still open
        configure("nb201", "cifar10", "swap,best", init="default", data_dir=data)
    prot, _, proxies = configure("nb201", "cifar10", "swap,params,best", init="default", repeats=1, data_dir=data)
    assert (prot.init, prot.repeats) == ("default", 1) and [p.name for p in proxies] == ["swap", "params", "swap_nb201"]
    prot, _, _ = configure("nb201", "cifar10", "swap,params", data_dir=data)  # one protocol: as before
    assert (prot.init, prot.repeats) == ("gaussian", 4)
    prot, _, _ = configure("nb201", "cifar10", "best", data_dir=data)
    assert (prot.init, prot.repeats) == ("default", 1)
    # DARTS differs in init only
    with pytest.raises(ValueError, match=r"give --init to score .*--init default\)"):
        configure("darts", "cifar10", "swap,best", data_dir=data)


def test_the_grid_scores_best_beside_other_metrics_under_its_swap_protocol_and_says_so(small_bundle) -> None:
    from swapnas.grid import _column_init
    with pytest.warns(UserWarning, match=r"on nb201, swap_nb201 \(the space's recommended fitness `best`, or one "
                                         r"it recommended before\) is scored under the grid's SWAP protocol"):
        assert _column_init("nb201", "swap,params,best") == "gaussian"
    assert _column_init("nb201", "best") is None  # its own protocol
    assert _column_init("nb201", "swap,params") is None


# ---------------------------------------------------------------- meco_all: MeCo as the authors' code hooks it

def _naive_meco_all(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Every module's output (the network, containers and leaves), first sample, rows = dim 1, corrcoef with its
    undefined entries set to 0, the smallest eigenvalue; summed. Written from the authors' description."""
    outs: list[np.ndarray] = []
    handles = [m.register_forward_hook(lambda _m, _a, o: outs.append(o[0].detach().double().numpy().copy()))
               for m in model.modules()]
    with torch.no_grad():
        model(x[:1])
    for h in handles:
        h.remove()
    total = 0.0
    for fea in outs:
        rows = fea.reshape(fea.shape[0], -1)
        with np.errstate(all="ignore"):
            corr = np.atleast_2d(np.corrcoef(rows))
        corr[~np.isfinite(corr)] = 0.0
        total += float(np.linalg.eigvalsh(corr).min())
    return total


def test_meco_all_sums_every_modules_output_as_the_authors_code() -> None:
    from swapnas.data import Batch
    from swapnas.proxies import get_proxy

    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU())
    model = torch.nn.Sequential(block, torch.nn.Conv2d(6, 5, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(5, 4))
    x = torch.randn(4, 3, 8, 8)
    batch = Batch(inputs=x, targets=torch.zeros(4, dtype=torch.long), num_classes=4, dataset="x", source="x", n_real=4)
    got = get_proxy("meco_all").fn(model, batch)
    assert got == pytest.approx(_naive_meco_all(model, x), rel=1e-9, abs=1e-12)
    conv_only = get_proxy("meco").fn(model, batch)  # the two convs' outputs alone: a different, smaller sum
    assert got != pytest.approx(conv_only)


def test_a_32_bit_integer_image_with_8_bit_values_keeps_them(tmp_path) -> None:
    """Mode "I" (int32) was divided by 257 whatever its range: an image of 0..255 values read nearly black."""
    from swapnas.data import rgb_image

    values = (np.arange(16 * 16).reshape(16, 16) % 256).astype(np.int32)
    Image.fromarray(values).save(tmp_path / "img.tif")
    with Image.open(tmp_path / "img.tif") as img:
        assert img.mode == "I"
        assert np.array_equal(np.asarray(rgb_image(img))[..., 0], values.astype(np.uint8))


def test_the_heatmap_says_n_le_only_for_cells_that_show_their_own_n(tmp_path, monkeypatch) -> None:
    """A cell whose every arch failed (n = 0, ρ NaN) shows —, yet its column read n≤20 under a title saying such
    cells show their n."""
    from matplotlib.figure import Figure

    from swapnas.grid import GridColumn, heatmap

    drawn: list = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    results = [{"proxy": p, "spearman": rho, "n": n, "failures": 20 - n, "seconds_per_arch": 0.1, "errors": []}
               for p, rho, n in (("swap", 0.8, 20), ("zen", float("nan"), 0))]
    heatmap([GridColumn("nb201", "cifar10", "gt", {}, "", 20, 1.0, results)], tmp_path / "g.png")
    texts = [t.get_text() for t in drawn[-1].axes[0].texts]
    assert "—" in texts and "n=20" in texts and "n≤20" not in texts
    assert "n≤" not in drawn[-1].axes[0].get_title()


def test_the_search_console_line_names_tied_ranks_as_report_md_does() -> None:
    """report.md read "1154 (8 tied)" but the console line printed the bare rank."""
    from swapnas.cli.search_command import _search_text
    from swapnas.search.driver import SearchResult

    extra = {"valid_accuracy": 89.85, "valid_optimum": 91.606, "valid_rank": 1154, "valid_tied": 8,
             "valid_regret": 1.755, "test_accuracy": 93.57, "test_optimum": 94.37, "test_rank": 345,
             "test_tied": 1, "test_regret": 0.8}
    result = SearchResult("nb201", "cifar10", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", 13.78,
                          0.83, 117.9, 23, 3, 76.8, 0, {}, {}, None, None, None, {}, [], [], extra=extra,
                          fitness_proxy="swap_nb201@1[w_swap=1]")
    text = _search_text(result)
    assert "valid 89.85 (rank 1154 (8 tied)), test 93.57 (rank 345, optimum 94.37, regret 0.80)" in text
