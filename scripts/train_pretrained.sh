#!/usr/bin/env bash
# The exact recipe of the shipped pretrained weights (afmkit/learn/weights/*-light.weights.h5).
# CPU-sized: on the 2-core development machine the simulator gives ~1 CO+Xe sample/s, so the
# training set is small (150 QM9 molecules × 6 best rotations = 900 samples, reused over epochs
# with fresh augmentation). Scale --size/--rotations/--epochs up on a GPU machine.
# Re-running resumes: finished shards are skipped and training restarts from the last epoch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
AFMKIT=${AFMKIT:-.venv/bin/afmkit}
SHARDS=${SHARDS:-runs/shards/light-es}
EPOCHS_DSH=${EPOCHS_DSH:-20}
EPOCHS_XYZ=${EPOCHS_XYZ:-15}
EPOCHS_ES=${EPOCHS_ES:-10}

# split     molecules  rotations
for spec in "train 150 6" "val 30 5" "test 50 6"; do
  set -- $spec
  $AFMKIT generate --mode es --set light --split "$1" --size "$2" --rotations "$3" \
    --out "$SHARDS-$1" --seed 0
done
$AFMKIT train dsh --full --shards "$SHARDS" --epochs "$EPOCHS_DSH" --out runs/dsh-light
$AFMKIT train xyz --full --shards "$SHARDS" --epochs "$EPOCHS_XYZ" --out runs/xyz-light
$AFMKIT train es --full --shards "$SHARDS" --epochs "$EPOCHS_ES" --out runs/es-light
for m in dsh xyz es; do
  cp "runs/$m-light/$m.weights.h5" "afmkit/learn/weights/$m-light.weights.h5"  # layer weights only
  cp "runs/$m-light/metrics.json" "afmkit/learn/weights/$m-light.metrics.json"
  cp "runs/$m-light/log.csv" "afmkit/learn/weights/$m-light.log.csv"
done
