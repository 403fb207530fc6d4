#!/usr/bin/env bash
# The main job, end to end: set up and build, compile a Gemma 3 checkpoint (the bundled
# tiny random-weight one, tests/fixtures/tiny-gemma3-text, with a small byte-level
# tokenizer) into one artifact, and generate from a chat prompt with it. Then check the
# greedy continuations against transformers' (the checkpoint's reference outputs).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/fixtures/tiny-gemma3-text/{config.json,generation_config.json,model.safetensors} "$work/"
cp tests/fixtures/tiny_tokenizer/{tokenizer.json,tokenizer_config.json} "$work/"
build/bin/mvc-compile "$work" --dtype f32 -o "$work/tiny-gemma3.mvc"
echo "--- mvc-run -p 'What is the answer?' --chat (random weights: the text is noise) ---"
build/bin/mvc-run "$work/tiny-gemma3.mvc" -p "What is the answer?" --chat --max-new-tokens 24 --print-ids
echo "--- greedy continuations vs transformers ---"
python3 tests/e2e/check_greedy.py build/bin/mvc-run "$work/tiny-gemma3.mvc" tests/fixtures/tiny-gemma3-text
