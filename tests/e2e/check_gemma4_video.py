#!/usr/bin/env python3
"""check_gemma4_video.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A [--device DEVICE]

A Gemma 4 artifact with a tokenizer and video_preprocessor_config.json against transformers
(tests/fixtures/gen_gemma4_video.py; FIXTURE_DIR/videos/reference.json): each prompt goes in
as its text with the clip file itself (and an image file), so mvc's decoding (FFmpeg), frame
sampling, resize, patching, the "mm:ss <|image>...<image|>" expansion and the tokenizer all
run; then
  - the prompt's ids equal transformers' processor's (the run half's expansion, tokenized);
  - the logits at every position are within atol of transformers' f32 logits (and both
    distances from the same model's float64 logits are printed, as check_gemma4_images.py
    does);
  - the greedy continuation equals transformers'.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_gemma4_images import F64Distance  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mvc_run")
    p.add_argument("artifact")
    p.add_argument("fixture")
    p.add_argument("--atol", type=float, required=True)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    d = os.path.join(a.fixture, "videos")
    ref = json.load(open(os.path.join(d, "reference.json")))
    clips = os.path.join(a.fixture, "..", "video")
    failures = 0
    distance = F64Distance()
    with tempfile.TemporaryDirectory() as tmp:
        for name, prompt in ref["prompts"].items():
            logits = os.path.join(tmp, "logits.npy")
            cmd = [a.mvc_run, a.artifact, "--device", a.device, "-p", prompt["text"],
                   "--max-new-tokens", str(ref["greedy"]["max_new_tokens"]), "--print-ids",
                   "--logits-out", logits, "--all-logits"]
            for image in prompt["images"]:
                cmd += ["--image", os.path.join(a.fixture, image["image"])]
            cmd += ["--video", os.path.join(clips, prompt["video"])]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"mvc-run failed: {run.stderr}")
            got = np.load(logits)
            want = np.load(os.path.join(d, prompt["logits"]))
            exact = np.load(os.path.join(d, prompt["logits_f64"]))
            same = got.shape == want.shape
            failures += not same
            print(f"prompt {name}: {len(prompt['ids'])} tokens as transformers' processor: "
                  f"{'ok' if same else f'MISMATCH {got.shape} vs {want.shape}'}")
            if not same:
                continue
            distance.add(got, want, exact)
            err = float(np.abs(got - want).max())
            failures += not err <= a.atol
            print(f"prompt {name}: logits at {len(want)} positions: max abs error {err:.3g} "
                  f"{'ok' if err <= a.atol else 'MISMATCH'}")
            tokens = [int(t) for t in run.stdout.strip().splitlines()[-1].split()]
            expected = np.load(os.path.join(d, prompt["greedy"])).tolist()
            failures += tokens != expected
            print(f"prompt {name}: greedy {len(tokens)} tokens {'ok' if tokens == expected else f'MISMATCH {tokens} vs {expected}'}")
    distance.report()
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
