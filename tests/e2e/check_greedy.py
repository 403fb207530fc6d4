#!/usr/bin/env python3
"""check_greedy.py MVC_RUN ARTIFACT FIXTURE_DIR [MVC_RUN_FLAGS...]

Greedy generation through `mvc-run --prompt-ids ... --print-ids` must give exactly the
token ids transformers' generate produced (FIXTURE_DIR/reference.json and
prompt{i}.greedy.npy; the EOS id ends a list when generation stopped on it): each prompt
alone, then all prompts as one batch. MVC_RUN_FLAGS (e.g. --device cuda-emu) go to every
mvc-run call."""
import json
import os
import subprocess
import sys

import numpy as np

mvc_run, artifact, fixture = sys.argv[1:4]
extra = sys.argv[4:]
ref = json.load(open(os.path.join(fixture, "reference.json")))
prompts = [p["ids"] for p in ref["prompts"]]
want = [np.load(os.path.join(fixture, p["greedy"])).tolist() for p in ref["prompts"]]
steps = ref["greedy"]["max_new_tokens"]


def run(batch):
    args = [mvc_run, artifact, "--max-new-tokens", str(steps), "--print-ids"] + extra
    for p in batch:
        args += ["--prompt-ids", ",".join(map(str, p))]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"mvc-run failed: {r.stderr}")
    lines = r.stdout.strip().splitlines()[-len(batch):]
    return [[int(t) for t in line.split()] for line in lines]


failures = 0
for i, p in enumerate(prompts):
    got = run([p])[0]
    status = "ok" if got == want[i] else "MISMATCH"
    failures += got != want[i]
    print(f"prompt {i} alone: {len(got)} tokens {status}")
got = run(prompts)
for i in range(len(prompts)):
    failures += got[i] != want[i]
print(f"batch of {len(prompts)}: {'ok' if got == want else 'MISMATCH'}")
if failures:
    sys.exit(f"FAIL: {failures} generations differ from transformers")
