#!/usr/bin/env python3
"""Generates the op-level golden tests: for each case an mvc graph (a lit test, NAME.mlir)
and its data (Inputs/NAME/: weights as WEIGHT.npy, inputs, expected outputs).

The references are plain numpy in float64 from the float32 inputs (bf16 operands are
rounded to bf16 first), so they restate the math of each op independently of the
kernels. Run it from anywhere; it rewrites tests/golden. Needs numpy, and the `gguf`
package (0.19.0, llama.cpp's numpy reference) for the Q8_0 case.

    python3 tests/golden/gen_goldens.py
"""
import math
import os
import shutil
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "Inputs")

# float32 kernels against a float64 reference: a few ulp of f32 per op, and the
# polynomial tanh/exp/erf of the generated code (max rel. error ~3e-7) compounded over a
# handful of ops. bf16 products are exact in f32, so bf16 cases keep the same bound
# relative to the output scale (only the f32 accumulation order differs).
ATOL = 2e-5
RTOL = 2e-5


def bf16_round(a):
    """Round float32 values to bfloat16 (nearest even), returned as float32."""
    a = np.asarray(a, dtype=np.float32)
    bits = a.view(np.uint32).astype(np.uint64)
    rounding = 0x7FFF + ((bits >> 16) & 1)
    out = ((bits + rounding) >> 16) << 16
    return out.astype(np.uint32).view(np.float32)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gelu_exact(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rms_norm(x, w=None, eps=1e-6, offset=0.0):
    x = x.astype(np.float64)
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y if w is None else y * (offset + w)


def layer_norm(x, g, b, eps=1e-5):
    x = x.astype(np.float64)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def softmax(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def rope(x, pos, inv_freq):
    """Rotate-half RoPE on [T, H, D]; the angle is rounded to f32 as HF computes it."""
    x = x.astype(np.float64)
    r = len(inv_freq)
    angle = (pos.astype(np.float32)[:, None] * inv_freq[None, :].astype(np.float32)).astype(np.float64)
    c, s = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    out = x.copy()
    x1, x2 = x[..., :r], x[..., r:2 * r]
    out[..., :r] = x1 * c - x2 * s
    out[..., r:2 * r] = x2 * c + x1 * s
    return out


def default_inv_freq(d, theta=10000.0):
    return (1.0 / theta ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d))).astype(np.float32)


