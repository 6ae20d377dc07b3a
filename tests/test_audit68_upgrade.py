"""Session 68 audit of files of another swapnas version opened by this one (each test failed on the code as found):
a train checkpoint whose network does not fit, a search state whose population this version does not read. Each
test writes the other version's file form by hand."""

from __future__ import annotations

import json

import pytest
import torch

from swapnas.search import EAConfig, Evolution
from swapnas.search.state import _resume
from swapnas.spaces import nb201
from swapnas.train import run_train

GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
TINY = dict(synthetic=8, batch_size=4, C=4, layers=2, auxiliary_weight=0.0, max_steps=4, seed=0, amp=False,
            device="cpu", progress=False, lines=False)


def _checkpoint_of_another_network(out) -> None:
    """A 1-epoch run's checkpoint whose network's weights are named as another swapnas's DARTS network named them
    (what a checkpoint of a version whose network code differed holds: format 1, same genotype and recipe)."""
    run_train(GENOTYPE, out=out, epochs=1, **TINY)
    path = out / "checkpoint.pt"
    ckpt = torch.load(path, weights_only=True)
    name = next(k for k in ckpt["model"] if k.endswith(".weight"))
    ckpt["model"][name.replace(".weight", ".weight_v0")] = ckpt["model"].pop(name)
    torch.save(ckpt, path)


def test_a_checkpoint_whose_network_does_not_fit_the_running_code_is_refused_by_name(tmp_path) -> None:
    """Found: ``RuntimeError: Error(s) in loading state_dict for Network: Missing key(s) …`` from
    ``train/loop.py:_resume`` (``swapnas train`` exits 1 with a traceback). Wanted: the ValueError every other
    unusable checkpoint gets, naming the file and what to do (another --out, or delete it to start afresh)."""
    out = tmp_path / "train"
    _checkpoint_of_another_network(out)
    with pytest.raises(ValueError) as info:
        run_train(GENOTYPE, out=out, epochs=2, **TINY)
    path = out / "checkpoint.pt"
    assert str(info.value).startswith(f"cannot resume from {path}: its saved state does not fit the network and "
                                      "optimiser this swapnas builds (Error(s) in loading state_dict for Network:")
    assert str(info.value).endswith("it was written by another version of swapnas, or changed since: use another "
                                    f"--out, or delete {path} to start afresh")


def test_the_cli_resuming_such_a_checkpoint_exits_2_without_a_traceback(tmp_path, capsys) -> None:
    """The same through ``swapnas train``: exit 2 and one ``swapnas: error:`` line, not exit 1 and a traceback."""
    from swapnas.cli import main

    out = tmp_path / "train"
    _checkpoint_of_another_network(out)
    argv = ["train", "--genotype", GENOTYPE, "--synthetic", "8", "--epochs", "2", "--batch-size", "4", "--channels",
            "4", "--layers", "2", "--auxiliary-weight", "0", "--max-steps", "4", "--seed", "0", "--no-amp",
            "--device", "cpu", "--no-progress", "--out", str(out)]
    try:
        code = main(argv)
    except RuntimeError as exc:  # the current code: the exception leaves main
        pytest.fail(f"a traceback: {type(exc).__name__}: {str(exc)[:120]}")
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "checkpoint.pt" in err


def refused_state(tmp_path, edit) -> tuple:
    """The path of a state saved after a small search's initial population and changed by ``edit``, and the
    ValueError's message its resume gives."""
    config = EAConfig(population=4, sample=2, cycles=3)
    ea = Evolution(nb201, config, 0)
    archs = ea.ask()
    ea.tell(archs, [1.0] * len(archs))
    state = ea.state_dict()
    edit(state)
    fit = {"space": "nb201", "proxy": "swap@1"}
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"fitness": fit, "ea": state, "seconds": 1.0}), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        _resume(Evolution(nb201, config, 0), path, fit)
    return path, str(info.value)


def test_a_search_state_holding_an_arch_the_running_space_cannot_read_names_the_state_file(tmp_path) -> None:
    """Found: a state.json whose population holds an arch in a form the running space does not parse (a state of a
    swapnas whose arch strings were written otherwise) ends in the space's bare parse error, ``unknown NB201 op
    'conv3x3' in edge …``, naming neither the state file nor what to do. Wanted: the damaged/other-version state
    message that names ``state.json`` (the scores are in the store; delete it to restart, or use another --out)."""
    def edit(state: dict) -> None:
        state["population"][0][0] = "|conv3x3~0|+|conv3x3~0|zero~1|+|conv1x1~0|avgpool~1|conv3x3~2|"

    path, message = refused_state(tmp_path, edit)
    assert message.startswith(f"the search state {path} is written by another version of swapnas, or damaged "
                                      "(UnreadableState: its population holds what this swapnas does not read as a "
                                      "nb201 arch or a fitness (")
    assert "delete it to restart the search" in message
