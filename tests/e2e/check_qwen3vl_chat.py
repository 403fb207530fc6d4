#!/usr/bin/env python3
"""check_qwen3vl_chat.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A [--device DEVICE]

Checks a Qwen3-VL artifact compiled with the real Qwen3 tokenizer and a Qwen3-VL-style chat
template (tests/fixtures/gen_qwen3vl_chat.py; FIXTURE_DIR/reference.json) against
transformers' Qwen3VLProcessor + model end to end: mvc-run gets what a user gives, a
--messages conversation with image and video parts (files, frame directories) or a -p text
with <|video_pad|> / <|image_pad|> markers and --image / --video, and does everything itself:
chat template, tokenizer, image and video decoding and processing, timestamp text, token
expansion. Checked per prompt: the prompt's length (the logits' rows), the logits at every
position on the fixture's 4096 vocabulary columns (the first 512 ids, each position's 16
best, the rest random) within --atol, each position's argmax over the whole vocabulary, and
the greedy continuation.
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
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    ref = json.load(open(os.path.join(args.fixture, "reference.json")))
    new_tokens = ref["greedy"]["max_new_tokens"]
    absolute = lambda path: os.path.normpath(os.path.join(args.fixture, path))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, prompt in enumerate(ref["prompts"]):
            logits_path = os.path.join(tmp, "logits.npy")
            cmd = [args.mvc_run, args.artifact, "--device", args.device, "--max-new-tokens",
                   str(new_tokens), "--print-ids", "--logits-out", logits_path, "--all-logits"]
            if "messages" in prompt:
                messages = json.loads(json.dumps(prompt["messages"]))
                for m in messages:
                    if isinstance(m["content"], list):
                        for part in m["content"]:
                            for key in ("image", "video"):
                                if key in part:
                                    part[key] = absolute(part[key])
                path = os.path.join(tmp, f"messages{i}.json")
                json.dump(messages, open(path, "w"))
                cmd += ["--messages", path]
                how = "--messages"
            else:
                cmd += ["-p", prompt["text"]]
                for f in prompt.get("images", []):
                    cmd += ["--image", absolute(f)]
                for f in prompt.get("videos", []):
                    cmd += ["--video", absolute(f)]
                how = "-p"
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"mvc-run failed: {run.stderr}")
            got = np.load(logits_path)
            want = np.load(os.path.join(args.fixture, prompt["logits"]))
            columns = np.load(os.path.join(args.fixture, prompt["columns"]))
            argmax = np.load(os.path.join(args.fixture, prompt["argmax"]))
            tag = f"prompt {i} ({how})"
            if got.shape[0] != want.shape[0]:
                failures += 1
                print(f"{tag}: {got.shape[0]} prompt tokens, transformers' processor made "
                      f"{want.shape[0]} MISMATCH")
                continue
            err = np.abs(got[:, columns] - want)
            bad = err.max() > args.atol
            same_argmax = bool((got.argmax(-1) == argmax).all())
            failures += int(bad) + int(not same_argmax)
            print(f"{tag}: {want.shape[0]} prompt tokens; logits: max abs error {err.max():.3g} "
                  f"{'MISMATCH' if bad else 'ok'}; argmax at every position "
                  f"{'ok' if same_argmax else 'MISMATCH'}")
            line = [line for line in run.stdout.splitlines() if line.strip()][-1]
            tokens = [int(t) for t in line.split()]
            expected = np.load(os.path.join(args.fixture, prompt["greedy"])).tolist()
            ok = tokens == expected
            failures += not ok
            print(f"{tag}: greedy {len(tokens)} tokens {'ok' if ok else 'MISMATCH'}")
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