class Case:
    """One graph, its weights and inputs, and the expected outputs of each invocation."""

    def __init__(self, name, doc):
        self.name, self.doc = name, doc
        self.rng = np.random.RandomState(zlib.crc32(name.encode()))
        self.weights, self.calls, self.int8 = {}, [], {}
        self.tolerance = (ATOL, RTOL)
        # Every case runs on the host's best ISA; cases with matmuls also on the two
        # fixed levels, so the AVX2 and non-bf16 code paths are checked on any machine.
        self.cpus = ["native"]
        self.cuda_emu = True

    def randn(self, *shape, scale=1.0):
        return (self.rng.randn(*shape) * scale).astype(np.float32)

    def weight(self, name, value):
        self.weights[name] = np.asarray(value, dtype=np.float32)
        return self.weights[name]

    def call(self, function, inputs, outputs, tolerance=None, int8_outputs=None):
        """One invocation; `tolerance` (atol, rtol) overrides the case's for its outputs.
        `int8_outputs`: what `--cpu native` computes where it has integer dot products
        (lit feature cpu-int8-dot: block-format matmuls of at most 8 rows quantize their
        activations to int8), None where an output is the same."""
        self.calls.append((function, inputs, outputs, tolerance))
        self.int8[len(self.calls) - 1] = int8_outputs or []

    def write(self, graph):
        d = os.path.join(INPUTS, self.name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for k, v in self.weights.items():
            np.save(os.path.join(d, k + ".npy"), v)
        counts = {}
        for f, _, _, _ in self.calls:
            counts[f] = counts.get(f, 0) + 1
        seen = {}
        run = ["mvc-run %t.mvc"]
        compares = []
        for c, (f, inputs, outputs, tolerance) in enumerate(self.calls):
            k = seen.get(f, 0)
            seen[f] = k + 1
            prefix = f if counts[f] == 1 else f"{f}.{k}"
            run.append(f"--function {f}")
            for i, a in enumerate(inputs):
                fname = f"{prefix}.in{i}.npy"
                np.save(os.path.join(d, fname), a)
                run.append(f"--input %S/Inputs/{self.name}/{fname}")
            int8 = self.int8[c]
            for i, o in enumerate(outputs):
                fname = f"{prefix}.output{i}.npy"
                np.save(os.path.join(d, fname), np.asarray(o, dtype=np.float32))
                int8name = None
                if i < len(int8) and int8[i] is not None:
                    int8name = f"{prefix}.int8.output{i}.npy"
                    np.save(os.path.join(d, int8name), np.asarray(int8[i], dtype=np.float32))
                compares.append((fname, tolerance or self.tolerance, int8name))
        lines = [f"// {line}" for line in self.doc.strip().splitlines()]
        lines.append("// Generated by gen_goldens.py; data in Inputs/%s." % self.name)
        for cpu in self.cpus:
            art, out = f"%t.{cpu}.mvc", f"%t.{cpu}.out"
            lines.append(f"// RUN: mvc-compile %s --cpu {cpu} --weights %S/Inputs/{self.name} -o {art}")
            lines.append(f"// RUN: rm -rf {out} && " + " ".join(run).replace("%t.mvc", art) +
                         f" --output-dir {out}")
            for fname, (atol, rtol), int8name in compares:
                expected = f"%S/Inputs/{self.name}/{fname}"
                if int8name and cpu == "native":
                    expected = (f"%if cpu-int8-dot %{{%S/Inputs/{self.name}/{int8name}%}} "
                                f"%else %{{{expected}%}}")
                lines.append(f"// RUN: %python %S/compare.py {out}/{fname} {expected}"
                             f" --atol {atol} --rtol {rtol}")
        # cuda-emu: the cuda path's kernels on the emulator, with the same tolerances.
        if not self.cuda_emu:
            with open(os.path.join(HERE, self.name + ".mlir"), "w") as out:
                out.write("\n".join(lines) + "\n\n" + graph.strip() + "\n")
            return
        art, out = "%t.emu.mvc", "%t.emu.out"
        lines.append(f"// RUN: mvc-compile %s --target cuda-emu --weights %S/Inputs/{self.name} -o {art}")
        lines.append(f"// RUN: rm -rf {out} && " + " ".join(run).replace("%t.mvc", art) +
                     f" --device cuda-emu --output-dir {out}")
        for fname, (atol, rtol), _ in compares:
            lines.append(f"// RUN: %python %S/compare.py {out}/{fname} %S/Inputs/{self.name}/{fname}"
                         f" --atol {atol} --rtol {rtol}")
        with open(os.path.join(HERE, self.name + ".mlir"), "w") as out:
            out.write("\n".join(lines) + "\n\n" + graph.strip() + "\n")


def elementwise():
    c = Case("elementwise", "Activations and binary ops (a 50-wide row exercises the scalar tail),\n"
                            "suffix broadcasting, bf16 round trip; six outputs of one program.")
    T, C = 7, 50
    x, y = c.randn(T, C, scale=2.0), c.randn(T, C)
    bias = c.weight("bias", c.randn(C))
    out = [gelu_tanh(x.astype(np.float64)) + bias,
           gelu_exact(x.astype(np.float64)) * y,
           silu(x.astype(np.float64)) - y,
           5.0 * np.tanh(3.0 * x.astype(np.float64) / 5.0) / np.exp(y.astype(np.float64)),
           -np.tanh(x.astype(np.float64)),
           bf16_round(x)]
    c.call("main", [x, y], out)
    c.write(f"""
func.func @main(%x: tensor<?x{C}xf32> {{mvc.dims = ["T"]}}, %y: tensor<?x{C}xf32> {{mvc.dims = ["T"]}})
    -> (tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>) {{
  %bias = mvc.weight "bias" : tensor<{C}xf32>
  %g = mvc.gelu %x {{approximate = "tanh"}} : tensor<?x{C}xf32>
  %o0 = mvc.add %g, %bias : tensor<?x{C}xf32>, tensor<{C}xf32> -> tensor<?x{C}xf32>
  %ge = mvc.gelu %x : tensor<?x{C}xf32>
  %o1 = mvc.mul %ge, %y : tensor<?x{C}xf32>, tensor<?x{C}xf32> -> tensor<?x{C}xf32>
  %s = mvc.silu %x : tensor<?x{C}xf32>
  %o2 = mvc.sub %s, %y : tensor<?x{C}xf32>, tensor<?x{C}xf32> -> tensor<?x{C}xf32>
  %sc = mvc.scale %x {{factor = 3.0 : f32}} : tensor<?x{C}xf32>
  %cap = mvc.softcap %sc {{cap = 5.0 : f32}} : tensor<?x{C}xf32>
  %e = mvc.exp %y : tensor<?x{C}xf32>
  %o3 = mvc.div %cap, %e : tensor<?x{C}xf32>, tensor<?x{C}xf32> -> tensor<?x{C}xf32>
  %t = mvc.tanh %x : tensor<?x{C}xf32>
  %o4 = mvc.neg %t : tensor<?x{C}xf32>
  %b = mvc.cast %x : tensor<?x{C}xf32> -> tensor<?x{C}xbf16>
  %o5 = mvc.cast %b : tensor<?x{C}xbf16> -> tensor<?x{C}xf32>
  return %o0, %o1, %o2, %o3, %o4, %o5 : tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>, tensor<?x{C}xf32>
}}""")


def norms():
    c = Case("norms", "RMSNorm with (1 + w), with w, without weight; LayerNorm; softmax.")
    T, C = 9, 40
    x = c.randn(T, C, scale=3.0)
    w = c.weight("w", c.randn(C, scale=0.5))
    g = c.weight("g", c.randn(C))
    b = c.weight("b", c.randn(C))
    c.call("main", [x], [rms_norm(x, w, 1e-6, 1.0), rms_norm(x, w, 1e-5, 0.0), rms_norm(x, None, 1e-6),
                         layer_norm(x, g, b, 1e-5), softmax(x)])
    ty = f"tensor<?x{C}xf32>"
    c.write(f"""
func.func @main(%x: {ty} {{mvc.dims = ["T"]}}) -> ({ty}, {ty}, {ty}, {ty}, {ty}) {{
  %w = mvc.weight "w" : tensor<{C}xf32>
  %g = mvc.weight "g" : tensor<{C}xf32>
  %b = mvc.weight "b" : tensor<{C}xf32>
  %o0 = mvc.rms_norm %x, %w {{eps = 1.0e-6 : f32, offset = 1.0 : f32}} : ({ty}, tensor<{C}xf32>) -> {ty}
  %o1 = mvc.rms_norm %x, %w {{eps = 1.0e-5 : f32}} : ({ty}, tensor<{C}xf32>) -> {ty}
  %o2 = mvc.rms_norm %x {{eps = 1.0e-6 : f32}} : ({ty}) -> {ty}
  %o3 = mvc.layer_norm %x, %g, %b {{eps = 1.0e-5 : f32}} : ({ty}, tensor<{C}xf32>, tensor<{C}xf32>) -> {ty}
  %o4 = mvc.softmax %x : {ty}
  return %o0, %o1, %o2, %o3, %o4 : {ty}, {ty}, {ty}, {ty}, {ty}
}}""")


def rope_case():
    c = Case("rope", "RoPE (rotate-half) on [T, heads, D] from rope_table: a full default table,\n"
                     "a partial table (dims past 2R pass through), a zero-tail (proportional) table.")
    T, H, D = 6, 3, 32
    x = c.randn(T, H, D)
    pos = np.array([0, 1, 2, 7, 100, 4095], dtype=np.int32)
    full = default_inv_freq(D)
    partial = default_inv_freq(16, 1e6)
    prop = full.copy()
    prop[4:] = 0.0
    ty = f"tensor<?x{H}x{D}xf32>"

    def table(v):
        return "dense<[" + ", ".join(repr(float(f)) for f in v) + f"]> : tensor<{len(v)}xf32>"
    c.call("main", [x, pos], [rope(x, pos, full), rope(x, pos, partial), rope(x, pos, prop)])
    c.write(f"""
func.func @main(%x: {ty} {{mvc.dims = ["T"]}}, %pos: tensor<?xi32> {{mvc.dims = ["T"]}}) -> ({ty}, {ty}, {ty}) {{
  %full = arith.constant {table(full)}
  %partial = arith.constant {table(partial)}
  %prop = arith.constant {table(prop)}
  %t0 = mvc.rope_table %pos, %full : (tensor<?xi32>, tensor<{len(full)}xf32>) -> tensor<?x{2 * len(full)}xf32>
  %t1 = mvc.rope_table %pos, %partial : (tensor<?xi32>, tensor<{len(partial)}xf32>) -> tensor<?x{2 * len(partial)}xf32>
  %t2 = mvc.rope_table %pos, %prop : (tensor<?xi32>, tensor<{len(prop)}xf32>) -> tensor<?x{2 * len(prop)}xf32>
  %o0 = mvc.rope %x, %t0 : ({ty}, tensor<?x{2 * len(full)}xf32>) -> {ty}
  %o1 = mvc.rope %x, %t1 : ({ty}, tensor<?x{2 * len(partial)}xf32>) -> {ty}
  %o2 = mvc.rope %x, %t2 : ({ty}, tensor<?x{2 * len(prop)}xf32>) -> {ty}
  return %o0, %o1, %o2 : {ty}, {ty}, {ty}
}}""")


def mrope_case():
    c = Case("mrope", "M-RoPE (Qwen3-VL's interleaved sections): rope_table over [T, 3] positions\n"
                      "(time, height, width) with a per-frequency axis; head_dim 32 (16 frequencies),\n"
                      "sections [4, 3, 3] (so the tail frequencies fall back to time), then rope.")
    T, H, D = 7, 2, 32
    x = c.randn(T, H, D)
    pos = np.array([[0, 0, 0], [5, 5, 5], [5, 6, 9], [6, 7, 8], [12, 12, 12], [40, 41, 3], [4095, 7, 2]],
                   dtype=np.int32)
    inv = default_inv_freq(D, 5e6)
    sections = [4, 3, 3]
    axes = np.zeros(len(inv), dtype=np.int32)
    for j in range(len(inv)):
        if j % 3 == 1 and j < 3 * sections[1]:
            axes[j] = 1
        elif j % 3 == 2 and j < 3 * sections[2]:
            axes[j] = 2
    ty = f"tensor<?x{H}x{D}xf32>"
    # Each frequency's angle from its axis's position, rounded to f32 as transformers does.
    angle = (pos[:, axes].astype(np.float32) * inv[None, :]).astype(np.float64)
    xd = x.astype(np.float64)
    r = len(inv)
    cs, sn = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    out = xd.copy()
    out[..., :r] = xd[..., :r] * cs - xd[..., r:2 * r] * sn
    out[..., r:2 * r] = xd[..., r:2 * r] * cs + xd[..., :r] * sn
    c.call("main", [x, pos], [out])
    freqs = "dense<[" + ", ".join(repr(float(f)) for f in inv) + f"]> : tensor<{r}xf32>"
    axis_list = "dense<[" + ", ".join(str(int(a)) for a in axes) + f"]> : tensor<{r}xi32>"
    c.write(f"""
func.func @main(%x: {ty} {{mvc.dims = ["T"]}}, %pos: tensor<?x3xi32> {{mvc.dims = ["T"]}}) -> {ty} {{
  %freq = arith.constant {freqs}
  %axes = arith.constant {axis_list}
  %t = mvc.rope_table %pos, %freq axes(%axes) : (tensor<?x3xi32>, tensor<{r}xf32>, tensor<{r}xi32>) -> tensor<?x{2 * r}xf32>
  %o = mvc.rope %x, %t : ({ty}, tensor<?x{2 * r}xf32>) -> {ty}
  return %o : {ty}
}}""")


def gather_slice():
    c = Case("gather_slice", "Embedding gather with a scale (Gemma's sqrt(H)), last-axis slice and concat.")
    V, H = 100, 24
    table = c.weight("embed", c.randn(V, H))
    ids = np.array([3, 0, 99, 42, 42], dtype=np.int32)
    e = table[ids].astype(np.float64) * np.float32(math.sqrt(H))
    cat = np.concatenate([e[:, 16:24], e[:, 0:8]], axis=1)
    c.call("main", [ids], [e, cat])
    c.write(f"""
func.func @main(%ids: tensor<?xi32> {{mvc.dims = ["T"]}}) -> (tensor<?x{H}xf32>, tensor<?x16xf32>) {{
  %t = mvc.weight "embed" : tensor<{V}x{H}xf32>
  %g = mvc.gather %t, %ids : (tensor<{V}x{H}xf32>, tensor<?xi32>) -> tensor<?x{H}xf32>
  %e = mvc.scale %g {{factor = {float(np.float32(math.sqrt(H)))!r} : f32}} : tensor<?x{H}xf32>
  %a = mvc.slice %e {{axis = 1 : i64, start = 16 : i64, size = 8 : i64}} : tensor<?x{H}xf32> -> tensor<?x8xf32>
  %b = mvc.slice %e {{axis = 1 : i64, start = 0 : i64, size = 8 : i64}} : tensor<?x{H}xf32> -> tensor<?x8xf32>
  %c = mvc.concat %a, %b {{axis = 1 : i64}} : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x16xf32>
  return %e, %c : tensor<?x{H}xf32>, tensor<?x16xf32>
}}""")


def tied(dtype):
    bf = dtype == "bf16"
    c = Case(f"tied_{dtype}", f"A tied embedding and head ({dtype}): the table is stored once, packed for the\n"
                              "matmul, and the gather reads rows out of the packed panels. V=40 is not a\n"
                              "multiple of the 16-row panel; H=24 is even (bf16 pairs).")
    V, H = 40, 24
    table = c.weight("embed", c.randn(V, H))
    ids = np.array([39, 0, 17, 16, 5], dtype=np.int32)
    r = bf16_round if bf else (lambda a: a)
    rows = r(table)[ids].astype(np.float64)
    logits = r(rows.astype(np.float32)).astype(np.float64) @ r(table).astype(np.float64).T
    c.call("main", [ids], [rows, logits])
    c.write(f"""
func.func @main(%ids: tensor<?xi32> {{mvc.dims = ["T"]}}) -> (tensor<?x{H}xf32>, tensor<?x{V}xf32>) {{
  %t = mvc.weight "embed" : tensor<{V}x{H}x{dtype}>
  %e = mvc.gather %t, %ids : (tensor<{V}x{H}x{dtype}>, tensor<?xi32>) -> tensor<?x{H}xf32>
  %l = mvc.matmul %e, %t {{transpose_b}} : (tensor<?x{H}xf32>, tensor<{V}x{H}x{dtype}>) -> tensor<?x{V}xf32>
  return %e, %l : tensor<?x{H}xf32>, tensor<?x{V}xf32>
}}""")


def copies():
    c = Case("copies", "Transposes and slices/concats along leading axes (the copy kernel), over a\n"
                       "dynamic leading dim; an i32 transpose moves integers unconverted. Exact.")
    x = c.randn(5, 4, 6)
    ids = np.arange(15, dtype=np.int32).reshape(5, 3) * 7 - 40
    s = x[:, 1:3]
    cat = np.concatenate([x, s, s], 1)[:, 1:8]
    c.call("main", [x, ids], [x.transpose(2, 0, 1), s, cat, ids.T])
    c.tolerance = (0.0, 0.0)
    c.write("""
func.func @main(%x: tensor<?x4x6xf32> {mvc.dims = ["T"]}, %ids: tensor<?x3xi32> {mvc.dims = ["T"]})
    -> (tensor<6x?x4xf32>, tensor<?x2x6xf32>, tensor<?x7x6xf32>, tensor<3x?xi32>) {
  %t = mvc.transpose %x [2, 0, 1] : tensor<?x4x6xf32> -> tensor<6x?x4xf32>
  %s = mvc.slice %x {axis = 1 : i64, start = 1 : i64, size = 2 : i64} : tensor<?x4x6xf32> -> tensor<?x2x6xf32>
  %c = mvc.concat %x, %s, %s {axis = 1 : i64} : (tensor<?x4x6xf32>, tensor<?x2x6xf32>, tensor<?x2x6xf32>) -> tensor<?x8x6xf32>
  %c2 = mvc.slice %c {axis = 1 : i64, start = 1 : i64, size = 7 : i64} : tensor<?x8x6xf32> -> tensor<?x7x6xf32>
  %it = mvc.transpose %ids [1, 0] : tensor<?x3xi32> -> tensor<3x?xi32>
  return %t, %s, %c2, %it : tensor<6x?x4xf32>, tensor<?x2x6xf32>, tensor<?x7x6xf32>, tensor<3x?xi32>
}""")


def matmuls(dtype):
    bf = dtype == "bf16"
    c = Case(f"matmul_{dtype}",
             f"Matmuls with {dtype} weights: a partial last panel (N=40), a gated-GELU epilogue\n"
             "fused into the second matmul, a non-transposed weight with a bias epilogue.\n"
             "13 rows take the small-batch microkernel (all rows, one panel at a time); 53 and 100\n"
             "rows take row tiles: six-row tiles in 48-row workgroups and 5- and 4-row tails." +
             ("\nbf16: both operands are rounded to bf16, products accumulate in f32. On a CPU with\n"
              "AMX, `native` runs 53 and 100 rows through AMX tiles in 64-row workgroups (32-row\n"
              "tiles, a 16-row tile, 5 and 4 rows left to the vector microkernel; 3 panels: a pair\n"
              "and an odd one; K = 72: two 32-blocks and a tail of 8), `native-noamx` the same ISA\n"
              "without them." if bf else ""))
    K = 72
    w1 = c.weight("w1", c.randn(40, K, scale=0.2))
    wg = c.weight("wg", c.randn(80, K, scale=0.2))
    wu = c.weight("wu", c.randn(80, K, scale=0.2))
    w2 = c.weight("w2", c.randn(K, 24, scale=0.2))
    b2 = c.weight("b2", c.randn(24))
    r = bf16_round if bf else (lambda a: a)
    for T in (13, 53, 100):
        x = c.randn(T, K)
        xa = r(x).astype(np.float64)
        o0 = xa @ r(w1).astype(np.float64).T
        o1 = gelu_tanh(xa @ r(wg).astype(np.float64).T) * (xa @ r(wu).astype(np.float64).T)
        o2 = xa @ r(w2).astype(np.float64) + b2
        c.call("main", [x], [o0, o1, o2])
    c.cpus = ["native"] + (["native-noamx"] if bf else []) + ["x86-64-v4", "x86-64-v3"]
    wt = "bf16" if bf else "f32"
    c.write(f"""
func.func @main(%x: tensor<?x{K}xf32> {{mvc.dims = ["T"]}}) -> (tensor<?x40xf32>, tensor<?x80xf32>, tensor<?x24xf32>) {{
  %w1 = mvc.weight "w1" : tensor<40x{K}x{wt}>
  %wg = mvc.weight "wg" : tensor<80x{K}x{wt}>
  %wu = mvc.weight "wu" : tensor<80x{K}x{wt}>
  %w2 = mvc.weight "w2" : tensor<{K}x24x{wt}>
  %b2 = mvc.weight "b2" : tensor<24xf32>
  %o0 = mvc.matmul %x, %w1 {{transpose_b}} : (tensor<?x{K}xf32>, tensor<40x{K}x{wt}>) -> tensor<?x40xf32>
  %u = mvc.matmul %x, %wu {{transpose_b}} : (tensor<?x{K}xf32>, tensor<80x{K}x{wt}>) -> tensor<?x80xf32>
  %g = mvc.matmul %x, %wg {{transpose_b}} : (tensor<?x{K}xf32>, tensor<80x{K}x{wt}>) -> tensor<?x80xf32>
  %a = mvc.gelu %g {{approximate = "tanh"}} : tensor<?x80xf32>
  %o1 = mvc.mul %a, %u : tensor<?x80xf32>, tensor<?x80xf32> -> tensor<?x80xf32>
  %m2 = mvc.matmul %x, %w2 : (tensor<?x{K}xf32>, tensor<{K}x24x{wt}>) -> tensor<?x24xf32>
  %o2 = mvc.add %m2, %b2 : tensor<?x24xf32>, tensor<24xf32> -> tensor<?x24xf32>
  return %o0, %o1, %o2 : tensor<?x40xf32>, tensor<?x80xf32>, tensor<?x24xf32>
}}""")


BLOCK_FORMATS = ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]


