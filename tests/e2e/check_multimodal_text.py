#!/usr/bin/env python3
"""check_multimodal_text.py MVC_RUN MVC_IMAGE ARTIFACT FIXTURE_DIR --atol A --rtol R

The whole text-and-image path of a multimodal artifact against transformers'
Gemma3Processor + model (FIXTURE_DIR = tests/fixtures/tiny-gemma3-mm-text): for each prompt
of reference.json, mvc-run decodes and preprocesses the photographs itself (--image), expands
the image markers (and, for chat prompts, renders the chat template), then generates. Checks:

  pixels   mvc-image's pixel values of each photograph vs the processor's (max and mean
           abs error; bound --pixel-atol);
  logits   every prompt position vs transformers (same length means the same expansion;
           pan-and-scan prompts run on --pan-and-scan-artifact: each crop is an image span);
  greedy   the continuation, token for token.
Chat prompts run twice: -p TEXT --chat --image FILE, and --messages with the same
conversation as an OpenAI-style messages file whose images are base64 data: URLs.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mvc_run")
    p.add_argument("mvc_image")
    p.add_argument("artifact")
    p.add_argument("fixture")
    p.add_argument("--pixels-dir", required=True, help="image{j}.pixel_values.npy of transformers")
    p.add_argument("--pixel-atol", type=float, default=1e-2)
    p.add_argument("--pan-and-scan-artifact", required=True,
                   help="the same checkpoint compiled with preprocessor_config_pan_and_scan.json")
    p.add_argument("--atol", type=float, required=True)
    p.add_argument("--rtol", type=float, required=True)
    args = p.parse_args()
    with open(os.path.join(args.fixture, "reference.json")) as f:
        ref = json.load(f)
    with open(os.path.join(args.pixels_dir, "reference.json")) as f:
        photos = [os.path.basename(x) for x in json.load(f)["images"]]
    vision = os.path.join(os.path.dirname(os.path.abspath(args.fixture)), "vision")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for j, name in enumerate(photos):
            out = os.path.join(tmp, f"pixels{j}.npy")
            subprocess.run([args.mvc_image, os.path.join(vision, name), "--preprocessor-config",
                            os.path.join(args.fixture, "preprocessor_config.json"), "--out", out],
                           check=True, capture_output=True)
            err = np.abs(np.load(out) - np.load(os.path.join(args.pixels_dir, f"image{j}.pixel_values.npy")))
            bad = err.max() > args.pixel_atol
            failures += int(bad)
            print(f"pixels {name}: max abs error {err.max():.3g}, mean {err.mean():.3g} "
                  f"{'MISMATCH' if bad else 'ok'}")
        new_tokens = ref["greedy"]["max_new_tokens"]
        def run_case(tag, cmd, prompt, logits):
            """Runs one mvc-run command; compares its logits and greedy tokens."""
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            got_tokens = [int(t) for t in out.strip().splitlines()[-1].split()]
            got, want = np.load(logits), np.load(os.path.join(args.fixture, prompt["logits"]))
            bad_count = 0
            if got.shape != want.shape:
                bad_count += 1
                print(f"{tag}: {got.shape[0]} positions, expected {want.shape[0]} MISMATCH")
            else:
                err = np.abs(got - want)
                bad = (~(err <= args.atol + args.rtol * np.abs(want))).any()  # NaN: not within
                bad_count += int(bad)
                print(f"{tag}: logits at {want.shape[0]} positions: max abs error {err.max():.3g} "
                      f"{'MISMATCH' if bad else 'ok'}")
            expected = np.load(os.path.join(args.fixture, prompt["greedy"])).tolist()
            bad_count += got_tokens != expected
            print(f"{tag}: greedy {len(got_tokens)} tokens {'ok' if got_tokens == expected else 'MISMATCH'}")
            return bad_count

        for i, prompt in enumerate(ref["prompts"]):
            logits = os.path.join(tmp, f"logits{i}.npy")
            artifact = args.pan_and_scan_artifact if prompt["pan_and_scan"] else args.artifact
            flags = ["--max-new-tokens", str(new_tokens), "--print-ids", "--logits-out", logits,
                     "--all-logits"]
            cmd = [args.mvc_run, artifact, "-p", prompt["text"]] + flags
            if prompt["chat"]:
                cmd.append("--chat")
            for name in prompt["images"]:
                cmd += ["--image", os.path.join(vision, name)]
            tag = (f"prompt {i} ({'chat, ' if prompt['chat'] else ''}"
                   f"{'pan-and-scan, ' if prompt['pan_and_scan'] else ''}{len(prompt['images'])} image(s))")
            failures += run_case(tag, cmd, prompt, logits)
            if not prompt["chat"]:
                continue
            # The same conversation as an OpenAI-style messages file (mvc-run --messages),
            # each image a data: URL, must give the same numbers.
            parts = []
            for name in prompt["images"]:
                with open(os.path.join(vision, name), "rb") as f:
                    data = base64.b64encode(f.read()).decode()
                kind = "png" if name.endswith(".png") else "jpeg"
                parts.append({"type": "image_url", "image_url": {"url": f"data:image/{kind};base64,{data}"}})
            parts.append({"type": "text", "text": prompt["text"]})
            messages = os.path.join(tmp, f"messages{i}.json")
            with open(messages, "w") as f:
                json.dump([{"role": "user", "content": parts}], f)
            cmd = [args.mvc_run, artifact, "--messages", messages] + flags
            tag = f"prompt {i} (messages, data: URLs, {len(prompt['images'])} image(s))"
            failures += run_case(tag, cmd, prompt, logits)
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
