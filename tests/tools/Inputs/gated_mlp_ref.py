#!/usr/bin/env python3
"""gated_mlp_ref.py OUT_DIR: weights (OUT_DIR/w/NAME.npy), an input x [T=7, 64] and the
f64 reference output of gated_mlp.mlir (rms_norm eps 1e-6, tanh GELU)."""
import os
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
w = {"norm": 1 + 0.1 * rng.standard_normal(64), "wg": 0.2 * rng.standard_normal((128, 64)),
     "wu": 0.2 * rng.standard_normal((128, 64)), "wd": 0.2 * rng.standard_normal((64, 128))}
w = {k: v.astype(np.float32) for k, v in w.items()}
os.makedirs(os.path.join(out, "w"), exist_ok=True)
for name, v in w.items():
    np.save(os.path.join(out, "w", name + ".npy"), v)
x = rng.standard_normal((7, 64)).astype(np.float32)
np.save(os.path.join(out, "x.npy"), x)
f = {k: v.astype(np.float64) for k, v in w.items()}
xd = x.astype(np.float64)
n = xd / np.sqrt((xd * xd).mean(-1, keepdims=True) + 1e-6) * f["norm"]
g = n @ f["wg"].T
a = 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
h = a * (n @ f["wu"].T)
np.save(os.path.join(out, "expected.npy"), (h @ f["wd"].T + n).astype(np.float32))