def block_dequantized(w, fmt):
    """W as gguf's quantizer and dequantizer (llama.cpp's numpy reference) make it."""
    import gguf
    from gguf import quants
    qtype = gguf.GGMLQuantizationType[fmt.upper()]
    blocks = quants.quantize(w.astype(np.float32), qtype)
    return quants.dequantize(blocks, qtype).astype(np.float32).reshape(w.shape)


def int8_activations(x):
    """x as the int8 decode path sees it (lowering_config int8_rows): per row and 32-value
    block, d = max|x| / 127 and q = x · (1 / d) rounded to nearest even, in f32 as the
    kernel computes them; returns d·q in f64. A block-format matmul then computes exactly
    this times the dequantized weights (integer dot products, exact), up to f32 rounding."""
    xb = x.astype(np.float32).reshape(x.shape[0], -1, 32)
    d = (np.abs(xb).max(-1, keepdims=True) / np.float32(127)).astype(np.float32)
    inv = np.where(d == 0, np.float32(0), np.float32(1) / np.where(d == 0, np.float32(1), d))
    q = np.rint((xb * inv.astype(np.float32)).astype(np.float32))
    return (d.astype(np.float64) * q).reshape(x.shape)


def matmul_blocks():
    c = Case("matmul_blocks",
             "Matmuls with weights in ggml block formats (format = q8_0, q4_0, q4_1, q5_0, q5_1:\n"
             "blocks of 32 decoded in the kernel), each [40, 96] (a partial last panel, three\n"
             "blocks per row); a gated-GELU epilogue over two q8_0 matmuls; a tied q4_1 table\n"
             "read by a gather and a matmul. The reference quantizes and dequantizes with the\n"
             "`gguf` package (mvc's quantizers are bit-exact to it: mvc_weight_packing_test) and\n"
             "multiplies in f64. mvc keeps the activations f32 and scales each block's integer\n"
             "sums by its f16 scale (plus min x the block's activation sum for the _1 formats),\n"
             "so the error is f32 rounding over K (observed < 2e-5 on outputs up to ~15). 1 row\n"
             "takes the one-row tail, 6 a row tile, 13 the small-batch microkernel, 53 row tiles; on CPUs with\n"
             "integer dot products (cpu-int8-dot) 1 and 6 rows take the int8 path instead: x quantized\n"
             "per 32 as llama.cpp's q8_0 (the reference quantizes it the same way), vpdpbusd,\n"
             "exact integer sums (observed < 1e-6). cuda-emu:\n"
             "the block's integers go through the bf16 mma exactly against x split in two bf16\n"
             "parts (x to 2^-17), the same tolerance.")
    K = 96
    ws = {f: c.weight("w_" + f, c.randn(40, K, scale=0.3)) for f in BLOCK_FORMATS}
    wg = c.weight("wg", c.randn(80, K, scale=0.3))
    wu = c.weight("wu", c.randn(80, K, scale=0.3))
    t = c.weight("t", c.randn(40, K, scale=0.5))
    ds = {f: block_dequantized(w, f).astype(np.float64) for f, w in ws.items()}
    dg, du = (block_dequantized(w, "q8_0").astype(np.float64) for w in (wg, wu))
    dt = block_dequantized(t, "q4_1").astype(np.float64)
    for T in (1, 6, 13, 53):
        x = c.randn(T, K)
        ids = c.rng.randint(0, 40, size=T).astype(np.int32)
        xa = x.astype(np.float64)
        def outputs(xa):
            return ([xa @ ds[f].T for f in BLOCK_FORMATS] + [gelu_tanh(xa @ dg.T) * (xa @ du.T)] +
                    [dt[ids], xa @ dt.T])
        int8 = None
        if T <= 8:
            int8 = outputs(int8_activations(x))
            int8[len(BLOCK_FORMATS) + 1] = None  # the gather
        c.call("main", [x, ids], outputs(xa), int8_outputs=int8)
    c.cpus = ["native", "x86-64-v4", "x86-64-v3"]
    weights = "\n".join(f'  %w_{f} = mvc.weight "w_{f}" {{format = "{f}"}} : tensor<40x{K}xf32>'
                         for f in BLOCK_FORMATS)
    matmuls = "\n".join(f"  %o_{f} = mvc.matmul %x, %w_{f} {{transpose_b}} : (tensor<?x{K}xf32>, "
                         f"tensor<40x{K}xf32>) -> tensor<?x40xf32>" for f in BLOCK_FORMATS)
    results = ", ".join(f"%o_{f}" for f in BLOCK_FORMATS)
    types = ", ".join(["tensor<?x40xf32>"] * len(BLOCK_FORMATS))
    c.write(f"""
func.func @main(%x: tensor<?x{K}xf32> {{mvc.dims = ["T"]}}, %ids: tensor<?xi32> {{mvc.dims = ["T"]}}) -> ({types}, tensor<?x80xf32>, tensor<?x{K}xf32>, tensor<?x40xf32>) {{
{weights}
  %wg = mvc.weight "wg" {{format = "q8_0"}} : tensor<80x{K}xf32>
  %wu = mvc.weight "wu" {{format = "q8_0"}} : tensor<80x{K}xf32>
  %t = mvc.weight "t" {{format = "q4_1"}} : tensor<40x{K}xf32>
{matmuls}
  %u = mvc.matmul %x, %wu {{transpose_b}} : (tensor<?x{K}xf32>, tensor<80x{K}xf32>) -> tensor<?x80xf32>
  %g = mvc.matmul %x, %wg {{transpose_b}} : (tensor<?x{K}xf32>, tensor<80x{K}xf32>) -> tensor<?x80xf32>
  %a = mvc.gelu %g {{approximate = "tanh"}} : tensor<?x80xf32>
  %o1 = mvc.mul %a, %u : tensor<?x80xf32>, tensor<?x80xf32> -> tensor<?x80xf32>
  %e = mvc.gather %t, %ids : (tensor<40x{K}xf32>, tensor<?xi32>) -> tensor<?x{K}xf32>
  %h = mvc.matmul %x, %t {{transpose_b}} : (tensor<?x{K}xf32>, tensor<40x{K}xf32>) -> tensor<?x40xf32>
  return {results}, %o1, %e, %h : {types}, tensor<?x80xf32>, tensor<?x{K}xf32>, tensor<?x40xf32>
}}""")


