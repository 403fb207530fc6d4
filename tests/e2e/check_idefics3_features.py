#!/usr/bin/env python3
"""check_idefics3_features.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A --rtol R [--device D]

The `vision` program of an Idefics3 / SmolVLM artifact (SigLIP tower, pixel shuffle,
modality projection) on every image of FIXTURE_DIR/reference.json
(tests/fixtures/gen_idefics3.py), all frames of an image in one call (pixel_values
[F, C, S, S]: each frame attends only to itself), against transformers'
image_hidden_states for that image (frames in order: the tiles row-major, then the
global image); and on the fixture's partial frame (an image smaller than the frame: the
bucketed position ids and the patch mask transformers computes for it, keys of padding
patches hidden), alone and beside a whole frame.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def run(tmp, frames, positions, mask, want, tag):
    """The vision program on `frames` with their patch inputs; prints the error, returns 1
    on a mismatch."""
    inputs = []
    for name, array in (("frames", frames), ("positions", positions), ("mask", mask)):
        inputs += ["--input", os.path.join(tmp, f"{name}.npy")]
        np.save(inputs[-1], np.ascontiguousarray(array))
    out = os.path.join(tmp, "out")
    subprocess.run([ARGS.mvc_run, ARGS.artifact, "--device", ARGS.device, "--function", "vision"] + inputs +
                   ["--output-dir", out], check=True, stdout=subprocess.DEVNULL)
    got = np.load(os.path.join(out, "vision.image_features.npy")).reshape(want.shape)
    err = np.abs(got - want)
    bad = ~(err <= ARGS.atol + ARGS.rtol * np.abs(want))
    print(f"{tag}: features max abs error {err.max():.3g} {'MISMATCH' if bad.any() else 'ok'}")
    return int(bad.any())


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("mvc_run")
    p.add_argument("artifact")
    p.add_argument("fixture")
    p.add_argument("--atol", type=float, required=True)
    p.add_argument("--rtol", type=float, required=True)
    p.add_argument("--device", default="cpu")
    args = ARGS = p.parse_args()
    with open(os.path.join(args.fixture, "reference.json")) as f:
        ref = json.load(f)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for j, image in enumerate(ref["images"]):
            pixels = np.load(os.path.join(args.fixture, image["pixel_values"]))
            frames = pixels.reshape(-1, *pixels.shape[-3:])
            want = np.load(os.path.join(args.fixture, image["features"]))
            # Whole frames: patch k takes position k, every patch is real.
            patches = ref["tokens_per_frame"] * ref["scale_factor"] ** 2
            positions = np.tile(np.arange(patches, dtype=np.int32), (len(frames), 1))
            mask = np.ones((len(frames), patches), np.int32)
            failures += run(tmp, frames, positions, mask, want,
                            f"image {j} ({os.path.basename(image['file'])}, {len(frames)} frames)")
        # The partial frame (a 6 x 4 patch image in an 8 x 8 frame), with transformers'
        # position ids and patch mask for it; then beside a whole frame in one call.
        partial = ref["partial_frame"]
        pixels = np.load(os.path.join(args.fixture, partial["pixel_values"]))
        positions = np.load(os.path.join(args.fixture, partial["position_ids"]))
        mask = np.load(os.path.join(args.fixture, partial["patch_mask"]))
        want = np.load(os.path.join(args.fixture, partial["features"]))
        failures += run(tmp, pixels, positions, mask, want, "partial frame (6 x 4 of 8 x 8 patches)")
        whole = np.load(os.path.join(args.fixture, ref["images"][0]["pixel_values"])).reshape(-1, *pixels.shape[-3:])
        whole_want = np.load(os.path.join(args.fixture, ref["images"][0]["features"]))
        n = positions.shape[1]
        failures += run(tmp, np.concatenate([whole, pixels]),
                        np.concatenate([np.arange(n, dtype=np.int32)[None], positions]),
                        np.concatenate([np.ones((1, n), np.int32), mask]),
                        np.concatenate([whole_want, want]), "whole + partial frame in one call")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
