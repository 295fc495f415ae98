#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package the project needs to build,
# test and run its pipelines, skipping those already installed. Runs as root
# or through sudo.
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc clang gettext valgrind
  libglib2.0-dev libjson-glib-dev libopenblas-dev libcairo2-dev
  libjpeg-dev libpng-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  python3-torch python3-numpy python3-pil
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
  "${missing[@]}" >&2