def kquant_blocks(rng, rows, k, fmt):
    """Random GGUF k-quant blocks (all bit patterns but finite, small f16 d and dmin) for an
    [rows, k] weight, and the `gguf` package's dequantization of them. (Neither mvc nor the
    package quantizes to the k-quants: mvc keeps a file's.)"""
    import gguf
    from gguf import quants
    qtype = gguf.GGMLQuantizationType[fmt.upper()]
    block_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
    n = rows * k // 256
    blocks = rng.randint(0, 256, size=(n, block_bytes)).astype(np.uint8)
    if fmt == "q6_k":  # d at the end of the block
        blocks[:, 208:210] = (rng.randn(n, 1) * 5e-4).astype(np.float16).view(np.uint8).reshape(n, 2)
    else:  # d, dmin
        blocks[:, 0:4] = (rng.randn(n, 2) * 5e-4).astype(np.float16).view(np.uint8).reshape(n, 4)
    values = quants.dequantize(blocks.reshape(-1), qtype).astype(np.float32).reshape(rows, k)
    return blocks.reshape(rows, -1), values


def matmul_kquants():
    c = Case("matmul_kquants",
             "Matmuls with weights in ggml's k-quants (format = q4_k, q5_k: 256-value groups of 8\n"
             "blocks under one f16 d and dmin, 6-bit sc and m per block; q6_k: one d, an int8\n"
             "scale per 16 values, 6-bit values less 32), given as GGUF blocks\n"
             "(Inputs/.../NAME.blocks.npy: random bit patterns with finite scales), [40, 512]:\n"
             "a partial last panel, two groups per row; a tied q5_k table read by a gather and a\n"
             "matmul. The reference dequantizes with the `gguf` package and multiplies in f64;\n"
             "mvc scales each block's integer sums by d·sc and adds −dmin·m times the block's\n"
             "activation sum, in f32 (observed < 2e-5 on outputs up to ~40). 1, 13 and 53 rows\n"
             "as matmul_blocks (and 6); 1 and 6 rows on cpu-int8-dot and cuda-emu as there (int8 observed\n"
             "< 5e-6).")
    K = 512
    ws = {}
    for f in ("q4_k", "q5_k", "q6_k"):
        blocks, values = kquant_blocks(c.rng, 40, K, f)
        ws[f] = values.astype(np.float64)
        c.weights[f"w_{f}.blocks"] = blocks
    tb, tv = kquant_blocks(c.rng, 40, K, "q5_k")
    c.weights["t.blocks"] = tb
    for T in (1, 6, 13, 53):
        x = c.randn(T, K)
        ids = c.rng.randint(0, 40, size=T).astype(np.int32)
        xa = x.astype(np.float64)
        def outputs(xa):
            return [xa @ ws["q4_k"].T, xa @ ws["q5_k"].T, xa @ ws["q6_k"].T, tv[ids],
                    xa @ tv.astype(np.float64).T]
        int8 = None
        if T <= 8:
            int8 = outputs(int8_activations(x))
            int8[3] = None  # the gather
        c.call("main", [x, ids], outputs(xa), int8_outputs=int8)
    c.cpus = ["native", "x86-64-v4", "x86-64-v3"]
    c.write(f"""
func.func @main(%x: tensor<?x{K}xf32> {{mvc.dims = ["T"]}}, %ids: tensor<?xi32> {{mvc.dims = ["T"]}}) -> (tensor<?x40xf32>, tensor<?x40xf32>, tensor<?x40xf32>, tensor<?x{K}xf32>, tensor<?x40xf32>) {{
  %w4 = mvc.weight "w_q4_k" {{format = "q4_k"}} : tensor<40x{K}xf32>
  %w6 = mvc.weight "w_q6_k" {{format = "q6_k"}} : tensor<40x{K}xf32>
  %w5 = mvc.weight "w_q5_k" {{format = "q5_k"}} : tensor<40x{K}xf32>
  %t = mvc.weight "t" {{format = "q5_k"}} : tensor<40x{K}xf32>
  %o4 = mvc.matmul %x, %w4 {{transpose_b}} : (tensor<?x{K}xf32>, tensor<40x{K}xf32>) -> tensor<?x40xf32>
  %o5 = mvc.matmul %x, %w5 {{transpose_b}} : (tensor<?x{K}xf32>, tensor<40x{K}xf32>) -> tensor<?x40xf32>
  %o6 = mvc.matmul %x, %w6 {{transpose_b}} : (tensor<?x{K}xf32>, tensor<40x{K}xf32>) -> tensor<?x40xf32>
  %e = mvc.gather %t, %ids : (tensor<40x{K}xf32>, tensor<?xi32>) -> tensor<?x{K}xf32>
  %h = mvc.matmul %x, %t {{transpose_b}} : (tensor<?x{K}xf32>, tensor<40x{K}xf32>) -> tensor<?x40xf32>
  return %o4, %o5, %o6, %e, %h : tensor<?x40xf32>, tensor<?x40xf32>, tensor<?x40xf32>, tensor<?x{K}xf32>, tensor<?x40xf32>
}}""")


