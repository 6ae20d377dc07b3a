"""Messages mended from session 51's user runs (each shown whole or by its new part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapnas.benchmarks import get_benchmark
from swapnas.proxies import resolve
from swapnas.session import check_task
from swapnas.spaces import flexibert
from tests.test_validation import run_cli


def test_every_unknown_proxy_is_named_at_once_with_its_near_names() -> None:
    with pytest.raises(KeyError) as exc:
        resolve("swpa,params,param,zzz")
    assert str(exc.value).startswith("unknown proxies 'swpa' (did you mean 'swap'?), 'param' (did you mean "
                                     "'params'?), 'zzz'; available: az_nas, ")
    with pytest.raises(KeyError, match=r"^unknown proxy 'swpa'; did you mean 'swap'\?; available: az_nas, "):
        resolve("swpa,params")


def test_a_task_near_a_known_one_is_suggested(small_bundle: Path) -> None:
    glue = get_benchmark("flexibert", str(small_bundle))
    with pytest.raises(ValueError, match=r"^flexibert has no task 'sst2'; did you mean 'sst'\?; its tasks: glue, "):
        check_task(glue, "sst2")
    with pytest.raises(ValueError, match=r"^flexibert has no task 'GLUE'; did you mean 'glue'\?; its tasks: "):
        check_task(glue, "GLUE")
    with pytest.raises(ValueError, match=r"^flexibert has no task 'cifar10'; its tasks: glue, cola, "):
        check_task(glue, "cifar10")


def test_a_benchmark_without_nb201_s_choices_names_only_the_one_given(small_bundle: Path) -> None:
    with pytest.raises(ValueError, match=r"^nb101 stores only validation accuracy \(one schedule\); metric='test' "
                                         r"exists only for nb201$"):
        get_benchmark("nb101", str(small_bundle), metric="test")
    with pytest.raises(ValueError, match=r"; metric='test' and epochs=12 exist only for nb201$"):
        get_benchmark("nb301", str(small_bundle), metric="test", epochs=12)


def test_flexibert_s_objective_is_named_as_its_option() -> None:
    with pytest.raises(ValueError, match=r"^objective must be 'cls' or 'mlm' \(got 'xx'\)$"):
        flexibert.build("h128|SA.SDP.h2.f512x1|LT.DFT.h4.f1024x3", objective="xx")


@pytest.mark.parametrize("space, hint", [
    ("flexibert", "; the scored network's input size is --net resolution=32 (the sequence length in tokens)"),
    ("transnas_micro", "; the scored network's input size is --net resolution=32"),
    ("nb301", "")])
def test_resolution_without_image_root_names_the_network_s_own_size(space, hint, small_bundle, tmp_path,
                                                                     capsys) -> None:
    code, _, err = run_cli(["correlate", "--space", space, "--resolution", "32", "--data-dir", str(small_bundle),
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.strip().endswith("describe your own images: give --image-root" + hint)


def test_float_ids_into_an_embedding_are_told_to_be_integers() -> None:
    import torch
    from torch import nn

    import swapnas

    model = nn.Sequential(nn.Embedding(50, 8), nn.GELU(), nn.Flatten(), nn.Linear(40, 2))
    ids = torch.randint(0, 50, (6, 5))
    with pytest.raises(swapnas.UnsupportedModel) as exc:
        swapnas.score(model, ids.float())
    assert str(exc.value).endswith("(the inputs are torch.float32 and the model embeds integer ids (nn.Embedding): "
                                   "pass token ids as integers, x.long())")
    assert swapnas.score(model, ids)["swap_ext"] > 0


def test_the_command_line_s_init_default_is_named_in_python() -> None:
    import torch

    import swapnas

    with pytest.raises(ValueError, match=r"^init must be one of \('gaussian', 'none'\) \(got 'default'\) \(the command "
                                         r"line's --init default is init='none' here: the weights as built\)$"):
        swapnas.score(torch.nn.Linear(3, 3), torch.randn(4, 3), init="default")
    with pytest.raises(ValueError, match=r"^init must be one of \('gaussian', 'none'\) \(got 'kaiming'\)$"):
        swapnas.score(torch.nn.Linear(3, 3), torch.randn(4, 3), init="kaiming")


def test_best_outside_a_space_on_a_transformer_points_to_the_transformer_fitness() -> None:
    import torch
    from torch import nn

    import swapnas

    model = nn.Sequential(nn.Embedding(50, 8), nn.GELU(), nn.Flatten(), nn.Linear(40, 2))
    ids = torch.randint(0, 50, (6, 5))
    with pytest.raises(swapnas.UnsupportedModel) as exc:
        swapnas.score(model, ids, "best")
    assert str(exc.value).startswith("swap_darts cannot score Sequential: it reads 4-D (S, C, H, W) block features")
    assert str(exc.value).endswith("(`best` outside a space is swap_darts, a fitness for CNNs; on a Transformer use "
                                   "swap_ext_layers, FlexiBERT's `best`, or swap_ext; swap_fn where it calls its "
                                   "activations as functions, F.gelu)")
    assert swapnas.score(model, ids, "swap_ext_layers")["swap_ext_layers"] > 0
    with pytest.raises(swapnas.UnsupportedModel) as other:
        swapnas.score(model, ids, "swap")
    assert "`best`" not in str(other.value)


def test_a_hugging_face_batch_s_labels_are_the_labels_not_a_model_argument() -> None:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader

    import swapnas

    class Tokens(nn.Module):  # forward takes no labels= (a Hugging Face model without them computes no loss)
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.ff = nn.Embedding(50, 8), nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 2))

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.ff(self.emb(input_ids) * attention_mask.unsqueeze(-1)).mean(1)

    g = torch.Generator().manual_seed(0)
    rows = [{"input_ids": torch.randint(0, 50, (6,), generator=g), "attention_mask": torch.ones(6, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(8)]
    batch = next(iter(DataLoader(rows, batch_size=8)))
    plain = {k: v for k, v in batch.items() if k != "labels"}
    model = Tokens()  # (one model: score keeps its embedding weights)
    assert swapnas.score(model, DataLoader(rows, batch_size=8), "swap_ext,params") == \
        swapnas.score(model, plain, "swap_ext,params")
    only = {"labels": torch.zeros(4, dtype=torch.long)}  # nothing else: not a model's inputs
    with pytest.raises(ValueError, match="^inputs must be a batch"):  # read as the model's inputs, as before
        swapnas.score(Tokens(), only, "params")
