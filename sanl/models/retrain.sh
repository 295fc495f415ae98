#!/usr/bin/env bash
# Retrains the default model from ../shared/data and synthetic pictures:
#   sanl/models/retrain.sh [DATA_DIR [WORK_DIR]]
# DATA_DIR holds clothing-small, robot-fld and clothing-fld (default
# ../shared/data); checkpoints go to WORK_DIR (default build-train-default,
# which git ignores). Each stage resumes from its last checkpoint when run
# again. Needs build/ (for sanl-synth) and /usr/bin/python3 with torch.
# About 2 hours 20 minutes on 2 cores.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-$top/../shared/data}
work=${2:-$top/build-train-default}
train="/usr/bin/python3 $top/sanl/torch/train.py --config lite --threads 1"
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"

# Synthetic garments with exact landmarks (deterministic by seed).
[ -f "$work/synth/list_landmarks.txt" ] ||
  "$top/build/sanl/tools/sanl-synth" --out "$work/synth" --count 1500 --seed 1

# The attention generator, and a classifier shaped like the landmark
# backbone whose weights start the backbone.
$train --stage classifier --classes-data "$data/clothing-small" \
  --out "$work/cls" --epochs 12 --size 160 --batch 32 --resume
$train --stage classifier --spec backbone \
  --classes-data "$data/clothing-small" --out "$work/cls" --epochs 8 \
  --size 160 --batch 32 --resume

# The landmark network; exports the checkpoint with the best val NE.
$train --stage landmarks --classifier "$work/cls/classifier-best.pt" \
  --backbone-init "$work/cls/backbone-best.pt" \
  --fld "$data/robot-fld" --fld "$data/clothing-fld" --synth "$work/synth" \
  --out "$work/lm" --epochs 40 --steps 60 --batch 16 --lr 2e-3 --resume \
  --export "$work/landmarks.safetensors"

# Worn garments in whole frames: people dressed in photo-textured cloth,
# and a fine-tuning run that sees far more whole pictures and wide views
# of them. The best checkpoint counts whole synthetic pictures too.
[ -f "$work/synth-worn/list_landmarks.txt" ] ||
  "$top/build/sanl/tools/sanl-synth" --out "$work/synth-worn" --count 2400 \
    --seed 11 --textures "$data/clothing-small/train"
worn_mix=(--stage landmarks --fld "$data/robot-fld" --fld "$data/clothing-fld"
  --synth "$work/synth-worn" --synth-fraction 0.5
  --whole-views 0.15 0.35 --wide-views 0.2 0.3 --whole-val
  --steps 60 --batch 16 --resume)
$train "${worn_mix[@]}" --init "$work/landmarks.safetensors" \
  --out "$work/worn" --epochs 32 --lr 1e-3 --export "$work/worn.safetensors"

# A short, gentle run on the same mix that settles the SANL blocks on the
# maps of the garment classes (attention_classes) that inference uses.
$train "${worn_mix[@]}" --init "$work/worn.safetensors" \
  --out "$work/steered" --epochs 12 --lr 3e-4 \
  --export "$top/sanl/models/default.safetensors"