def moe_reference(x, router, gate_up, down, top_k, r, down_transposed):
    """transformers' sparse MoE block (softmax in f32 -> top-k -> renormalise -> SwiGLU
    experts -> weighted sum), in float64 from the rounded operands, and the routing as
    mvc.moe_route reports it (choices in ascending expert order, a stable sort by expert)."""
    T, E = x.shape[0], router.shape[0]
    logits = x.astype(np.float64) @ router.astype(np.float64).T
    order = np.argsort(-logits, axis=1, kind="stable")
    margin = np.take_along_axis(logits, order[:, top_k - 1:top_k], 1) - \
        np.take_along_axis(logits, order[:, top_k:top_k + 1], 1)
    assert margin.min() > 1e-3, "near-tie in the router: choose another seed"
    p = softmax(logits)
    chosen = np.sort(order[:, :top_k], axis=1)
    weights = np.take_along_axis(p, chosen, 1)
    weights = weights / weights.sum(1, keepdims=True)
    flat = chosen.reshape(-1)
    sorted_pos = np.argsort(flat, kind="stable")
    slots = np.empty_like(sorted_pos)
    slots[sorted_pos] = np.arange(len(flat))
    rows = sorted_pos // top_k
    groups = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=E))])
    I = gate_up.shape[1] // 2
    y = np.zeros((T, x.shape[1]))
    xa = r(x).astype(np.float64)
    for t in range(T):
        for j, e in enumerate(chosen[t]):
            gu = xa[t] @ r(gate_up[e]).astype(np.float64).T
            h = silu(gu[:I]) * gu[I:]
            d = r(h.astype(np.float32)).astype(np.float64)
            wd = r(down[e]).astype(np.float64)
            out = d @ (wd if down_transposed else wd.T)
            y[t] += weights[t, j] * out
    return y, weights, slots.reshape(T, top_k), rows, groups


