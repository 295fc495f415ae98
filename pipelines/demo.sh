#!/usr/bin/env bash
# demo.sh [INPUT] [OUTDIR]: builds if needed, then writes OUTDIR/annotated.mp4
# and OUTDIR/landmarks.jsonl for INPUT (default: the camera when present,
# else a clip the project renders itself). OUTDIR defaults to out/.
set -euo pipefail
input=${1:-}

# An input named on the command line must exist before anything is built
# or written, so a typo leaves no empty outputs behind.
case "$input" in
  "" | videotestsrc) ;;
  /dev/video*)
    if [ ! -c "$input" ]; then
      echo "$(basename "$0"): no camera at $input" >&2
      exit 1
    fi
    ;;
  *)
    if [ ! -e "$input" ]; then
      echo "$(basename "$0"): input file $input does not exist" >&2
      exit 1
    elif [ ! -f "$input" ] || [ ! -r "$input" ]; then
      echo "$(basename "$0"): input $input is not a readable file" >&2
      exit 1
    fi
    ;;
esac

# shellcheck source=pipelines/env.sh
source "$(dirname "$0")/env.sh"
outdir=${2:-$top/out}
mkdir -p "$outdir"

# The project's own clip: synthetic garments rendered by sanl-synth.
render_clip() {
  local frames="$build/demo-frames"
  rm -rf "$frames"
  "$build/sanl/tools/sanl-synth" --video --frames 150 --out "$frames" >&2
  gst-launch-1.0 -q multifilesrc location="$frames/frame_%04d.png" \
    caps=image/png,framerate=25/1 ! pngdec ! videoconvert ! \
    x264enc speed-preset=veryfast ! mp4mux ! filesink location="$build/demo-clip.mp4"
}

if [ -z "$input" ]; then
  if [ -c /dev/video0 ]; then
    input=/dev/video0
  elif [ -f "$build/demo-clip.mp4" ] \
      || { [ -x "$build/sanl/tools/sanl-synth" ] && render_clip; }; then
    input="$build/demo-clip.mp4"
  elif [ -f "$top/../shared/data/videos/squats.mp4" ]; then
    echo "sanl-synth is not built: using the shared squats clip" >&2
    input="$top/../shared/data/videos/squats.mp4"
  else
    echo "no camera, no sanl-synth and no shared clip: using videotestsrc" >&2
    input=videotestsrc
  fi
fi
echo "input: $input" >&2

case "$input" in
  /dev/video*) source="v4l2src device=$input num-buffers=300" ;;
  videotestsrc) source="videotestsrc num-buffers=150 pattern=ball" ;;
  *) source="filesrc location=$(realpath "$input") ! decodebin" ;;
esac

status=0
# shellcheck disable=SC2086  # $source is a fragment of the launch line
gst-launch-1.0 -e \
  $source ! videoconvert ! video/x-raw,format=BGRx ! \
  sanldetect ! sanljson location="$outdir/landmarks.jsonl" ! \
  sanloverlay show-labels=true ! videoconvert ! x264enc speed-preset=veryfast ! mp4mux ! \
  filesink location="$outdir/annotated.mp4" || status=$?
if [ "$status" -ne 0 ]; then
  # A run that failed early leaves empty files that look like results
  for f in "$outdir/annotated.mp4" "$outdir/landmarks.jsonl"; do
    [ -s "$f" ] || rm -f "$f"
  done
  echo "$(basename "$0"): the pipeline failed (exit status $status)" >&2
  exit "$status"
fi
echo "wrote $outdir/annotated.mp4 and $outdir/landmarks.jsonl" >&2
