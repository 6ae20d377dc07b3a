"""Session 65's review of its own diff (each test failed on the code reviewed): AZ-NAS's rule 3 kept one-block
stages (a ResNet's), rule 2 by the model's names through a wrapper; option values the metric refuses on every model
refused by configure (numpy integers read as ints, start < stop, the choices of a str option); the class_pairs
refusal's words; the layer table's own imports of out_checks."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas.proxies import get_proxy
from swapnas.proxies.az_nas import block_modules


# --- helpers: torchvision's ResNet layout (conv1, bn1, relu, maxpool, layer1..4, avgpool, fc) -----------------------

class _Basic(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)


class _ResNet(nn.Module):
    """torchvision.models.ResNet's attribute layout; ``per_stage`` blocks in each of layer1..layer4."""

    def __init__(self, per_stage: tuple[int, int, int, int], width: int = 8, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 1, 1)
        c = width
        for i, (n, w) in enumerate(zip(per_stage, (width, 2 * width, 4 * width, 8 * width))):
            blocks = [_Basic(c, w, 1 if i == 0 else 2)] + [_Basic(w, w) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            c = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def _names(model: nn.Module) -> list[str]:
    ids = {id(m): n for n, m in model.named_modules()}
    return [ids[id(b)] for b in block_modules(model)]


# --- 1 (high). AZ-NAS rule 3 drops one-block stages: a ResNet-10 is read through its shortcut convs ---------------

@pytest.mark.parametrize("per_stage", [(1, 1, 1, 1), (1, 2, 2, 2), (2, 1, 1, 1)])
def test_az_nas_rule_3_reads_every_stage_of_a_resnet_with_one_block_stages(per_stage):
    """The module docstring's own example of rule 3 is "layer1 … layer4 of a torchvision ResNet". At 336e180 a
    ResNet-10 ([1, 1, 1, 1]) gave layer1.0 … layer4.0; HEAD's new `containers = [... if not _wrapper(m)]` drops every
    one-block stage (it is a "wrapper": one block holding blocks), so [1, 1, 1, 1] gives
    ['layer2.0.downsample.0', 'layer3.0.downsample.0', 'layer4.0.downsample.0'] (the shortcut 1x1 convs!), and
    [2, 1, 1, 1] only layer1's two blocks: az_nas_* and `best` outside a space change silently (swap_darts of a
    ResNet-10: 13.790 -> 13.277)."""
    model = _ResNet(per_stage)
    expected = [f"layer{i + 1}.{j}" for i, n in enumerate(per_stage) for j in range(n)]
    assert _names(model) == expected


# --- 2 (medium). AZ-NAS: a model whose only block child is its named container loses rule 2 ------------------------

class _Stage(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.blocks = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                                    nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())

    def forward(self, x):
        return self.blocks(x)


class _AllConv(nn.Module):
    """A fully convolutional classifier: `stages` (rule 2's name) is its only block child, the head a pool."""

    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(_Stage(3, 8), _Stage(8, 16), _Stage(16, 10))
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.stages(x)).flatten(1)


def test_az_nas_rule_2_keeps_the_shallowest_named_container_when_it_is_the_models_only_block():
    """Rule 2: the shallowest container named cells/layers/blocks/stages/features. 336e180: ['stages.0', 'stages.1',
    'stages.2']. HEAD's `while _wrapper(model)` descends into `stages` first, so its name is lost and the deeper
    `0.blocks` wins: ['stages.0.blocks.0', 'stages.0.blocks.3'] - two convs of the first stage, the other stages
    unread (expressivity 8.09 -> 4.98, progressivity -0.47 -> 0.10)."""
    model = _AllConv()
    assert _names(model) == ["stages.0", "stages.1", "stages.2"]
    assert _names(nn.Sequential(model, nn.Softmax(1))) == ["0.stages.0", "0.stages.1", "0.stages.2"]


# --- 3 (medium-low). Proxy.configure accepts values the metric then refuses per model ----------------------------

def _data():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    x = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    return net, x, y


def test_a_numpy_int_that_configure_accepts_for_vkdnw_tensors_scores():
    """option_checks takes numpy integers (numbers.Integral) for an int option, but vkdnw's own check wants a Python
    int: configure(tensors=np.int64(8)) passes, then every model fails ("ran the model, then blamed it"); rank leaves
    every model unscored - the very pattern session 65 meant to end."""
    get_proxy("vkdnw").configure(tensors=np.int64(8))  # accepted by the new check
    net, x, y = _data()
    swapnas.score(net, (x, y), "vkdnw", options={"vkdnw": {"tensors": np.int64(8)}})


