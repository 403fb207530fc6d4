#!/usr/bin/env python3
"""check_lm_logits.py MVC_RUN ARTIFACT FIXTURE_DIR --atol A --rtol R [--device DEVICE]
                     [--poison-states]

Drives a language-model artifact's `forward` program (runtime/artifact/FORMAT.md) with
mvc-run and compares its logits with the transformers reference of FIXTURE_DIR
(reference.json + prompt{i}.logits.npy), three ways, all in one mvc-run process so the
KV cache carries over between calls:

  alone    each prompt in its own prefill, logits of every position;
  batch    all prompts in one ragged prefill, their pages interleaved and in reverse
           order, logits of every position;
  decode   each prompt prefilled up to half its length, then one token per call, all
           prompts decoding together, the logits of each new token checked.

Each check compares against the reference rows of the same positions. With --poison-states
the KV caches start as NaN bytes (mvc-run --poison-states): the partly filled pages of every
call then hold NaNs past the written positions, which must not reach any logit.

With --mrope-positions (Qwen3-VL) every call also passes the inputs of a call without images:
image_features [0, H], embed_source [T] of -1, `mrope_positions` [T, 3] (each token's
position on all three axes, as get_rope_index gives text) and deepstack.{j} [0, H] (H and
the deepstack count from FIXTURE_DIR/config.json).

With --empty-images (a model with a vision tower, e.g. Gemma 4's conditional generation)
every call also passes image_features [0, H] and embed_source [T] of -1: a call without
images.

With --bf16-reference (a bf16 artifact; FIXTURE_DIR also holds prompt{i}.logits.bf16.npy,
transformers' own bf16 logits, from tests/fixtures/gen_gemma3_text_bf16.py) there is no fixed
tolerance: over the same rows of every call, the artifact's distance from the f32 logits must
not exceed transformers' bf16 distance, by max and by root mean square.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

PAGE = 16


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mvc_run")
    p.add_argument("artifact")
    p.add_argument("fixture")
    p.add_argument("--atol", type=float)
    p.add_argument("--rtol", type=float)
    p.add_argument("--bf16-reference", action="store_true",
                   help="hold the artifact to transformers' bf16 distance from the f32 logits")
    p.add_argument("--device", default="cpu", help="mvc-run --device")
    p.add_argument("--poison-states", action="store_true", help="mvc-run --poison-states")
    p.add_argument("--empty-images", action="store_true",
                   help="pass image_features [0, H] and embed_source of -1 (a call without images)")
    p.add_argument("--mrope-positions", action="store_true",
                   help="pass mrope_positions [T, 3] (text: the position on every axis)")
    a = p.parse_args()
    if not a.bf16_reference and (a.atol is None or a.rtol is None):
        p.error("--atol and --rtol are required (or --bf16-reference)")
    ref = json.load(open(os.path.join(a.fixture, "reference.json")))
    prompts = [np.array(q["ids"], np.int32) for q in ref["prompts"]]
    want = [np.load(os.path.join(a.fixture, q["logits"])) for q in ref["prompts"]]
    if a.bf16_reference:
        # Each reference row carries its bf16 twin in the second half of the last axis, so
        # the call plan below slices both at once.
        bf16 = [np.load(os.path.join(a.fixture, f"prompt{i}.logits.bf16.npy")) for i in range(len(prompts))]
        want = [np.concatenate([w, b], axis=-1) for w, b in zip(want, bf16)]
    i32 = lambda v: np.array(v, np.int32)

    calls = []   # (inputs, expected logits rows)
    next_page = [0]

    def pages(n):
        got = list(range(next_page[0], next_page[0] + (n + PAGE - 1) // PAGE))
        next_page[0] += len(got)
        return got

    # alone
    for ids, w in zip(prompts, want):
        n = len(ids)
        calls.append(([ids, i32(range(n)), i32([pages(n)]), i32([0, n]), i32([0]), i32(range(n))], w))
    # batch: pages handed out round-robin and reversed, so no sequence is contiguous
    lens = [len(x) for x in prompts]
    need = [(n + PAGE - 1) // PAGE for n in lens]
    pool = list(range(next_page[0], next_page[0] + sum(need)))[::-1]
    next_page[0] += sum(need)
    owned = [[] for _ in prompts]
    while any(len(o) < k for o, k in zip(owned, need)):
        for o, k in zip(owned, need):
            if len(o) < k:
                o.append(pool.pop(0))
    width = max(need)
    table = i32([o + [o[0]] * (width - len(o)) for o in owned])
    offsets = np.cumsum([0] + lens).astype(np.int32)
    calls.append(([np.concatenate(prompts), np.concatenate([i32(range(n)) for n in lens]), table,
                   offsets, i32([0] * len(prompts)), i32(range(sum(lens)))], np.concatenate(want)))
    # decode
    dec_pages = [pages(n) for n in lens]
    width = max(len(x) for x in dec_pages)
    table = i32([x + [x[0]] * (width - len(x)) for x in dec_pages])
    half = [n // 2 for n in lens]
    calls.append(([np.concatenate([x[:h] for x, h in zip(prompts, half)]),
                   np.concatenate([i32(range(h)) for h in half]), table,
                   np.cumsum([0] + half).astype(np.int32), i32([0] * len(prompts)),
                   np.cumsum(half).astype(np.int32) - 1],
                  np.stack([w[h - 1] for w, h in zip(want, half)])))
    for step in range(max(n - h for n, h in zip(lens, half))):
        live = [b for b in range(len(prompts)) if half[b] + step < lens[b]]
        pos = [half[b] + step for b in live]
        calls.append(([i32([prompts[b][q] for b, q in zip(live, pos)]), i32(pos), table[live],
                       i32(range(len(live) + 1)), i32(pos), i32(range(len(live)))],
                      np.stack([want[b][q] for b, q in zip(live, pos)])))

    if a.mrope_positions:
        config = json.load(open(os.path.join(a.fixture, "config.json")))
        hidden = config["text_config"]["hidden_size"]
        levels = len(config["vision_config"]["deepstack_visual_indexes"])
        empty = np.zeros((0, hidden), np.float32)
        calls = [(inputs + [empty, np.full(len(inputs[0]), -1, np.int32),
                            np.repeat(inputs[1][:, None], 3, axis=1)] + [empty] * levels, w)
                 for inputs, w in calls]

    if a.empty_images:
        config = json.load(open(os.path.join(a.fixture, "config.json")))
        hidden = config["text_config"]["hidden_size"]
        calls = [(inputs + [np.zeros((0, hidden), np.float32), np.full(len(inputs[0]), -1, np.int32)], w)
                 for inputs, w in calls]

    with tempfile.TemporaryDirectory() as tmp:
        args = [a.mvc_run, a.artifact, "--device", a.device,
                "--load-symbol", f"num_pages={next_page[0] + 1}"]
        if a.poison_states:
            args.append("--poison-states")
        for c, (inputs, _) in enumerate(calls):
            args += ["--function", "forward"]
            for i, x in enumerate(inputs):
                path = os.path.join(tmp, f"c{c}.in{i}.npy")
                np.save(path, x)
                args += ["--input", path]
        args += ["--output-dir", tmp]
        run = subprocess.run(args, capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"mvc-run failed: {run.stderr}")
        worst, failed = 0.0, 0
        sq = {"mvc": 0.0, "hf": 0.0}
        peak = {"mvc": 0.0, "hf": 0.0}
        count = 0
        for c, (_, expected) in enumerate(calls):
            got = np.load(os.path.join(tmp, f"forward.{c}.logits.npy")).astype(np.float64)
            # Every comparison below is false for a NaN: reject non-finite logits first.
            if not np.isfinite(got).all():
                sys.exit(f"FAIL: call {c}: {int((~np.isfinite(got)).sum())} of {got.size} logits "
                         f"are not finite")
            if a.bf16_reference:
                vocab = expected.shape[-1] // 2
                f32, hf = expected[..., :vocab].astype(np.float64), expected[..., vocab:].astype(np.float64)
                if got.shape != f32.shape:
                    sys.exit(f"call {c}: logits shape {got.shape}, expected {f32.shape}")
                for k, x in (("mvc", got), ("hf", hf)):
                    sq[k] += float(((x - f32) ** 2).sum())
                    peak[k] = max(peak[k], float(np.abs(x - f32).max()))
                count += f32.size
                continue
            if got.shape != expected.shape:
                sys.exit(f"call {c}: logits shape {got.shape}, expected {expected.shape}")
            err = np.abs(got - expected)
            worst = max(worst, err.max())
            bad = ~(err <= a.atol + a.rtol * np.abs(expected))
            if bad.any():
                failed += 1
                print(f"call {c}: {bad.sum()} logits beyond tolerance, max err {err.max():.3g}")
    what = (f"{len(calls)} forward calls ({len(prompts)} alone, 1 ragged batch, "
            f"{len(calls) - len(prompts) - 1} decode steps)")
    if a.bf16_reference:
        rms = {k: (v / count) ** 0.5 for k, v in sq.items()}
        print(f"{what}: distance from the f32 logits, max / rms: "
              f"artifact {peak['mvc']:.3g} / {rms['mvc']:.3g}, transformers bf16 {peak['hf']:.3g} / {rms['hf']:.3g}")
        if peak["mvc"] > peak["hf"] or rms["mvc"] > rms["hf"]:
            sys.exit("FAIL: the artifact is further from the f32 logits than transformers' bf16 model")
        print("bf16: within transformers' bf16 distance")
        return
    print(f"{what}: max abs logit error {worst:.3g}")
    if failed:
        sys.exit(f"FAIL: {failed} calls beyond atol={a.atol} rtol={a.rtol}")


if __name__ == "__main__":
    main()
