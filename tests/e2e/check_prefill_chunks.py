#!/usr/bin/env python3
"""check_prefill_chunks.py MVC_RUN ARTIFACT FIXTURE_DIR --chunk N --atol A --rtol R [--device D]

Chunked prefill through the Generator: `mvc-run --prefill-chunk N --all-logits` over all
of FIXTURE_DIR's prompts as one batch, so prompts are cut across calls and a call holds
the end of one prompt and the start of the next; every later piece of a prompt runs on
the cache its earlier calls wrote. Its logits at every prompt position must match
transformers' (FIXTURE_DIR/reference.json, prompt{i}.logits.npy) within atol + rtol·|ref|,
and the prefill must have taken the expected number of calls (stderr)."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("mvc_run")
p.add_argument("artifact")
p.add_argument("fixture")
p.add_argument("--chunk", type=int, required=True, help="mvc-run --prefill-chunk (0: one call)")
p.add_argument("--atol", type=float, required=True)
p.add_argument("--rtol", type=float, required=True)
p.add_argument("--device", default="cpu", help="mvc-run --device")
a = p.parse_args()
ref = json.load(open(os.path.join(a.fixture, "reference.json")))
prompts = [q["ids"] for q in ref["prompts"]]
want = np.concatenate([np.load(os.path.join(a.fixture, q["logits"])) for q in ref["prompts"]])
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "logits.npy")
    args = [a.mvc_run, a.artifact, "--device", a.device, "--max-new-tokens", "0", "--prefill-chunk", str(a.chunk),
            "--logits-out", out, "--all-logits"]
    for q in prompts:
        args += ["--prompt-ids", ",".join(map(str, q))]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"mvc-run failed: {r.stderr}")
    got = np.load(out).astype(np.float64)
tokens = sum(len(q) for q in prompts)
calls = -(-tokens // a.chunk) if a.chunk else 1
m = re.search(r"prefill: (\d+) tokens in (\d+) calls?", r.stderr)
if not m or int(m.group(2)) != calls:
    sys.exit(f"expected the prefill of {tokens} tokens in {calls} calls, stderr says: {r.stderr}")
if got.shape != want.shape:
    sys.exit(f"logits shape {got.shape}, expected {want.shape}")
err = np.abs(got - want)
bad = ~(err <= a.atol + a.rtol * np.abs(want))  # a NaN is never within
print(f"{len(prompts)} prompts, {tokens} tokens in {calls} calls of <= {a.chunk}: "
      f"max abs logit error {err.max():.3g}")
if bad.any():
    sys.exit(f"FAIL: {bad.sum()} logits beyond atol={a.atol} rtol={a.rtol}")
