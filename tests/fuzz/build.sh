#!/usr/bin/env bash
# Builds the libFuzzer target of the model file reader with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, seeds it with tiny valid models, and runs it.
#
#   tests/fuzz/build.sh [SECONDS]      (default 60; 0 only builds)
#
# Output, corpus and any crash files go to build-fuzz/ (FUZZ_OUT overrides).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$top/build-fuzz}
seconds=${1:-60}
mkdir -p "$out/corpus" "$out/crashes"

# The reader and the target, all instrumented.
clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DG_LOG_DOMAIN='"sanl"' -I"$top/sanl" $(pkg-config --cflags glib-2.0 json-glib-1.0 openblas) \
  "$top/sanl/sanl-safetensors.c" "$top/sanl/sanl-config.c" "$top/sanl/sanl-model.c" \
  "$top/sanl/sanl-winograd.c" "$top/sanl/sanl-parallel.c" "$top/sanl/sanl-gemm.c" \
  "$top/tests/fuzz-model-file.c" \
  -o "$out/fuzz-model-file" $(pkg-config --libs glib-2.0 json-glib-1.0 openblas) -lm -lpthread

# Seeds: a minimal network (micro.json) in each dtype, so that mutations reach
# the config and the layer loader, not only the framing.
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  for dtype in f32 f16 bf16; do
    seed="$out/corpus/micro-$dtype.safetensors"
    [ -f "$seed" ] || OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$top/sanl/torch/export.py" \
      --config "$here/micro.json" --seed 1 --dtype "$dtype" --output "$seed"
  done
else
  echo "no PyTorch: starting from an empty corpus" >&2
fi

[ "$seconds" -gt 0 ] || exit 0
cd "$out/crashes"
ASAN_OPTIONS=detect_leaks=1 "$out/fuzz-model-file" -max_total_time="$seconds" \
  -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 "$out/corpus"
