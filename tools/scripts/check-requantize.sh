#!/usr/bin/env bash
# mvc-compile --dtype q4_k / q6_k (issue 20) on real files, reported, not asserted: the
# Gemma 3 270M Q4_K_M and SmolLM2-135M-Instruct Q4_1 files from PyPI requantized by mvc
# (ggml's reference quantizers, bit for bit; rows not a multiple of 256 fall back to
# q5_0 / q8_0; the tied embedding and LM head q8_0 under q4_k; a tensor already in the
# format asked for is kept as it is), each artifact's size, and its logits against the
# transformers references of tests/fixtures/*-gguf-reference (the file dequantized) at
# every position through the int8 decode path (--prefill-chunk 1, as llama.cpp decodes).
# With LLAMA_QUANTIZE naming llama.cpp's llama-quantize (built beside the project, never
# part of it), the same files requantized by llama.cpp (Q4_K_S, Q6_K) are written to
# $OUT (default: a temporary directory, removed) for comparison with its own tools.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${OUT:-$work}
run() {  # name gguf reference
  local name=$1 gguf=$2 reference=$3
  for dtype in q4_k q6_k; do
    build/bin/mvc-compile "$gguf" --dtype "$dtype" --quiet -o "$work/$name-$dtype.mvc"
    echo "== $name --dtype $dtype: artifact $(stat -c %s "$work/$name-$dtype.mvc") bytes"
    python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/$name-$dtype.mvc" \
      "$reference" --report --prefill-chunk 1
  done
  if [ -n "${LLAMA_QUANTIZE:-}" ]; then
    for type in Q4_K_S Q6_K; do
      "$LLAMA_QUANTIZE" --allow-requantize "$gguf" "$out/$name-$type.gguf" "$type" 2 > /dev/null 2>&1
      echo "== $name llama.cpp $type: $(stat -c %s "$out/$name-$type.gguf") bytes ($out/$name-$type.gguf)"
    done
  fi
}
run gemma-3-270m "$(tools/scripts/fetch-gemma3-270m.sh)" tests/fixtures/gemma3-270m-gguf-reference/reference.json
run smollm2-135m "$(tools/scripts/fetch-smollm2.sh)" tests/fixtures/smollm2-gguf-reference/reference.json
