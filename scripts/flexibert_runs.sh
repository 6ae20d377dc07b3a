#!/usr/bin/env bash
# Every FlexiBERT-500 number of docs/transformers.md, one run at a time on one thread.
# Dev half first (the choices), then the chosen protocol on the test half and on all 491 archs.
# Scores are cached in runs/flexibert/scores.sqlite, so a rerun only reads them back.
# Run from the repository root; the data bundle: $SWAPNAS_DATA, else ../shared/data.
set -euo pipefail
export OMP_NUM_THREADS=1 SWAPNAS_DATA=${SWAPNAS_DATA:-../shared/data}
out=runs/flexibert
mkdir -p "$out"
study() { python scripts/flexibert_study.py --data-dir "$SWAPNAS_DATA" --store "$out/scores.sqlite" "$@"; }
# dev half: size reading, S, L, init, inputs
study --half dev --sizes authors --batch-size 32 --seq-len 128 --json "$out/dev_authors_s32_l128.json"
study --half dev --sizes design  --batch-size 32 --seq-len 128 --json "$out/dev_design_s32_l128.json"
study --half dev --sizes authors --batch-size 64 --seq-len 128 --json "$out/dev_authors_s64_l128.json"
study --half dev --sizes authors --batch-size 32 --seq-len 256 --json "$out/dev_authors_s32_l256.json"
study --half dev --sizes authors --batch-size 32 --seq-len 128 --init gaussian --json "$out/dev_authors_s32_l128_gauss.json"
study --half dev --sizes authors --batch-size 32 --seq-len 128 --inputs synthetic --json "$out/dev_authors_s32_l128_synth.json"
# session 6: shorter sequences and fewer samples (the rule picks the cheapest within 0.01 of the best: L = 16)
study --half dev --sizes authors --batch-size 16 --seq-len 128 --json "$out/dev_authors_s16_l128.json"
study --half dev --sizes authors --batch-size 32 --seq-len 64 --json "$out/dev_authors_s32_l64.json"
study --half dev --sizes authors --batch-size 32 --seq-len 32 --json "$out/dev_authors_s32_l32.json"
study --half dev --sizes authors --batch-size 32 --seq-len 16 --json "$out/dev_authors_s32_l16.json"
# session 7: the authors' dropout (0.1, the pass seeded per arch) and their S = 128, at the chosen L = 16
study --half dev --sizes authors --batch-size 32 --seq-len 16 --dropout 0.1 --json "$out/dev_authors_s32_l16_drop01.json"
study --half dev --sizes authors --batch-size 128 --seq-len 16 --json "$out/dev_authors_s128_l16.json"
# session 10: the authors' input shape, S = 128 sequences of L = 512 (two workers; 14 s per model)
study --half dev --sizes authors --batch-size 128 --seq-len 512 --workers 2 --json "$out/dev_authors_s128_l512.json"
# the chosen protocol (the space's defaults) on the test half and on all archs; the earlier default (L = 128) beside it
study --half test --sizes authors --batch-size 32 --seq-len 16 --json "$out/test_authors_s32_l16.json"
study --half all  --sizes authors --batch-size 32 --seq-len 16 --json "$out/all_authors_s32_l16.json"
study --half test --sizes authors --batch-size 32 --seq-len 128 --json "$out/test_authors_s32_l128.json"
study --half all  --sizes authors --batch-size 32 --seq-len 128 --json "$out/all_authors_s32_l128.json"
study --half test --sizes design  --batch-size 32 --seq-len 128 --json "$out/test_design_s32_l128.json"
study --half all  --sizes design  --batch-size 32 --seq-len 128 --json "$out/all_design_s32_l128.json"
python scripts/flexibert_table.py "$out"/dev_*.json "$out"/test_*.json "$out"/all_*.json
python scripts/flexibert_table.py --tasks "$out/dev_authors_s32_l16.json" "$out/test_authors_s32_l16.json" \
    "$out/all_authors_s32_l16.json"
# the same through the CLI (the space's defaults; reuses the stored scores)
swapnas correlate --space flexibert --dataset glue --proxies swap_ext,params --archs all --workers 1 \
    --data-dir "$SWAPNAS_DATA" --store "$out/scores.sqlite" --out "$out/correlate_glue" --no-progress
