#!/usr/bin/env python3
"""check_reference_logits.py MVC_RUN ARTIFACT REFERENCE.json --atol A

For a real model whose full logits are too large to commit: the reference holds, per
prompt, the token ids, transformers' greedy continuation, and at every position the 16
largest logits plus 16 random columns. Checks the artifact's logits at those entries
(|diff| <= atol, and the same top-1 at every position) and that greedy generation gives
the reference continuation token for token."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("mvc_run")
p.add_argument("artifact")
p.add_argument("reference")
p.add_argument("--atol", type=float, required=True)
a = p.parse_args()
ref = json.load(open(a.reference))
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, q in enumerate(ref["prompts"]):
        out = os.path.join(tmp, f"p{i}.npy")
        r = subprocess.run([a.mvc_run, a.artifact, "--prompt-ids", ",".join(map(str, q["ids"])),
                            "--max-new-tokens", str(len(q["greedy"])), "--print-ids",
                            "--logits-out", out, "--all-logits"], capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"mvc-run failed: {r.stderr}")
        got_ids = [int(t) for t in r.stdout.strip().splitlines()[-1].split()]
        logits = np.load(out)
        cols, want = np.array(q["logit_columns"]), np.array(q["logit_values"])
        have = np.take_along_axis(logits, cols, 1)
        err = np.abs(have - want).max()
        top1 = np.all(logits.argmax(1) == cols[:, 0])
        same = got_ids == q["greedy"]
        failures += (not err <= a.atol) + (not top1) + (not same)  # a NaN error fails
        print(f"prompt {i}: {len(q['ids'])} positions, max logit error {err:.3g}, top-1 "
              f"{'identical' if top1 else 'DIFFERS'}, greedy {len(got_ids)} tokens "
              f"{'identical' if same else 'DIFFER'}")
if failures:
    sys.exit(f"FAIL: {failures} checks failed")
