#!/usr/bin/env python3
"""check_qwen3vl_routing.py MVC_RUN ARTIFACT FIXTURE_DIR [--device DEVICE]

Checks that a Qwen3-VL-MoE artifact compiled with --expose-routing routes every token to
the experts transformers routes it to (FIXTURE_DIR/videos: gen_qwen3vl_video.py recorded the
top-k experts of every MoE layer at every prompt token, prompt{i}.experts.npy
[moe layers, tokens, k]). Each prompt (text, an image, videos) is prefilled in one call
with --dump-outputs; each MoE layer's moe.<layer>.slots [T, k] (where each choice sits in
the expert-sorted order) and moe.<layer>.groups [E + 1] (each expert's range of that order)
give the experts chosen, compared as sets with transformers' top-k per token.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mvc_run")
    p.add_argument("artifact")
    p.add_argument("fixture")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    d = os.path.join(args.fixture, "videos")
    ref = json.load(open(os.path.join(d, "reference.json")))
    failures = 0
    for i, prompt in enumerate(ref["prompts"]):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [args.mvc_run, args.artifact, "--device", args.device, "--max-new-tokens", "1",
                   "--prefill-chunk", "0", "--dump-outputs", tmp,
                   "--prompt-ids", ",".join(map(str, prompt["ids"]))]
            if prompt.get("image"):
                cmd += ["--pixel-values", os.path.join(args.fixture, "images",
                                                       prompt["image"].replace(".png", ".pixel_values.npy"))]
            if prompt.get("video"):
                cmd += ["--video", os.path.join(args.fixture, "..", "video", prompt["video"])]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"mvc-run failed: {run.stderr}")
            layers = sorted(int(f.split(".")[-3]) for f in glob.glob(os.path.join(tmp, "call0.moe.*.slots.npy")))
            want = np.load(os.path.join(d, prompt["experts"]))
            n = len(prompt["ids"])
            if len(layers) != want.shape[0]:
                sys.exit(f"prompt {i}: {len(layers)} MoE layers dumped, transformers has {want.shape[0]}")
            differ = 0
            for li, layer in enumerate(layers):
                slots = np.load(os.path.join(tmp, f"call0.moe.{layer}.slots.npy"))[:n]
                groups = np.load(os.path.join(tmp, f"call0.moe.{layer}.groups.npy"))
                experts = np.searchsorted(groups, slots, side="right") - 1
                for t in range(n):
                    differ += set(experts[t].tolist()) != set(want[li, t].tolist())
            failures += differ
            print(f"prompt {i}: {n} tokens x {len(layers)} MoE layers: "
                  f"{'routing identical' if not differ else f'{differ} tokens routed differently MISMATCH'}")
    if failures:
        sys.exit(f"FAIL: {failures} token routings differ from transformers")


if __name__ == "__main__":
    main()