def moe(dtype):
    bf = dtype == "bf16"
    c = Case(f"moe_{dtype}",
             f"A mixture-of-experts block ({dtype} expert weights, f32 router): mvc.moe_route (softmax,\n"
             "top-2 of 6, renormalised, the stable sort by expert), the tokens gathered in expert\n"
             "order, a grouped gate/up matmul ([E, 2I, H], transposed) with SwiGLU, a grouped down\n"
             "matmul stored [E, I, H] (not transposed), mvc.moe_combine and the residual add.\n"
             "H = 40 and N = 48 leave partial panels; 1 token (decode: 2 experts with a row each),\n"
             "7 tokens, and 200 tokens (experts with ~67 rows: several row blocks each).")
    H, E, I, K = 40, 6, 24, 2
    router = c.weight("router", c.randn(E, H, scale=0.5))
    gate_up = c.weight("gate_up", c.randn(E, 2 * I, H, scale=0.2))
    down = c.weight("down", c.randn(E, I, H, scale=0.2))
    r = bf16_round if bf else (lambda a: a)
    for T in (1, 7, 200):
        x = c.randn(T, H)
        # Tokens whose k-th and (k+1)-th router logits nearly tie could route differently
        # in f32 than in the float64 reference: draw them again.
        while True:
            logits = np.sort(x.astype(np.float64) @ router.astype(np.float64).T, axis=1)
            close = logits[:, -K] - logits[:, -K - 1] < 1e-3
            if not close.any():
                break
            x[close] = c.randn(int(close.sum()), H)
        y, w, slots, rows, groups = moe_reference(x, router, gate_up, down, K, r, True)
        c.call("main", [x], [x.astype(np.float64) + y, w, slots, rows, groups])
    c.cpus = ["native"] + (["native-noamx"] if bf else []) + ["x86-64-v4", "x86-64-v3"]
    wt = "bf16" if bf else "f32"
    c.write(f"""
func.func @main(%x: tensor<?x{H}xf32> {{mvc.dims = ["T"]}})
    -> (tensor<?x{H}xf32>, tensor<?x{K}xf32>, tensor<?x{K}xi32>, tensor<?xi32>, tensor<{E + 1}xi32>) {{
  %router = mvc.weight "router" : tensor<{E}x{H}xf32>
  %gate_up = mvc.weight "gate_up" : tensor<{E}x{2 * I}x{H}x{wt}>
  %down = mvc.weight "down" : tensor<{E}x{I}x{H}x{wt}>
  %logits = mvc.matmul %x, %router {{transpose_b}} : (tensor<?x{H}xf32>, tensor<{E}x{H}xf32>) -> tensor<?x{E}xf32>
  %w, %slots, %rows, %groups = mvc.moe_route %logits {{top_k = {K} : i64}} : tensor<?x{E}xf32> -> tensor<?x{K}xf32>, tensor<?x{K}xi32>, tensor<?xi32>, tensor<{E + 1}xi32>
  %xs = mvc.gather %x, %rows : (tensor<?x{H}xf32>, tensor<?xi32>) -> tensor<?x{H}xf32>
  %gu = mvc.matmul %xs, %gate_up groups(%groups) {{transpose_b}} : (tensor<?x{H}xf32>, tensor<{E}x{2 * I}x{H}x{wt}>, tensor<{E + 1}xi32>) -> tensor<?x{2 * I}xf32>
  %g = mvc.slice %gu {{axis = 1 : i64, start = 0 : i64, size = {I} : i64}} : tensor<?x{2 * I}xf32> -> tensor<?x{I}xf32>
  %u = mvc.slice %gu {{axis = 1 : i64, start = {I} : i64, size = {I} : i64}} : tensor<?x{2 * I}xf32> -> tensor<?x{I}xf32>
  %a = mvc.silu %g : tensor<?x{I}xf32>
  %h = mvc.mul %a, %u : tensor<?x{I}xf32>, tensor<?x{I}xf32> -> tensor<?x{I}xf32>
  %d = mvc.matmul %h, %down groups(%groups) : (tensor<?x{I}xf32>, tensor<{E}x{I}x{H}x{wt}>, tensor<{E + 1}xi32>) -> tensor<?x{H}xf32>
  %y = mvc.moe_combine %d, %w, %slots : (tensor<?x{H}xf32>, tensor<?x{K}xf32>, tensor<?x{K}xi32>) -> tensor<?x{H}xf32>
  %o = mvc.add %x, %y : tensor<?x{H}xf32>, tensor<?x{H}xf32> -> tensor<?x{H}xf32>
  return %o, %w, %slots, %rows, %groups : tensor<?x{H}xf32>, tensor<?x{K}xf32>, tensor<?x{K}xi32>, tensor<?xi32>, tensor<{E + 1}xi32>
}}""")


