#!/usr/bin/env bash
# The main job, end to end: set up and build, compile the bundled example (a Gemma-style
# transformer block over a paged KV cache, tests/golden/block.mlir with its weights), run
# a prefill of two sequences and one decode step, and check both against the reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
data=tests/golden/Inputs/block
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build/bin/mvc-compile tests/golden/block.mlir --weights "$data" -o "$out/block.mvc"
build/bin/mvc-run "$out/block.mvc" --profile \
  --function block --input "$data/block.0.in0.npy" --input "$data/block.0.in1.npy" \
                   --input "$data/block.0.in2.npy" --input "$data/block.0.in3.npy" \
                   --input "$data/block.0.in4.npy" \
  --function block --input "$data/block.1.in0.npy" --input "$data/block.1.in1.npy" \
                   --input "$data/block.1.in2.npy" --input "$data/block.1.in3.npy" \
                   --input "$data/block.1.in4.npy" \
  --output-dir "$out"
for k in 0 1; do
  python3 tests/golden/compare.py "$out/block.$k.output0.npy" "$data/block.$k.output0.npy" \
    --atol 2e-5 --rtol 2e-5
done
