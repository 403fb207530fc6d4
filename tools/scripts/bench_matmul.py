#!/usr/bin/env python3
"""Matmul throughput of mvc's generated CPU kernels beside numpy (OpenBLAS, f32) and
torch (oneDNN, bf16), measured in one run on the same shapes and thread count.

    python3 tools/scripts/bench_matmul.py [--build build] [--threads 2] [--reps 20]

y[M, N] = x[M, K] · Wᵀ for the decode shape 1×2048×2048 and the prefill shape
512×2048×2048, weights f32 and bf16. Prints a table and writes JSON to stdout's last
line. Not part of the test suite: it times things.

GB/s counts the bytes a kernel must read once (weights + activations + output). The
2048×2048 weights (16 MB f32, 8 MB bf16) fit in this machine's 32 MB L3, so repeated
decode calls read them from L3, not DRAM; `--big` uses N = 8192 (64 MB f32) to see DRAM.
torch is optional (skipped with a note when not installed). This machine's environment
sets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, which slow a current numpy: for the numbers in
notes run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 ...`; the table
prints which OpenBLAS kernel ran.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np


def mvc_time(build, dtype, m, k, n, threads, reps, tmp):
    graph = os.path.join(tmp, f"mm_{dtype}_{k}x{n}.mlir")
    art = os.path.join(tmp, f"mm_{dtype}_{k}x{n}.mvc")
    if not os.path.exists(art):
        with open(graph, "w") as f:
            f.write(f"""func.func @main(%x: tensor<?x{k}xf32> {{mvc.dims = ["M"]}}) -> tensor<?x{n}xf32> {{
  %w = mvc.weight "w" : tensor<{n}x{k}x{dtype}>
  %y = mvc.matmul %x, %w {{transpose_b}} : (tensor<?x{k}xf32>, tensor<{n}x{k}x{dtype}>) -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
""")
        subprocess.run([f"{build}/bin/mvc-compile", graph, "--random-weights", "1", "-o", art], check=True)
    x = os.path.join(tmp, f"x_{m}_{k}.npy")
    np.save(x, np.random.RandomState(0).randn(m, k).astype(np.float32))
    def total_us(calls):
        args = [f"{build}/bin/mvc-run", art, "--threads", str(threads), "--profile"]
        for _ in range(calls):
            args += ["--function", "main", "--input", x]
        err = subprocess.run(args, check=True, capture_output=True, text=True).stderr
        # The matmul kernel alone: with bf16 weights on a CPU with bf16 dot products the
        # f32 input is rounded to bf16 by a cast kernel of its own first (in a model that
        # cast fuses into the producer of the activation), as torch's input is bf16.
        row = [l for l in err.splitlines() if re.search(r"main_d\d+_matmul", l)][0]
        return float(row.split()[0])
    # The first call also faults the weights in: time 1 call and 1 + reps calls and take
    # the difference, so only warm calls count (as for the references).
    return (total_us(reps + 1) - total_us(1)) / reps * 1e-6


def numpy_time(m, k, n, reps):
    x = np.random.randn(m, k).astype(np.float32)
    w = np.random.randn(n, k).astype(np.float32)
    x @ w.T
    t = time.perf_counter()
    for _ in range(reps):
        x @ w.T
    return (time.perf_counter() - t) / reps


def torch_time(m, k, n, threads, reps):
    import torch
    torch.set_num_threads(threads)
    x = torch.randn(m, k, dtype=torch.bfloat16)
    w = torch.randn(n, k, dtype=torch.bfloat16)
    with torch.no_grad():
        torch.nn.functional.linear(x, w)
        t = time.perf_counter()
        for _ in range(reps):
            torch.nn.functional.linear(x, w)
    return (time.perf_counter() - t) / reps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--big", action="store_true")
    p.add_argument("--shape", action="append", default=[],
                   help="MxKxN instead of the default shapes (repeatable), e.g. 9216x768x3072 "
                        "(a vision tower's MLP over 9 frames)")
    a = p.parse_args()
    try:
        from threadpoolctl import threadpool_limits, threadpool_info
    except ImportError:
        sys.exit("pip install threadpoolctl (to pin numpy's OpenBLAS to --threads)")
    k = 2048
    n = 8192 if a.big else 2048
    shapes = [tuple(int(x) for x in s.split("x")) for s in a.shape] or [(m, k, n) for m in (1, 512)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(a.threads):
        blas = [i.get("internal_api", "?") + ":" + str(i.get("architecture")) for i in threadpool_info()]
        for m, k, n in shapes:
            flops = 2.0 * m * n * k
            for dtype in ("f32", "bf16"):
                wbytes = n * k * (4 if dtype == "f32" else 2)
                moved = wbytes + 4 * (m * k + m * n)
                t = mvc_time(a.build, dtype, m, k, n, a.threads, a.reps, tmp)
                ref_name, ref = ("numpy/OpenBLAS f32", numpy_time(m, k, n, a.reps)) if dtype == "f32" else (None, None)
                if dtype == "bf16":
                    try:
                        ref_name, ref = "torch/oneDNN bf16", torch_time(m, k, n, a.threads, a.reps)
                    except ImportError:
                        ref_name, ref = "torch (not installed)", None
                rows.append({"shape": f"{m}x{k}x{n}", "weights": dtype, "mvc_ms": t * 1e3,
                             "mvc_gflops": flops / t / 1e9, "mvc_gbps": moved / t / 1e9,
                             "reference": ref_name, "ref_ms": ref * 1e3 if ref else None,
                             "ref_gflops": flops / ref / 1e9 if ref else None,
                             "speedup_vs_ref": ref / t if ref else None})
    print(f"threads={a.threads} blas={blas}")
    print(f"{'shape':>16} {'w':>5} {'mvc ms':>9} {'GFLOP/s':>8} {'GB/s':>7}   {'reference':<20} {'ref ms':>8} {'GFLOP/s':>8} {'mvc/ref':>7}")
    for r in rows:
        ref_ms = f"{r['ref_ms']:8.3f}" if r["ref_ms"] else "       -"
        ref_gf = f"{r['ref_gflops']:8.1f}" if r["ref_gflops"] else "       -"
        sp = f"{r['speedup_vs_ref']:7.2f}" if r["speedup_vs_ref"] else "      -"
        print(f"{r['shape']:>16} {r['weights']:>5} {r['mvc_ms']:9.3f} {r['mvc_gflops']:8.1f} {r['mvc_gbps']:7.1f}   "
              f"{r['reference']:<20} {ref_ms} {ref_gf} {sp}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
