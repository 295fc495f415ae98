#!/usr/bin/env bash
# webcam.sh [DEVICE]: the camera live in a window, landmarks drawn.
set -euo pipefail
device=${1:-/dev/video0}
# shellcheck source=pipelines/env.sh
source "$(dirname "$0")/env.sh"

gst-launch-1.0 \
  v4l2src device="$device" ! videoconvert ! video/x-raw,format=BGRx ! \
  sanldetect ! sanloverlay show-labels=true ! videoconvert ! autovideosink
