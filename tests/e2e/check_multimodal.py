#!/usr/bin/env python3
"""check_multimodal.py MVC_RUN ARTIFACT FIXTURE_DIR [--features-dir DIR] --atol A --rtol R
    [--device DEVICE]

Checks a multimodal artifact (Gemma 3) against the transformers reference of FIXTURE_DIR
(tests/fixtures/gen_gemma3_mm.py): HF's pixel values go in with --pixel-values, the
prompts' ids (boi, image tokens, eoi already expanded) with --prompt-ids.

  features  the `vision` program on each image vs get_image_features (FEATURES_DIR holds
            image{j}.pixel_values.npy and image{j}.features.npy; default FIXTURE_DIR);
  alone     each prompt with its images: logits at every position (--all-logits) and the
            greedy continuation, token for token;
  batch     all prompts in one ragged batch: the same logits and continuations.
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
    p.add_argument("--features-dir")
    p.add_argument("--atol", type=float, required=True)
    p.add_argument("--rtol", type=float, required=True)
    p.add_argument("--device", default="cpu", help="mvc-run --device")
    p.add_argument("--prefill-chunk", type=int, default=0,
                   help="also run the batch with mvc-run --prefill-chunk N (image spans are never cut)")
    args = p.parse_args()
    features_dir = args.features_dir or args.fixture
    with open(os.path.join(args.fixture, "reference.json")) as f:
        ref = json.load(f)
    prompts = ref["prompts"]
    new_tokens = ref["greedy"]["max_new_tokens"]
    failures = 0

    def compare(what, got, want):
        nonlocal failures
        if got.shape != want.shape:
            failures += 1
            print(f"{what}: shape {got.shape}, expected {want.shape} MISMATCH")
            return
        err = np.abs(got - want)
        bad = ~(err <= args.atol + args.rtol * np.abs(want))  # a NaN is never within
        failures += int(bad.any())
        print(f"{what}: max abs error {err.max():.3g} {'MISMATCH' if bad.any() else 'ok'}")

    with tempfile.TemporaryDirectory() as tmp:
        images = sorted({j for prompt in prompts for j in prompt["images"]})
        for j in images:
            pixels = os.path.join(features_dir, f"image{j}.pixel_values.npy")
            single = os.path.join(tmp, f"image{j}.npy")
            np.save(single, np.load(pixels)[None])
            out = os.path.join(tmp, f"features{j}")
            subprocess.run([args.mvc_run, args.artifact, "--device", args.device, "--function", "vision", "--input", single,
                            "--output-dir", out], check=True, capture_output=True)
            compare(f"image {j} features", np.load(os.path.join(out, "vision.image_features.npy")),
                    np.load(os.path.join(features_dir, f"image{j}.features.npy")))

        def pixel_file(i, prompt):
            path = os.path.join(tmp, f"prompt{i}.pixels.npy")
            np.save(path, np.stack([np.load(os.path.join(features_dir, f"image{j}.pixel_values.npy"))
                                    for j in prompt["images"]]))
            return path

        def run(indices, tag, chunk=None):
            logits = os.path.join(tmp, f"{tag}.logits.npy")
            cmd = [args.mvc_run, args.artifact, "--device", args.device, "--max-new-tokens", str(new_tokens), "--print-ids",
                   "--logits-out", logits, "--all-logits"]
            if chunk:
                cmd += ["--prefill-chunk", str(chunk)]
            for i in indices:
                cmd += ["--prompt-ids", ",".join(map(str, prompts[i]["ids"])),
                        "--pixel-values", pixel_file(i, prompts[i])]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            lines = [line for line in out.splitlines() if line.strip()][-len(indices):]
            return np.load(logits), [[int(t) for t in line.split()] for line in lines]

        def check(indices, tag, chunk=None):
            nonlocal failures
            logits, tokens = run(indices, tag, chunk)
            want = np.concatenate([np.load(os.path.join(args.fixture, prompts[i]["logits"]))
                                   for i in indices])
            compare(f"{tag}: logits at {want.shape[0]} positions", logits, want)
            for i, got in zip(indices, tokens):
                expected = np.load(os.path.join(args.fixture, prompts[i]["greedy"])).tolist()
                ok = got == expected
                failures += not ok
                print(f"{tag}: prompt {i} greedy {len(got)} tokens {'ok' if ok else 'MISMATCH'}")

        for i in range(len(prompts)):
            check([i], f"prompt {i} alone")
        check(list(range(len(prompts))), f"batch of {len(prompts)}")
        if args.prefill_chunk:
            check(list(range(len(prompts))), f"batch of {len(prompts)} in chunks of {args.prefill_chunk}",
                  args.prefill_chunk)
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
