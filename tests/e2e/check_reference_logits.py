#!/usr/bin/env python3
"""check_reference_logits.py MVC_RUN ARTIFACT REFERENCE.json --atol A

For a real model whose full logits are too large to commit: the reference holds, per
prompt, the token ids, transformers' greedy continuation, and at every position the 16
largest logits plus 16 random columns. Checks the artifact's logits at those entries
(|diff| <= atol, and the same top-1 at every position) and that greedy generation gives
the reference continuation token for token.

With --report (lower precision artifacts, e.g. bf16 against the f32 reference) nothing is
asserted: it prints the top-1 agreement over all positions, the largest logit error and
how many greedy tokens agree before the first difference."""
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
p.add_argument("--atol", type=float)
p.add_argument("--report", action="store_true")
p.add_argument("--prefill-chunk", type=int,
               help="mvc-run's --prefill-chunk (1: every position through the decode path)")
a = p.parse_args()
if (a.atol is None) != a.report:
    p.error("give --atol A (check) or --report (report only)")
agree = positions = 0
ref = json.load(open(a.reference))
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, q in enumerate(ref["prompts"]):
        out = os.path.join(tmp, f"p{i}.npy")
        r = subprocess.run([a.mvc_run, a.artifact, "--prompt-ids", ",".join(map(str, q["ids"])),
                            "--max-new-tokens", str(len(q["greedy"])), "--print-ids",
                            "--logits-out", out, "--all-logits"] +
                           (["--prefill-chunk", str(a.prefill_chunk)] if a.prefill_chunk else []),
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"mvc-run failed: {r.stderr}")
        got_ids = [int(t) for t in r.stdout.strip().splitlines()[-1].split()]
        logits = np.load(out)
        cols, want = np.array(q["logit_columns"]), np.array(q["logit_values"])
        have = np.take_along_axis(logits, cols, 1)
        err, mean = np.abs(have - want).max(), np.abs(have - want).mean()
        top1_each = logits.argmax(1) == cols[:, 0]
        agree, positions = agree + int(top1_each.sum()), positions + len(top1_each)
        top1 = np.all(top1_each)
        same = got_ids == q["greedy"]
        if a.report:
            prefix = next((k for k, (x, y) in enumerate(zip(got_ids, q["greedy"])) if x != y),
                          min(len(got_ids), len(q["greedy"])))
            print(f"prompt {i}: {len(q['ids'])} positions, top-1 agrees at "
                  f"{int(top1_each.sum())}, max logit error {err:.3g} (mean {mean:.3g}), greedy: first "
                  f"{prefix} of {len(q['greedy'])} tokens identical")
            continue
        failures += (not err <= a.atol) + (not top1) + (not same)  # a NaN error fails
        print(f"prompt {i}: {len(q['ids'])} positions, max logit error {err:.3g} (mean {mean:.3g}), top-1 "
              f"{'identical' if top1 else 'DIFFERS'}, greedy {len(got_ids)} tokens "
              f"{'identical' if same else 'DIFFER'}")
if a.report:
    print(f"top-1 agreement: {agree}/{positions} positions ({100.0 * agree / positions:.1f}%)")
if failures:
    sys.exit(f"FAIL: {failures} checks failed")
