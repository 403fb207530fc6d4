#!/usr/bin/env python3
"""check_idefics3_features.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A --rtol R [--device D]

The `vision` program of an Idefics3 / SmolVLM artifact (SigLIP tower, pixel shuffle,
modality projection) on every image of FIXTURE_DIR/reference.json
(tests/fixtures/gen_idefics3.py), all frames of an image in one call (pixel_values
[F, C, S, S]: each frame attends only to itself), against transformers'
image_hidden_states for that image (frames in order: the tiles row-major, then the
global image).
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
    args = p.parse_args()
    with open(os.path.join(args.fixture, "reference.json")) as f:
        ref = json.load(f)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for j, image in enumerate(ref["images"]):
            pixels = np.load(os.path.join(args.fixture, image["pixel_values"]))
            frames = pixels.reshape(-1, *pixels.shape[-3:])
            want = np.load(os.path.join(args.fixture, image["features"]))
            frames_file = os.path.join(tmp, "frames.npy")
            np.save(frames_file, np.ascontiguousarray(frames))
            out = os.path.join(tmp, "out")
            subprocess.run([args.mvc_run, args.artifact, "--device", args.device,
                            "--function", "vision", "--input", frames_file, "--output-dir", out],
                           check=True, stdout=subprocess.DEVNULL)
            got = [np.load(os.path.join(out, "vision.image_features.npy"))]
            got = np.concatenate(got).reshape(want.shape)
            err = np.abs(got - want)
            bad = ~(err <= args.atol + args.rtol * np.abs(want))
            failures += int(bad.any())
            print(f"image {j} ({os.path.basename(image['file'])}, {len(frames)} frames): features max abs error "
                  f"{err.max():.3g} {'MISMATCH' if bad.any() else 'ok'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
