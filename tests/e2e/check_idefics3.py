#!/usr/bin/env python3
"""check_idefics3.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A --rtol R [--device D] [--prefill-chunk N]

An Idefics3 / SmolVLM artifact's language model against transformers
(FIXTURE_DIR/reference.json, tests/fixtures/gen_idefics3.py), prompt by prompt:

  hf     transformers' input ids (--prompt-ids) and pixel values (--pixel-values: the
         frames of the prompt's images in order): logits at every position (--all-logits)
         and the greedy continuation, token for token; the same for a prompt around the
         fixture's partial frame (an image smaller than the frame, given with
         --pixel-attention-mask); then all prompts in one ragged batch (and, with
         --prefill-chunk, in chunks that cut through image-token runs);
  own    mvc's own path: the image files through the artifact's image processor, the
         image markers expanded, chat prompts rendered by the chat template; -p TEXT
         [--chat] --image FILE..., and chat prompts again as a --messages file. Logits at the
         same number of positions within the same bound mean the same input ids (one id
         off moves a position's logits by O(1)); the greedy tokens must be identical.
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
    p.add_argument("--skip-own", action="store_true", help="only the hf checks")
    args = p.parse_args()
    fixture = os.path.abspath(args.fixture)
    with open(os.path.join(fixture, "reference.json")) as f:
        ref = json.load(f)
    prompts, images = ref["prompts"], ref["images"]
    # The hand-made frame smaller than the tower (reference.json "partial_frame"): a prompt
    # around it, given with its pixel attention mask (hf checks only: no processor makes it).
    partial = ref.get("partial_frame", {})
    if "prompt" in partial:
        prompts = prompts + [dict(partial["prompt"], images=[], partial=True)]
    new_tokens = ref["greedy"]["max_new_tokens"]
    failures = 0

    def check(tag, cmd, indices, logits):
        nonlocal failures
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            failures += 1
            print(f"{tag}: mvc-run failed: {out.stderr.strip().splitlines()[-1:]} MISMATCH")
            return
        lines = [line for line in out.stdout.splitlines() if line.strip()][-len(indices):]
        got = np.load(logits)
        want = np.concatenate([np.load(os.path.join(fixture, prompts[i]["logits"])) for i in indices])
        if got.shape != want.shape:
            failures += 1
            print(f"{tag}: logits at {got.shape[0]} positions, expected {want.shape[0]} MISMATCH")
        else:
            err = np.abs(got - want)
            bad = (~(err <= args.atol + args.rtol * np.abs(want))).any()  # NaN: not within
            failures += int(bad)
            print(f"{tag}: logits at {want.shape[0]} positions: max abs error {err.max():.3g} "
                  f"{'MISMATCH' if bad else 'ok'}")
        for i, line in zip(indices, lines):
            tokens = [int(t) for t in line.split()]
            expected = np.load(os.path.join(fixture, prompts[i]["greedy"])).tolist()
            failures += tokens != expected
            print(f"{tag}: prompt {i} greedy {len(tokens)} tokens {'ok' if tokens == expected else 'MISMATCH'}")

    with tempfile.TemporaryDirectory() as tmp:
        def flags(tag, chunk=None):
            logits = os.path.join(tmp, f"{tag}.logits.npy")
            out = ["--device", args.device, "--max-new-tokens", str(new_tokens), "--print-ids",
                   "--logits-out", logits, "--all-logits"]
            return out + (["--prefill-chunk", str(chunk)] if chunk else []), logits

        def hf_inputs(i):
            prompt = prompts[i]
            cmd = ["--prompt-ids", ",".join(map(str, prompt["ids"]))]
            if prompt.get("partial"):
                cmd += ["--pixel-values", os.path.join(fixture, partial["pixel_values"]),
                        "--pixel-attention-mask", os.path.join(fixture, partial["pixel_attention_mask"])]
            if prompt["images"]:
                frames = [np.load(os.path.join(fixture, images[j]["pixel_values"])).reshape(-1, 3, *np.load(
                    os.path.join(fixture, images[j]["pixel_values"])).shape[-2:]) for j in prompt["images"]]
                path = os.path.join(tmp, f"prompt{i}.pixels.npy")
                np.save(path, np.concatenate(frames))
                cmd += ["--pixel-values", path]
            return cmd

        for i in range(len(prompts)):
            extra, logits = flags(f"hf{i}")
            check(f"prompt {i} (hf ids and pixels)", [args.mvc_run, args.artifact] + hf_inputs(i) + extra,
                  [i], logits)
        # transformers' batch layout: pixel_values[b] padded with all-zero frames (dropped, as
        # transformers drops them) and pixel_attention_mask[b] beside it (ones; zeros for
        # the padding frames).
        first = next(i for i, prompt in enumerate(prompts) if prompt["images"])
        cmd = hf_inputs(first)
        frames = np.load(cmd[cmd.index("--pixel-values") + 1])
        padded = np.concatenate([np.zeros((1, *frames.shape[1:]), frames.dtype), frames,
                                 np.zeros((2, *frames.shape[1:]), frames.dtype)])
        masks = np.concatenate([np.zeros((1, *frames.shape[-2:]), np.int64),
                                np.ones((len(frames), *frames.shape[-2:]), np.int64),
                                np.zeros((2, *frames.shape[-2:]), np.int64)])
        cmd[cmd.index("--pixel-values") + 1] = os.path.join(tmp, "padded.npy")
        np.save(cmd[cmd.index("--pixel-values") + 1], padded)
        np.save(os.path.join(tmp, "padded_mask.npy"), masks)
        extra, logits = flags("padded")
        check(f"prompt {first} (hf ids, pixels with 3 padding frames, masks)",
              [args.mvc_run, args.artifact] + cmd + ["--pixel-attention-mask",
                                                     os.path.join(tmp, "padded_mask.npy")] + extra,
              [first], logits)
        everything = list(range(len(prompts)))
        extra, logits = flags("batch")
        check(f"batch of {len(prompts)} (hf ids and pixels)",
              [args.mvc_run, args.artifact] + sum((hf_inputs(i) for i in everything), []) + extra,
              everything, logits)
        if args.prefill_chunk:
            extra, logits = flags("chunked", args.prefill_chunk)
            check(f"batch of {len(prompts)} in chunks of {args.prefill_chunk} (hf ids and pixels)",
                  [args.mvc_run, args.artifact] + sum((hf_inputs(i) for i in everything), []) + extra,
                  everything, logits)
        if args.skip_own:
            sys.exit(f"FAIL: {failures} checks differ from transformers" if failures else 0)

        for i, prompt in enumerate(prompts):
            if prompt.get("partial"):
                continue
            files = [os.path.join(fixture, name) for name in prompt["image_files"]]
            split = prompt["processor_kwargs"].get("do_image_splitting")
            split_flags = [] if split is None else ["--image-splitting", "on" if split else "off"]
            if prompt["chat"]:
                parts = prompt["messages"][0]["content"]
                # Images before the text go in as image parts (-p puts them first); images
                # between text parts are written as markers in the text.
                leading = 0
                while leading < len(parts) and parts[leading]["type"] == "image":
                    leading += 1
                text = "".join("<image>" if part["type"] == "image" else part["text"]
                               for part in parts[leading:])
            else:
                text = prompt["text"]
            extra, logits = flags(f"own{i}")
            cmd = [args.mvc_run, args.artifact, "-p", text] + (["--chat"] if prompt["chat"] else [])
            for path in files:
                cmd += ["--image", path]
            check(f"prompt {i} (own: -p{' --chat' if prompt['chat'] else ''}, {len(files)} image(s))",
                  cmd + split_flags + extra, [i], logits)
            if not prompt["chat"]:
                continue
            messages, next_file = [], iter(files)  # image parts in order are the image files
            for message in prompt["messages"]:
                content = [{"type": "image", "image": next(next_file)} if part["type"] == "image" else part
                           for part in message["content"]]
                messages.append({"role": message["role"], "content": content})
            path = os.path.join(tmp, f"messages{i}.json")
            with open(path, "w") as f:
                json.dump(messages, f)
            extra, logits = flags(f"messages{i}")
            check(f"prompt {i} (own: --messages, {len(files)} image(s))",
                  [args.mvc_run, args.artifact, "--messages", path] + split_flags + extra, [i], logits)
    if failures:
        sys.exit(f"FAIL: {failures} checks differ from transformers")


if __name__ == "__main__":
    main()