@pytest.mark.parametrize("name,options", [
    ("lswag_grad", {"start": 60.0, "stop": 40.0}),  # start >= stop
    ("lswag_grad", {"start": 100.0}),  # in RANGES' [0, 100], but the metric needs start < stop <= 100
    ("meco", {"layers": "bogus"}),  # one of all/conv/relu
    ("vkdnw", {"inputs": "bogus"}),  # one of random/data
])
def test_model_independent_bad_option_values_are_refused_by_configure(name, options):
    """Each of these fails for every model with the same words (UnsupportedModel '... could not score ...'), so it is
    a bad value, not a bad model: configure should refuse it before any pass, as it now does for sigma=0."""
    with pytest.raises((ValueError, TypeError)):
        get_proxy(name).configure(**options)


# --- 4 (low). messages ----------------------------------------------------------------------------------------------

def test_class_pairs_refusal_names_no_internal_session_and_blames_the_batch_not_the_model():
    """The epe_nas refusal reads "epe_nas cannot score Sequential: ... for every network (session 65); give a batch
    ... (a larger --batch-size)": an internal note in a user message, the model blamed for the batch's labels."""
    net, x, _ = _data()
    with pytest.raises(swapnas.UnsupportedModel) as info:
        swapnas.score(net, (x, torch.arange(8)), "epe_nas")
    assert "session" not in str(info.value)


def test_architecture_doc_lists_the_base_layers_own_imports_of_out_checks():
    """docs/architecture.md: layer 1 (base) has "no package imports (but patterns -> ..., stops -> address_space)";
    out_checks.py, moved into that layer this session, imports bundle and files, which the exception list omits."""
    src = Path(swapnas.__file__).parent / "out_checks.py"
    own = {n.module for n in ast.walk(ast.parse(src.read_text())) if isinstance(n, ast.ImportFrom) and n.level == 1}
    doc = (Path(swapnas.__file__).parents[2] / "docs" / "architecture.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| 1 base"))
    exceptions = row.rsplit("|", 2)[-2]
    assert not own or "out_checks" in exceptions, own


def test_the_str_options_choices_are_the_metrics_own():
    """option_checks.CHOICES copies meco's LAYERS and vkdnw's INPUTS (option_checks is imported by the registry, which
    the metrics import): a choice added to a metric must be added there too."""
    from swapnas.proxies import meco, vkdnw
    from swapnas.proxies.option_checks import CHOICES

    assert set(CHOICES["meco", "layers"]) == set(meco.LAYERS)
    assert set(CHOICES["vkdnw", "inputs"]) == set(vkdnw.INPUTS)


def test_write_grid_and_conformances_outputs_refuse_another_commands_out(tmp_path):
    """The review: run_grid's and run_conformance's writers skipped the OUT checks the other typed writers took."""
    from swapnas.conformance import write_outputs
    from swapnas.grid import write_grid

    out = tmp_path / "search_out"
    out.mkdir()
    (out / "state.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^out=.*search_out holds the outputs of `swapnas search` \(state.json\): "
                                         "grid would replace"):
        write_grid([], out)
    with pytest.raises(ValueError, match=r"holds the outputs of `swapnas search` \(state.json\): conformance would"):
        write_outputs(None, out)  # type: ignore[arg-type]  # (refused before the run is read)
    assert sorted(p.name for p in out.iterdir()) == ["state.json"]


def test_a_metric_of_ones_own_is_judged_by_its_defaults_kinds_alone():
    """The closing reread: the ranges were keyed by option name, so a metric of one's own with an option named alpha,
    k or samples was held to zen's, epe_nas's or meco's range (alpha=0 refused)."""
    import dataclasses

    mine = dataclasses.replace(get_proxy("params"), name="mine", options={"alpha": 1.0, "k": 1e-5, "samples": 1,
                                                                         "start": 50.0, "stop": 10.0})
    assert mine.configure(alpha=0.0, k=-1.0, samples=0, start=99.0).options == {
        "alpha": 0.0, "k": -1.0, "samples": 0, "start": 99.0, "stop": 10.0}
    with pytest.raises(TypeError, match="^mine option alpha='0': takes a number$"):
        mine.configure(alpha="0")
    with pytest.raises(ValueError, match=r"^zen option alpha=0.0: must be in \(0, ∞\)$"):
        get_proxy("zen").configure(alpha=0.0)