def block():
    c = Case("block", """A Gemma-style transformer block over a paged KV cache: prefill of a ragged
batch (5 and 3 tokens), then one decode step per sequence. GQA (4 query heads, 2 KV
heads), q/k RMSNorm (1 + w), RoPE, sliding window 4 (the 5-token sequence goes past it),
attention softcap 20, four norms, gated GELU MLP. Pages of 4 tokens, non-contiguous
(sequence 0 owns pages 3 then 0, sequence 1 owns page 5).""")
    H, NH, NKV, HD, I, PS, W, CAP = 64, 4, 2, 16, 128, 4, 4, 20.0
    scale = HD ** -0.5
    ws = {}
    for name, shape, sc in [("wq", (NH * HD, H), 0.15), ("wk", (NKV * HD, H), 0.15),
                            ("wv", (NKV * HD, H), 0.15), ("wo", (H, NH * HD), 0.15),
                            ("wg", (I, H), 0.15), ("wu", (I, H), 0.15), ("wd", (H, I), 0.1)]:
        ws[name] = c.weight(name, c.randn(*shape, scale=sc))
    for name, n in [("n_in", H), ("n_q", HD), ("n_k", HD), ("n_post", H), ("n_pre_ff", H), ("n_post_ff", H)]:
        ws[name] = c.weight(name, c.randn(n, scale=0.3))
    inv = default_inv_freq(HD)
    lens = [6, 4]   # total tokens per sequence: prefill 5 and 3, then one decode step each
    xs = [c.randn(n, H) for n in lens]

    def reference(x):
        n = x.shape[0]
        pos = np.arange(n, dtype=np.int32)
        h0 = rms_norm(x, ws["n_in"], 1e-6, 1.0)
        q = (h0 @ ws["wq"].T.astype(np.float64)).reshape(n, NH, HD)
        k = (h0 @ ws["wk"].T.astype(np.float64)).reshape(n, NKV, HD)
        v = (h0 @ ws["wv"].T.astype(np.float64)).reshape(n, NKV, HD)
        q = rope(rms_norm(q, ws["n_q"], 1e-6, 1.0), pos, inv)
        k = rope(rms_norm(k, ws["n_k"], 1e-6, 1.0), pos, inv)
        att = np.zeros((n, NH, HD))
        for t in range(n):
            keys = [j for j in range(n) if j <= t and j > t - W]
            for hh in range(NH):
                g = hh // (NH // NKV)
                s = np.array([q[t, hh] @ k[j, g] for j in keys]) * scale
                s = CAP * np.tanh(s / CAP)
                p = np.exp(s - s.max())
                p /= p.sum()
                att[t, hh] = sum(pj * v[j, g] for pj, j in zip(p, keys))
        o = att.reshape(n, NH * HD) @ ws["wo"].T.astype(np.float64)
        h = x + rms_norm(o, ws["n_post"], 1e-6, 1.0)
        m = rms_norm(h, ws["n_pre_ff"], 1e-6, 1.0)
        d = (gelu_tanh(m @ ws["wg"].T.astype(np.float64)) * (m @ ws["wu"].T.astype(np.float64))) @ ws["wd"].T.astype(np.float64)
        return h + rms_norm(d, ws["n_post_ff"], 1e-6, 1.0)

    refs = [reference(x) for x in xs]
    table = np.array([[3, 0], [5, 1]], dtype=np.int32)   # seq 1's second page is unused
    i32 = lambda v: np.array(v, dtype=np.int32)
    prefill = [np.concatenate([xs[0][:5], xs[1][:3]]), i32([0, 1, 2, 3, 4, 0, 1, 2]), table,
               i32([0, 5, 8]), i32([0, 0])]
    decode = [np.concatenate([xs[0][5:], xs[1][3:]]), i32([5, 3]), table, i32([0, 1, 2]), i32([5, 3])]
    c.call("block", prefill, [np.concatenate([refs[0][:5], refs[1][:3]])])
    c.call("block", decode, [np.concatenate([refs[0][5:], refs[1][3:]])])
    c.cpus = ["native", "x86-64-v3"]
    f = "f32"
    X = f"tensor<?x{H}x{f}>"
    cache = f"tensor<?x{PS}x{NKV}x{HD}x{f}>"
    paged = "tensor<?x?xi32>, tensor<?xi32>, tensor<?xi32>"
    tbl = "dense<[" + ", ".join(repr(float(v)) for v in inv) + f"]> : tensor<{len(inv)}xf32>"

    def norm(dst, src, w, ty, n):
        return (f'  %{dst} = mvc.rms_norm %{src}, %{w} {{eps = 1.0e-6 : f32, offset = 1.0 : f32}} : '
                f'({ty}, tensor<{n}xf32>) -> {ty}')

    def mm(dst, src, w, k, n):
        return (f'  %{dst} = mvc.matmul %{src}, %{w} {{transpose_b}} : '
                f'(tensor<?x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<?x{n}xf32>')
    weights = "\n".join(f'  %{k} = mvc.weight "{k}" : tensor<{"x".join(map(str, v.shape))}xf32>'
                        for k, v in ws.items())
    q3, k3 = f"tensor<?x{NH}x{HD}xf32>", f"tensor<?x{NKV}x{HD}xf32>"
    c.write(f"""
func.func @block(%x: {X} {{mvc.dims = ["T"]}}, %pos: tensor<?xi32> {{mvc.dims = ["T"]}},
                 %bt: tensor<?x?xi32> {{mvc.dims = ["B", "P"]}}, %ro: tensor<?xi32> {{mvc.dims = ["B1"]}},
                 %cl: tensor<?xi32> {{mvc.dims = ["B"]}}) -> {X} {{
{weights}
  %inv = arith.constant {tbl}
  %kc = mvc.state "kv.k" : {cache}
  %vc = mvc.state "kv.v" : {cache}
{norm("h0", "x", "n_in", X, H)}
{mm("q", "h0", "wq", H, NH * HD)}
{mm("k", "h0", "wk", H, NKV * HD)}
{mm("v", "h0", "wv", H, NKV * HD)}
  %q3 = mvc.reshape %q : tensor<?x{NH * HD}xf32> -> {q3}
  %k3 = mvc.reshape %k : tensor<?x{NKV * HD}xf32> -> {k3}
  %v3 = mvc.reshape %v : tensor<?x{NKV * HD}xf32> -> {k3}
{norm("qn", "q3", "n_q", q3, HD)}
{norm("kn", "k3", "n_k", k3, HD)}
  %tab = mvc.rope_table %pos, %inv : (tensor<?xi32>, tensor<{len(inv)}xf32>) -> tensor<?x{2 * len(inv)}xf32>
  %qr = mvc.rope %qn, %tab : ({q3}, tensor<?x{2 * len(inv)}xf32>) -> {q3}
  %kr = mvc.rope %kn, %tab : ({k3}, tensor<?x{2 * len(inv)}xf32>) -> {k3}
  %kc2 = mvc.kv_write %kr into %kc pages(%bt, %ro, %cl) : ({k3}, {cache}, {paged}) -> {cache}
  %vc2 = mvc.kv_write %v3 into %vc pages(%bt, %ro, %cl) : ({k3}, {cache}, {paged}) -> {cache}
  %att = mvc.attention %qr, %kc2, %vc2 pages(%bt, %ro, %cl) {{scale = {scale!r} : f32, sliding_window = {W}, softcap = {CAP} : f32}} : ({q3}, {cache}, {cache}, {paged}) -> {q3}
  %a2 = mvc.reshape %att : {q3} -> tensor<?x{NH * HD}xf32>
{mm("o", "a2", "wo", NH * HD, H)}
{norm("on", "o", "n_post", X, H)}
  %h = mvc.add %x, %on : {X}, {X} -> {X}
{norm("m", "h", "n_pre_ff", X, H)}
{mm("g", "m", "wg", H, I)}
{mm("u", "m", "wu", H, I)}
  %ga = mvc.gelu %g {{approximate = "tanh"}} : tensor<?x{I}xf32>
  %gu = mvc.mul %ga, %u : tensor<?x{I}xf32>, tensor<?x{I}xf32> -> tensor<?x{I}xf32>
{mm("d", "gu", "wd", I, H)}
{norm("dn", "d", "n_post_ff", X, H)}
  %out = mvc.add %h, %dn : {X}, {X} -> {X}
  return %out : {X}
}}""")


