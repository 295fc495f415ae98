#!/usr/bin/env bash
# annotate.sh INPUT OUTDIR: a video file to OUTDIR/annotated.mp4 (landmarks
# drawn) and OUTDIR/landmarks.jsonl (one JSON object per frame).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 INPUT OUTDIR" >&2
  exit 2
fi
input=$(realpath "$1")
outdir=$2
# shellcheck source=pipelines/env.sh
source "$(dirname "$0")/env.sh"
mkdir -p "$outdir"

gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! \
  sanldetect ! sanljson location="$outdir/landmarks.jsonl" ! \
  sanloverlay ! videoconvert ! x264enc speed-preset=veryfast ! mp4mux ! \
  filesink location="$outdir/annotated.mp4"
