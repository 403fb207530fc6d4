#!/usr/bin/env python3
"""make_kquant_case.py OUT_DIR

Writes the inputs of kquant_dtype.test: a graph of three matmuls whose [40, 512] weights
`mvc-compile --dtype q4_k|q5_k|q6_k` quantizes (OUT_DIR/plain.mlir, f32 values in
OUT_DIR/f32/), the same graph with the weights' format written in (OUT_DIR/<type>.mlir)
and their blocks as ggml's reference quantizer makes them (OUT_DIR/<type>/NAME.blocks.npy,
tests/fixtures/ggml_kquants.py), and an input x [7, 512]. The matmul results go through a
[K, N] matmul (a weight no block format takes) before being returned, so the mix's rule for
returned projections leaves them in the format asked for."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import ggml_kquants  # noqa: E402

K, N, OUT = 512, 40, 8
out = sys.argv[1]
rng = np.random.default_rng(20261208)
weights = {"wa": rng.standard_normal((N, K)) * 0.3,
           "wb": rng.standard_t(3, (N, K)) * 0.05,
           "wc": rng.standard_normal((N, K)) * 1e-3}
weights = {k: v.astype(np.float32) for k, v in weights.items()}
proj = (rng.standard_normal((N, OUT)) * 0.2).astype(np.float32)
os.makedirs(os.path.join(out, "f32"), exist_ok=True)
for name, w in weights.items():
    np.save(os.path.join(out, "f32", name + ".npy"), w)
np.save(os.path.join(out, "f32", "proj.npy"), proj)
np.save(os.path.join(out, "x.npy"), rng.standard_normal((7, K)).astype(np.float32))


def graph(fmt):
    attr = f' {{format = "{fmt}"}}' if fmt else ""
    wtype = f"tensor<{N}x{K}xf32>"
    lines = [f'func.func @main(%x: tensor<?x{K}xf32> {{mvc.dims = ["T"]}}) -> '
             f'(tensor<?x{OUT}xf32>, tensor<?x{OUT}xf32>, tensor<?x{OUT}xf32>) {{',
             f'  %p = mvc.weight "proj" : tensor<{N}x{OUT}xf32>']
    for name in weights:
        lines.append(f'  %{name} = mvc.weight "{name}"{attr} : {wtype}')
        lines.append(f"  %m_{name} = mvc.matmul %x, %{name} {{transpose_b}} : "
                     f"(tensor<?x{K}xf32>, {wtype}) -> tensor<?x{N}xf32>")
        lines.append(f"  %o_{name} = mvc.matmul %m_{name}, %p : "
                     f"(tensor<?x{N}xf32>, tensor<{N}x{OUT}xf32>) -> tensor<?x{OUT}xf32>")
    results = ", ".join(f"%o_{name}" for name in weights)
    lines.append(f"  return {results} : " + ", ".join([f"tensor<?x{OUT}xf32>"] * 3))
    lines.append("}")
    return "\n".join(lines) + "\n"


with open(os.path.join(out, "plain.mlir"), "w") as f:
    f.write(graph(None))
for fmt in ("q4_k", "q5_k", "q6_k"):
    d = os.path.join(out, fmt)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(out, fmt + ".mlir"), "w") as f:
        f.write(graph(fmt))
    np.save(os.path.join(d, "proj.npy"), proj)
    for name, w in weights.items():
        blocks = ggml_kquants.quantize(w.reshape(-1), fmt.upper()).reshape(N, -1)
        np.save(os.path.join(d, name + ".blocks.npy"), blocks)
