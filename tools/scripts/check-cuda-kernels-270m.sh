#!/usr/bin/env bash
# The cuda static checks (tools/scripts/cuda_kernel_report.py) on the Gemma 3 270M shape:
# a config.json of google/gemma-3-270m (the one bench_vs_transformers.py builds) compiled
# with --random-weights for cuda:sm_80,cuda:sm_90a. Too slow for every CI run (a ~550 MB
# artifact, about 2.5 minutes on 2 cores), so a script: prints the report table (markdown)
# and exits 1 on any spill or a matmul or attention kernel without tensor-core instructions.
#   usage: tools/scripts/check-cuda-kernels-270m.sh [BUILD_DIR] [bf16|f32]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
dtype="${2:-bf16}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/gemma3-270m-shape"
python3 - "$root/tools/scripts/bench_vs_transformers.py" "$tmp/gemma3-270m-shape/config.json" <<'PY'
import json, sys
src = open(sys.argv[1]).read()
start = src.index("CONFIG_270M = {")
end = src.index("}\n", src.index('"final_logit_softcapping"')) + 2
ns = {}
exec(src[start:end], ns)
json.dump(ns["CONFIG_270M"], open(sys.argv[2], "w"), indent=1)
PY
"$build/bin/mvc-compile" "$tmp/gemma3-270m-shape" --random-weights 1 --dtype "$dtype" \
  --target cuda:sm_80,cuda:sm_90a -o "$tmp/model.mvc"
python3 "$root/tools/scripts/cuda_kernel_report.py" "$tmp/model.mvc" --check --tensor-cores matmul,attention
