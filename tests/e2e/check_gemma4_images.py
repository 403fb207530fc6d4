#!/usr/bin/env python3
"""check_gemma4_images.py MVC_RUN ARTIFACT FIXTURE_DIR --features-atol F --atol A --rtol R
    [--device DEVICE] [--features-dir DIR] [--prefill-chunk N]

Checks a Gemma 4 artifact with a vision tower against transformers
(tests/fixtures/gen_gemma4_vision.py; FIXTURE_DIR/reference.json):

  features  the `vision` program on each image alone vs get_image_features (the embedder's
            rows): its inputs made here from the patch grid, independently of the run half
            (the learned-table rows x and pos_size + y, the 2-D RoPE positions, one segment,
            the k x k pooling taps), from transformers' pixel values (FEATURES_DIR, default
            FIXTURE_DIR);
  alone     each prompt (boi + image tokens + eoi already expanded, --prompt-ids) with its
            images: logits at every position (--all-logits) and the greedy continuation;
  batch     all prompts in one ragged batch, the same;
  chunks    with --prefill-chunk N, the batch again in chunks of N tokens (an image's tokens
            stay in one call).

Images go in as transformers' pixel values (the real patches of its padded rows, reshaped
to [rows, cols, 3·p²]); mvc's own preprocessing of the same files equals them
(mvc_gemma4_test). Features are held to features-atol (absolute).

Logits: within atol + rtol·|ref| of transformers' f32 logits at every position. Where the
fixture also holds the same model's logits in float64 (prompt{i}.logits.f64.npy), the
distances of mvc's and transformers' f32 logits from them are printed too (F64Distance): a
measure of how much of the difference is f32 rounding on either side, not a pass criterion.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


class F64Distance:
    """mvc's and transformers' f32 logits against the f64 ones, accumulated over calls."""

    def __init__(self):
        self.peak = {"mvc": 0.0, "hf": 0.0}
        self.squares = {"mvc": 0.0, "hf": 0.0}
        self.count = 0

    def add(self, mvc, hf, exact):
        for key, x in (("mvc", mvc), ("hf", hf)):
            d = np.abs(x.astype(np.float64) - exact)
            self.peak[key] = max(self.peak[key], float(d.max()))
            self.squares[key] += float((d ** 2).sum())
        self.count += exact.size

    def report(self):
        if not self.count:
            return
        rms = {k: (v / self.count) ** 0.5 for k, v in self.squares.items()}
        print(f"distance from the f64 logits, max / rms: mvc {self.peak['mvc']:.3g} / {rms['mvc']:.3g}, "
              f"transformers f32 {self.peak['hf']:.3g} / {rms['hf']:.3g}")


def vision_inputs(rows, cols, table, k):
    y, x = np.divmod(np.arange(rows * cols), cols)
    pos_ids = np.stack([x, table + y], 1).astype(np.int32)
    rope = np.stack([x, y], 1).astype(np.int32)
    pool = []
    for py in range(rows // k):
        for px in range(cols // k):
            pool.append([(py * k + dy) * cols + px * k + dx for dy in range(k) for dx in range(k)])
    pool = np.array(pool, np.int32)
    return [pos_ids, np.ones((rows * cols, 2), np.float32), rope,
            np.array([0, rows * cols], np.int32), pool,
            np.full(pool.shape, np.float32(1.0) / np.float32(k * k), np.float32)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mvc_run")
    p.add_argument("artifact")
    p.add_argument("fixture")
    p.add_argument("--features-atol", type=float, required=True)
    p.add_argument("--atol", type=float, required=True)
    p.add_argument("--rtol", type=float, required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--features-dir")
    p.add_argument("--prefill-chunk", type=int, default=0)
    args = p.parse_args()
    ref = json.load(open(os.path.join(args.fixture, "reference.json")))
    fdir = args.features_dir or args.fixture
    images = json.load(open(os.path.join(fdir, "reference.json")))["images"]
    config = json.load(open(os.path.join(fdir, "config.json")))
    vision = config["vision_config"]
    k, table = vision.get("pooling_kernel_size", 3), vision["position_embedding_size"]
    prompts = ref["prompts"]
    new_tokens = ref["greedy"]["max_new_tokens"]
    failures = 0
    distance = F64Distance()

    with tempfile.TemporaryDirectory() as tmp:
        pixels = []
        for j, im in enumerate(images):
            rows, cols = im["patch_grid_rows"], im["patch_grid_cols"]
            hf = np.load(os.path.join(fdir, im["pixel_values"]))
            pos = np.load(os.path.join(fdir, im["position_ids"]))
            y, x = np.divmod(np.arange(rows * cols), cols)
            assert (pos[:rows * cols] == np.stack([x, y], 1)).all() and (pos[rows * cols:] == -1).all()
            path = os.path.join(tmp, f"image{j}.npy")
            np.save(path, hf[:rows * cols].reshape(rows, cols, -1))
            pixels.append(path)
            cmd = [args.mvc_run, args.artifact, "--device", args.device, "--function", "vision"]
            flat = os.path.join(tmp, f"flat{j}.npy")
            np.save(flat, hf[:rows * cols])
            cmd += ["--input", flat]
            for n, x_ in enumerate(vision_inputs(rows, cols, table, k)):
                f = os.path.join(tmp, f"v{j}.{n}.npy")
                np.save(f, x_)
                cmd += ["--input", f]
            out = os.path.join(tmp, f"out{j}")
            run = subprocess.run(cmd + ["--output-dir", out], capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"mvc-run failed: {run.stderr}")
            got = np.load(os.path.join(out, "vision.image_features.npy"))
            want = np.load(os.path.join(fdir, im["features"]))
            err = np.abs(got - want).max() if got.shape == want.shape else np.inf
            ok = err <= args.features_atol
            failures += not ok
            print(f"image {j} features ({rows}x{cols} patches, {want.shape[0]} soft tokens): "
                  f"max abs error {err:.3g} {'ok' if ok else 'MISMATCH'}")

        def check(indices, tag, chunk=None):
            nonlocal failures
            logits = os.path.join(tmp, "logits.npy")
            cmd = [args.mvc_run, args.artifact, "--device", args.device, "--max-new-tokens",
                   str(new_tokens), "--print-ids", "--logits-out", logits, "--all-logits"]
            if chunk:
                cmd += ["--prefill-chunk", str(chunk)]
            for i in indices:
                cmd += ["--prompt-ids", ",".join(map(str, prompts[i]["ids"]))]
                for j in prompts[i].get("images", []):
                    cmd += ["--pixel-values", pixels[j]]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"mvc-run failed: {run.stderr}")
            got = np.load(logits)
            want = np.concatenate([np.load(os.path.join(args.fixture, prompts[i]["logits"])) for i in indices])
            if got.shape != want.shape:
                failures += 1
                print(f"{tag}: logits shape {got.shape}, expected {want.shape} MISMATCH")
            else:
                if all("logits_f64" in prompts[i] for i in indices):
                    distance.add(got, want, np.concatenate(
                        [np.load(os.path.join(args.fixture, prompts[i]["logits_f64"])) for i in indices]))
                err = np.abs(got - want)
                bad = ~(err <= args.atol + args.rtol * np.abs(want))
                failures += int(bad.any())
                print(f"{tag}: logits at {want.shape[0]} positions: max abs error {err.max():.3g} "
                      f"{'MISMATCH' if bad.any() else 'ok'}")
            lines = [line for line in run.stdout.splitlines() if line.strip()][-len(indices):]
            for i, line in zip(indices, lines):
                tokens = [int(t) for t in line.split()]
                expected = np.load(os.path.join(args.fixture, prompts[i]["greedy"])).tolist()
                ok = tokens == expected
                failures += not ok
                print(f"{tag}: prompt {i} greedy {len(tokens)} tokens {'ok' if ok else 'MISMATCH'}")

        for i in range(len(prompts)):
            check([i], f"prompt {i} alone")
        check(list(range(len(prompts))), f"batch of {len(prompts)}")
        if args.prefill_chunk:
            check(list(range(len(prompts))), f"batch in chunks of {args.prefill_chunk}",
                  args.prefill_chunk)
    distance.report()
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
