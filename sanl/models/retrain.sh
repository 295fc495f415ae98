#!/usr/bin/env bash
# Retrains the default model from ../shared/data and synthetic pictures:
#   sanl/models/retrain.sh [DATA_DIR [WORK_DIR]]
# DATA_DIR holds clothing-small, robot-fld and clothing-fld (default
# ../shared/data); checkpoints go to WORK_DIR (default build-train-default,
# which git ignores). Each stage resumes from its last checkpoint when run
# again. Needs build/ (for sanl-synth) and /usr/bin/python3 with torch.
# About 80 minutes on 2 cores.
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
  --export "$top/sanl/models/default.safetensors"
