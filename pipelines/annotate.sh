#!/usr/bin/env bash
# annotate.sh INPUT OUTDIR: a video file to OUTDIR/annotated.mp4 (landmarks
# drawn) and OUTDIR/landmarks.jsonl (one JSON object per frame).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 INPUT OUTDIR" >&2
  exit 2
fi
# Checked before anything is built or written, so a typo leaves no empty
# outputs behind.
if [ ! -e "$1" ]; then
  echo "$(basename "$0"): input file $1 does not exist" >&2
  exit 1
elif [ ! -f "$1" ] || [ ! -r "$1" ]; then
  echo "$(basename "$0"): input $1 is not a readable file" >&2
  exit 1
fi
input=$(realpath "$1")
outdir=$2
# shellcheck source=pipelines/env.sh
source "$(dirname "$0")/env.sh"
mkdir -p "$outdir"

status=0
gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! \
  sanldetect ! sanljson location="$outdir/landmarks.jsonl" ! \
  sanloverlay ! videoconvert ! x264enc speed-preset=veryfast ! mp4mux ! \
  filesink location="$outdir/annotated.mp4" || status=$?
if [ "$status" -ne 0 ]; then
  # A run that failed early leaves empty files that look like results
  for f in "$outdir/annotated.mp4" "$outdir/landmarks.jsonl"; do
    [ -s "$f" ] || rm -f "$f"
  done
  echo "$(basename "$0"): the pipeline failed (exit status $status)" >&2
  exit "$status"
fi
