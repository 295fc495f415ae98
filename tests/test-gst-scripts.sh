#!/usr/bin/env bash
# The pipeline scripts refuse a missing input before they build or write
# anything: exit status 1, one line naming what is missing, no outputs.
# Usage: test-gst-scripts.sh PIPELINES_DIR
set -uo pipefail
pipelines=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# expect SCRIPT "EXPECTED STDERR" ARGS...: exit status 1, that exact
# message, and nothing under $tmp/out.
expect() {
  local script=$1 message=$2 rc
  shift 2
  bash "$pipelines/$script" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $script $*: exit status $rc, expected 1" >&2
    failed=1
  fi
  if [ "$(cat "$tmp/stderr")" != "$message" ]; then
    echo "FAIL $script $*: said \"$(cat "$tmp/stderr")\", expected \"$message\"" >&2
    failed=1
  fi
  if [ -e "$tmp/out" ]; then
    echo "FAIL $script $*: created $(find "$tmp/out" | tr '\n' ' ')" >&2
    rm -rf "$tmp/out"
    failed=1
  fi
}

missing=/nonexistent/clip.mp4
camera=/dev/video-sanl-test-none
mkdir "$tmp/adir"

expect annotate.sh "annotate.sh: input file $missing does not exist" \
  "$missing" "$tmp/out"
expect annotate.sh "annotate.sh: input $tmp/adir is not a readable file" \
  "$tmp/adir" "$tmp/out"
expect demo.sh "demo.sh: input file $missing does not exist" \
  "$missing" "$tmp/out"
expect demo.sh "demo.sh: no camera at $camera" "$camera" "$tmp/out"
expect webcam.sh \
  "webcam.sh: no camera at $camera (give the device, e.g. webcam.sh /dev/video2)" \
  "$camera"

exit "$failed"
