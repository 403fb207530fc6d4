#!/usr/bin/env python3
"""compare.py ACTUAL.npy EXPECTED.npy --atol A --rtol R

Passes when the shapes agree and every element satisfies |a - e| <= atol + rtol * |e|
(numpy.allclose's rule); prints the worst absolute and relative errors either way."""
import argparse
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("actual")
p.add_argument("expected")
p.add_argument("--atol", type=float, required=True)
p.add_argument("--rtol", type=float, required=True)
a = p.parse_args()
actual, expected = np.load(a.actual), np.load(a.expected)
if actual.shape != expected.shape:
    sys.exit(f"shape mismatch: {a.actual} is {actual.shape}, {a.expected} is {expected.shape}")
actual, expected = actual.astype(np.float64), expected.astype(np.float64)
err = np.abs(actual - expected)
bound = a.atol + a.rtol * np.abs(expected)
worst = np.unravel_index(np.argmax(err - bound), err.shape)
print(f"{a.expected}: max abs err {err.max():.3g}, max rel err "
      f"{(err / np.maximum(np.abs(expected), 1e-30)).max():.3g}, worst at {worst}: "
      f"{actual[worst]!r} vs {expected[worst]!r}")
if not np.all(np.isfinite(actual)) or np.any(err > bound):
    sys.exit(f"FAIL: {np.count_nonzero(err > bound)} of {err.size} elements beyond "
             f"atol={a.atol} rtol={a.rtol}")