def segmented_reference(q, k, v, scale, mask=None):
    """float64 segmented attention: q [S·P, H, D], k and v [S, P, KVH, D]; each row sees
    its segment's keys whose mask entry is nonzero (a segment with none visible: all keys
    weigh the same, as transformers' additive mask makes them)."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    segs, P, KVH, D = k.shape
    H = q.shape[1]
    out = np.zeros((segs * P, H, D))
    for s in range(segs):
        for h in range(H):
            g = h // (H // KVH)
            sc = q[s * P:(s + 1) * P, h] @ k[s, :, g].T * scale
            if mask is not None:
                sc = np.where(mask[s][None, :] != 0, sc, -np.inf) if mask[s].any() else 0.0 * sc
            out[s * P:(s + 1) * P, h] = softmax(sc) @ v[s, :, g]
    return out


def segmented_attention():
    """Encoder attention without page tables over bf16 keys and values (a vision tower's)."""
    c = Case("segmented_attention_bf16", """Segmented attention (no page tables: each row sees every key of its own segment,
both ways) over bf16 keys and values, as a bf16 vision tower runs it. `main`: 2 segments
of 64 rows, 2 query heads on 1 KV head, head dim 72 (not a multiple of 32: padded
tiles); `long`: one segment of 512 rows, head dim 40, so the AMX template (CPUs with AMX,
`native`) runs two 256-row chunks per head and packs keys 256 at a time. `native-noamx`
takes the vector kernels. Reference: float64 softmax of bf16-rounded Q, K, V. The kernels
round the probabilities to bf16 before P·V (as the bf16 model's softmax output is) while
their sum stays f32: each output moves by at most 2^-9 of the largest |v| (~4.5 here);
observed 1.3e-3 (AMX) and 2.9e-3 (vector kernels, whose Q stays f32), bound 1e-2.
`masked` and `masked_f32`: a key_mask hides a segment's padding keys (see there);
bf16 observed 9e-4 (AMX) and 2.8e-3 (vector kernels) against the same bound, f32 5.4e-7
against 1e-5.""")
    c.tolerance = (1e-2, 0.0)
    funcs = []
    for name, segs, P, H, KVH, D in (("main", 2, 64, 2, 1, 72), ("long", 1, 512, 1, 1, 40)):
        q = c.randn(segs * P, H, D)
        k = c.randn(segs, P, KVH, D)
        v = c.randn(segs, P, KVH, D)
        scale = 1.0 / math.sqrt(D)
        out = segmented_reference(*(bf16_round(a) for a in (q, k, v)), scale)
        c.call(name, [q, k, v], [out])
        q3, kv = f"tensor<?x{H}x{D}xf32>", f"tensor<?x{P}x{KVH}x{D}"
        funcs.append(f"""func.func @{name}(%q: {q3} {{mvc.dims = ["T"]}}, %k: {kv}xf32> {{mvc.dims = ["S"]}}, %v: {kv}xf32> {{mvc.dims = ["S"]}}) -> {q3} {{
  %kb = mvc.cast %k : {kv}xf32> -> {kv}xbf16>
  %vb = mvc.cast %v : {kv}xf32> -> {kv}xbf16>
  %o = mvc.attention %q, %kb, %vb {{scale = {scale!r} : f32}} : ({q3}, {kv}xbf16>, {kv}xbf16>) -> {q3}
  return %o : {q3}
}}""")
    # key_mask (a frame's padding patches hidden): 3 segments of 512 keys (a 16 x 32 patch
    # grid): a 10 x 20 rectangle visible; a random ~30% with key 0 hidden (a row's first
    # visible key comes late); none visible (every key weighs the same, as transformers'
    # additive mask makes it). bf16 keys and values, and f32 ones (the f32 kernels).
    segs, P, H, KVH, D = 3, 512, 2, 1, 72
    mask = np.zeros((segs, P), np.int32)
    mask[0].reshape(16, 32)[:10, :20] = 1
    mask[1] = (c.rng.uniform(size=P) < 0.3).astype(np.int32)
    mask[1, 0] = 0
    for name, kv_type in (("masked", "bf16"), ("masked_f32", "f32")):
        q = c.randn(segs * P, H, D)
        k = c.randn(segs, P, KVH, D)
        v = c.randn(segs, P, KVH, D)
        scale = 1.0 / math.sqrt(D)
        rounded = bf16_round if kv_type == "bf16" else (lambda a: a)
        out = segmented_reference(*(rounded(a) for a in (q, k, v)), scale, mask)
 # f32: the kernels' f32 accumulation over 512 keys, observed 5.4e-7.
        c.call(name, [q, k, v, mask], [out], tolerance=None if kv_type == "bf16" else (1e-5, 1e-5))
        q3, kv = f"tensor<?x{H}x{D}xf32>", f"tensor<?x{P}x{KVH}x{D}"
        m = f"tensor<?x{P}xi32>"
        cast = "" if kv_type == "f32" else f"""
  %k = mvc.cast %kf : {kv}xf32> -> {kv}xbf16>
  %v = mvc.cast %vf : {kv}xf32> -> {kv}xbf16>"""
        kname, vname = ("%kf", "%vf") if kv_type == "bf16" else ("%k", "%v")
        funcs.append(f"""func.func @{name}(%q: {q3} {{mvc.dims = ["T"]}}, {kname}: {kv}xf32> {{mvc.dims = ["S"]}}, {vname}: {kv}xf32> {{mvc.dims = ["S"]}}, %m: {m} {{mvc.dims = ["S"]}}) -> {q3} {{{cast}
  %o = mvc.attention %q, %k, %v key_mask(%m) {{scale = {scale!r} : f32}} : ({q3}, {kv}x{kv_type}>, {kv}x{kv_type}>, {m}) -> {q3}
  return %o : {q3}
}}""")
    c.cpus = ["native", "native-noamx", "x86-64-v3"]
    c.write("\n\n".join(funcs))


def varlen_attention():
    c = Case("varlen_attention", """Attention within segments of any lengths (mvc.attention with `segments`: a vision tower
at native resolution, images of different sizes in one call): segments of 5, 17, 1, 40 and
23 rows, 4 query heads over 2 KV heads, head_dim 32; f32 and bf16 keys/values. Each row
sees every key of its own segment, none of the others'. bf16: the kernels round Q and the
probabilities to bf16 where they take bf16 dot products (vdpbf16ps, mma.sync), as for the
equal segments: observed 4.1e-3 (native, cuda-emu) and 4e-7 (x86-64-v3, Q stays f32), bound
1e-2 absolute (outputs are averages of unit-variance values).""")
    H, KVH, D = 4, 2, 32
    lens = [5, 17, 1, 40, 23]
    offsets = np.cumsum([0] + lens).astype(np.int32)
    T = int(offsets[-1])
    scale = 1.0 / math.sqrt(D)
    funcs = []
    for kv_type in ("f32", "bf16"):
        q = c.randn(T, H, D)
        k = c.randn(T, KVH, D)
        v = c.randn(T, KVH, D)
        r = bf16_round if kv_type == "bf16" else (lambda a: a)
        out = np.zeros((T, H, D))
        for a, b in zip(offsets[:-1], offsets[1:]):
            for h in range(H):
                g = h // (H // KVH)
                sc = q[a:b, h].astype(np.float64) @ r(k[a:b, g]).astype(np.float64).T * scale
                out[a:b, h] = softmax(sc) @ r(v[a:b, g]).astype(np.float64)
        name = f"main_{kv_type}"
        c.call(name, [q, k, v, offsets], [out], tolerance=(2e-5, 2e-5) if kv_type == "f32" else (1e-2, 0.0))
        q3, kv3 = f"tensor<?x{H}x{D}xf32>", f"tensor<?x{KVH}x{D}"
        kv4 = f"tensor<?x1x{KVH}x{D}"
        cast = "" if kv_type == "f32" else f"""
  %kb = mvc.cast %k4 : {kv4}xf32> -> {kv4}xbf16>
  %vb = mvc.cast %v4 : {kv4}xf32> -> {kv4}xbf16>"""
        kn, vn = ("%kb", "%vb") if kv_type == "bf16" else ("%k4", "%v4")
        funcs.append(f"""func.func @{name}(%q: {q3} {{mvc.dims = ["T"]}}, %k: {kv3}xf32> {{mvc.dims = ["T"]}}, %v: {kv3}xf32> {{mvc.dims = ["T"]}}, %seg: tensor<?xi32> {{mvc.dims = ["S1"]}}) -> {q3} {{
  %k4 = mvc.reshape %k : {kv3}xf32> -> {kv4}xf32>
  %v4 = mvc.reshape %v : {kv3}xf32> -> {kv4}xf32>{cast}
  %o = mvc.attention %q, {kn}, {vn} segments(%seg) {{scale = {scale!r} : f32}} : ({q3}, {kv4}x{kv_type}>, {kv4}x{kv_type}>, tensor<?xi32>) -> {q3}
  return %o : {q3}
}}""")
    c.cpus = ["native", "x86-64-v3"]
    c.write("\n\n".join(funcs))


if __name__ == "__main__":
    os.makedirs(INPUTS, exist_ok=True)
    elementwise()
    norms()
    rope_case()
    mrope_case()
    gather_slice()
    copies()
    tied("f32")
    tied("bf16")
    matmuls("f32")
    matmuls("bf16")
    matmul_blocks()
    matmul_kquants()
    moe("f32")
    moe("bf16")
    block()
    segmented_attention()
    varlen_attention()
    print("goldens written to", HERE)
