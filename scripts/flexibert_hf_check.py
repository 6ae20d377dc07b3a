"""Our FlexiBERT encoder against Hugging Face's ``ElectraModel``, the model family the SWAP authors scored.

Needs the optional ``transformers`` package (not a swapnas dependency; no download: the models are built from
their configs). HF's ELECTRA builds one kind of layer: self-attention with scaled dot products (FlexiBERT's SA-SDP),
one head count for every layer and one FF layer (``n_ff = 1``). For each arch of that form (every depth and head
count of the design space, FF 1024, hidden 256: the authors' size reading; and the FlexiBERT-500 records of that
form, under both size readings) the script builds our encoder (``swapnas.spaces.flexibert.build``, seed 0), copies
its weights into an ``ElectraModel`` of the same sizes by name, and prints

- the parameters: HF's, ours without the [CLS] classifier, and ``count_params`` (the analytic count) without it;
- the largest absolute difference of the last hidden states on the FlexiBERT scoring batch (S = 32 sequences of
  L = 16 token ids of the offline text, ``swapnas.tokens.token_batch``), both models in training mode, dropout 0;
- Ψ of both on that batch: ``swap_ext`` on ours (its ``nn.GELU`` modules), ``swap_fn`` on HF's (its
  ``GELUActivation`` modules, which call ``F.gelu``), each with ``init="none"`` (the copied weights).

    OMP_NUM_THREADS=1 python scripts/flexibert_hf_check.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import swapnas
from swapnas.spaces import flexibert as fb
from swapnas.spaces.flexibert_net import EMBED, MAX_POSITIONS, VOCAB, Encoder
from swapnas.tokens import token_batch


def hf_names(layers: int) -> dict[str, str]:
    """Our parameter name → ``ElectraModel``'s, for an encoder of SA-SDP layers with one FF layer each."""
    names = {"embeddings.word.weight": "embeddings.word_embeddings.weight",
             "embeddings.position.weight": "embeddings.position_embeddings.weight",
             "embeddings.token_type.weight": "embeddings.token_type_embeddings.weight"}
    for p in ("weight", "bias"):
        names[f"embeddings.norm.{p}"] = f"embeddings.LayerNorm.{p}"
        names[f"embeddings.project.{p}"] = f"embeddings_project.{p}"
        for i in range(layers):
            ours, theirs = f"layers.{i}.", f"encoder.layer.{i}."
            for ln in ("query", "key", "value"):
                names[f"{ours}mixer.{ln}.{p}"] = f"{theirs}attention.self.{ln}.{p}"
            names[f"{ours}mixer_out.{p}"] = f"{theirs}attention.output.dense.{p}"
            names[f"{ours}norm1.{p}"] = f"{theirs}attention.output.LayerNorm.{p}"
            names[f"{ours}ff.0.{p}"] = f"{theirs}intermediate.dense.{p}"
            names[f"{ours}ff.2.{p}"] = f"{theirs}output.dense.{p}"
            names[f"{ours}norm2.{p}"] = f"{theirs}output.LayerNorm.{p}"
    return names


def electra_twin(ours: Encoder, hidden: int, heads: int, ff: int, layers: int) -> torch.nn.Module:
    """An ``ElectraModel`` of our encoder's sizes holding our encoder's weights."""
    import transformers as tf

    config = tf.ElectraConfig(vocab_size=VOCAB, embedding_size=EMBED, hidden_size=hidden, num_hidden_layers=layers,
                              num_attention_heads=heads, intermediate_size=ff, hidden_act="gelu",
                              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                              max_position_embeddings=MAX_POSITIONS, type_vocab_size=2, layer_norm_eps=1e-12,
                              pad_token_id=0)
    twin = tf.ElectraModel(config)
    names = hf_names(layers)
    loaded = twin.load_state_dict({names[k]: v for k, v in ours.state_dict().items() if not k.startswith("classifier.")},
                                  strict=False)
    missing = [k for k in loaded.missing_keys if not k.endswith(("position_ids", "token_type_ids"))]  # HF's buffers
    if missing or loaded.unexpected_keys:
        raise SystemExit(f"the name map does not fit ElectraModel: no weight of ours for {missing}, "
                         f"names it lacks {loaded.unexpected_keys}")
    return twin


def check(arch: fb.Arch, sizes: str, batch: torch.Tensor) -> str:
    hidden, specs = fb.layer_specs(arch, sizes)
    torch.manual_seed(0)
    ours = fb.build(arch, sizes=sizes)
    twin = electra_twin(ours, hidden, specs[0][2], specs[0][3], len(specs))
    ours.train(), twin.train()  # the authors' mode; dropout is 0 in both
    head = sum(p.numel() for p in ours.classifier.parameters())
    n_ours = sum(p.numel() for p in ours.parameters()) - head
    n_count = fb.count_params(arch, sizes=sizes) - head
    n_hf = sum(p.numel() for p in twin.parameters())
    with torch.no_grad():
        diff = (ours.layers(ours.embeddings(batch)) - twin(batch).last_hidden_state).abs().max().item()
    psi_ours = swapnas.score(ours, batch, "swap_ext", init="none")["swap_ext"]
    psi_hf = swapnas.score(twin, batch, "swap_fn", init="none")["swap_fn"]
    name = fb.format_arch(arch).replace("|", "\\|")  # a table cell: GitHub reads a bare | as a column break
    return (f"| `{name}` | {sizes} | {n_hf:,} | {n_ours:,} | {n_count:,} | {diff:.1e} | "
            f"{psi_ours:,.0f} | {psi_hf:,.0f} |")


def electra_form(arch: fb.Arch) -> bool:
    """Every layer SA-SDP with one FF layer, one head count for all: what ``ElectraModel`` builds."""
    return (all(la.op == "SA" and la.param == "SDP" and la.n_ff == 1 for la in arch.layers)
            and len({la.heads for la in arch.layers}) == 1 and len({la.ff for la in arch.layers}) == 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="the data bundle (for the FlexiBERT-500 records; "
                                                         "without it only the constructed archs)")
    args = parser.parse_args()
    batch = token_batch("glue", 32, length=16).inputs
    archs = [(fb.parse("|".join([f"h{fb.AUTHORS_HIDDEN}"] + [f"SA.SDP.h{h}.f{fb.AUTHORS_FF}x1"] * depth)), "authors")
             for depth in fb.DEPTHS for h in fb.HEADS]
    if args.data_dir:
        records = json.loads(Path(args.data_dir, "flexibert", "flexibert_glue_500.json").read_text())
        formed = [a for a in map(fb.from_record, records) if electra_form(a)]
        archs += [(a, s) for a in formed for s in fb.SIZES]
        print(f"FlexiBERT-500 records of ELECTRA's form: {len(formed)}")
    print("| arch | sizes | HF params | ours without the classifier | count_params without it | max abs Δ hidden | "
          "Ψ ours (swap_ext) | Ψ HF (swap_fn) |")
    print("|---|---|---|---|---|---|---|---|")
    for arch, sizes in archs:
        print(check(arch, sizes, batch), flush=True)


if __name__ == "__main__":
    main()
