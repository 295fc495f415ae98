# shellcheck shell=bash
# Sourced by the pipeline scripts: builds the project if needed and points
# GStreamer at the plugin in build/, so nothing has to be installed.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SANL_BUILD_DIR:-$top/build}

"$top/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top" >&2
fi
meson compile -C "$build" >&2

export GST_PLUGIN_PATH_1_0="$build/gst${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
export SANL_LOCALEDIR="$build/po"

# sanldetect's default model is $SANL_MODEL, else sanl/models/default.safetensors.
if [ -z "${SANL_MODEL:-}" ] && [ ! -f "$top/sanl/models/default.safetensors" ]; then
  echo "warning: no trained model in sanl/models/; using the random-weight test" \
    "model, so the landmarks will be meaningless" >&2
  export SANL_MODEL="$top/tests/fixtures/tiny-seed1.safetensors"
fi
