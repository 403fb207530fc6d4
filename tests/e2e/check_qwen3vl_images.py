#!/usr/bin/env python3
"""check_qwen3vl_images.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A --rtol R [--device DEVICE]
    [--prefill-chunk N] [--set images|videos]

Checks a Qwen3-VL artifact against transformers on prompts with images
(tests/fixtures/gen_qwen3vl_images.py; FIXTURE_DIR/images/reference.json): each prompt's ids
(image tokens already expanded) go in with --prompt-ids and its images' patches (transformers'
processor's, [h, w, C·tp·p·p]) with --pixel-values, so the vision program, the M-RoPE
positions, the feature merge and deepstack are checked (mvc's own preprocessing of the same
PNGs equals that processor's: mvc_qwen3vl_test):

  alone   each prompt: logits at every position (--all-logits) and the greedy continuation;
  batch   all prompts in one ragged batch (the text-only one among them), the same;
  chunks  with --prefill-chunk N, the batch again in chunks of N tokens (an image's tokens
          are never cut).

With --set videos (tests/fixtures/gen_qwen3vl_video.py; FIXTURE_DIR/videos/reference.json)
the prompts hold videos too: the video files themselves (tests/fixtures/video) go in with
--video, so mvc's decoding (FFmpeg), frame sampling, resizing, patching and timestamps'
positions are all checked against transformers' logits of one left-padded batch.
"""
import argparse
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
    p.add_argument("--atol", type=float, required=True)
    p.add_argument("--rtol", type=float, required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--prefill-chunk", type=int, default=0)
    p.add_argument("--set", default="images", choices=["images", "videos"])
    args = p.parse_args()
    d = os.path.join(args.fixture, args.set)
    images_dir = os.path.join(args.fixture, "images")
    videos_dir = os.path.join(args.fixture, "..", "video")
    ref = json.load(open(os.path.join(d, "reference.json")))
    prompts = ref["prompts"]
    new_tokens = ref["greedy"]["max_new_tokens"]
    failures = 0

    with tempfile.TemporaryDirectory() as tmp:
        def check(indices, tag, chunk=None):
            nonlocal failures
            logits = os.path.join(tmp, "logits.npy")
            cmd = [args.mvc_run, args.artifact, "--device", args.device, "--max-new-tokens",
                   str(new_tokens), "--print-ids", "--logits-out", logits, "--all-logits"]
            if chunk:
                cmd += ["--prefill-chunk", str(chunk)]
            for i in indices:
                cmd += ["--prompt-ids", ",".join(map(str, prompts[i]["ids"]))]
                images = prompts[i].get("images") or ([prompts[i]["image"]] if prompts[i].get("image") else [])
                for f in images:
                    cmd += ["--pixel-values", os.path.join(images_dir, f.replace(".png", ".pixel_values.npy"))]
                if prompts[i].get("video"):
                    cmd += ["--video", os.path.join(videos_dir, prompts[i]["video"])]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"mvc-run failed: {run.stderr}")
            got = np.load(logits)
            want = np.concatenate([np.load(os.path.join(d, prompts[i]["logits"])) for i in indices])
            if got.shape != want.shape:
                failures += 1
                print(f"{tag}: logits shape {got.shape}, expected {want.shape} MISMATCH")
            else:
                err = np.abs(got - want)
                bad = ~(err <= args.atol + args.rtol * np.abs(want))
                failures += int(bad.any())
                print(f"{tag}: logits at {want.shape[0]} positions: max abs error {err.max():.3g} "
                      f"{'MISMATCH' if bad.any() else 'ok'}")
            lines = [line for line in run.stdout.splitlines() if line.strip()][-len(indices):]
            for i, line in zip(indices, lines):
                tokens = [int(t) for t in line.split()]
                expected = np.load(os.path.join(d, prompts[i]["greedy"])).tolist()
                ok = tokens == expected
                failures += not ok
                print(f"{tag}: prompt {i} greedy {len(tokens)} tokens {'ok' if ok else 'MISMATCH'}")

        for i in range(len(prompts)):
            check([i], f"prompt {i} alone")
        check(list(range(len(prompts))), f"batch of {len(prompts)}")
        if args.prefill_chunk:
            check(list(range(len(prompts))), f"batch in chunks of {args.prefill_chunk}",
                  args.prefill_chunk)
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
