#!/usr/bin/env bash
# The recipe of the shipped weights (afmkit/learn/weights/{dsh,xyz,es}-light.*): a training
# campaign per model that continues over as many sittings as it takes.
#
#   scripts/train_pretrained.sh                  # every model until its sample budget
#   MODELS=dsh HOURS=2 scripts/train_pretrained.sh   # one sitting: 2 h of DSH, then export it
#
# 1. Shards (deterministic, resumable; not committed: ≈ 26 GB): 5,000 light-set (QM9) training
#    molecules × 2 best rotations = 10,000 CO + Xe samples with every target, plus validation
#    (30 × 5) and test (50 × 6) shards. ≈ 35 min on the 2-core development machine.
# 2. Each model continues from checkpoints/<mode>.keras (model + optimizer state, committed,
#    overwritten) and checkpoints/<mode>.json (samples seen, sittings, learning curve), trains
#    chunk after chunk of fresh augmentations, and stops at its budget or when HOURS are spent.
# 3. Export: the shipped weights, metrics, record and afmkit/learn/weights/learning_curves.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
AFMKIT=${AFMKIT:-.venv/bin/afmkit}
SHARDS=${SHARDS:-runs/shards/campaign-es}
MODELS=${MODELS:-dsh xyz es}
HOURS=${HOURS:-}                       # per model and sitting; empty = until the budget
PRECISION=${PRECISION:-mixed_bfloat16} # of a new campaign (bench_training.py --options)
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

# split     molecules  rotations
for spec in "train 5000 2" "val 30 5" "test 50 6"; do
  set -- $spec
  $AFMKIT generate --mode es --set light --split "$1" --size "$2" --rotations "$3" \
    --out "$SHARDS-$1" --seed 0
done

declare -A BUDGET=([dsh]=200000 [xyz]=150000 [es]=100000)  # samples seen (issue 12)
for mode in $MODELS; do
  $AFMKIT campaign "$mode" --shards "$SHARDS" --until-samples "${BUDGET[$mode]}" \
    --precision "$PRECISION" ${HOURS:+--hours "$HOURS"}
  $AFMKIT campaign "$mode" --shards "$SHARDS" --export "$mode-light"
done
