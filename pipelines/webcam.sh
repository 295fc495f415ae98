#!/usr/bin/env bash
# webcam.sh [DEVICE]: the camera live in a window, landmarks drawn.
set -euo pipefail
device=${1:-/dev/video0}
if [ ! -c "$device" ]; then
  echo "$(basename "$0"): no camera at $device (give the device, e.g." \
    "$(basename "$0") /dev/video2)" >&2
  exit 1
fi
# shellcheck source=pipelines/env.sh
source "$(dirname "$0")/env.sh"

gst-launch-1.0 \
  v4l2src device="$device" ! videoconvert ! video/x-raw,format=BGRx ! \
  sanldetect ! sanloverlay show-labels=true ! videoconvert ! autovideosink
