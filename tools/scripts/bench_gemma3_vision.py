#!/usr/bin/env python3
"""Gemma 3 multimodal, mvc beside transformers on the same checkpoint, same threads, one run.

    python3 tools/scripts/bench_gemma3_vision.py [--build build] [--threads 2] [--reps 3]
        [--dtype bf16] [--workdir DIR]

Builds a randomly initialized Gemma3ForConditionalGeneration whose vision tower has Gemma 3
4B's shape (SigLIP 896 px, patch 14: 4096 patches, hidden 1152, 27 layers, 16 heads,
intermediate 4304; 256 image tokens after 4x4 pooling) and whose text model has Gemma 3
270M's shape (the 4B text model would not fit this machine's time budget; the vision numbers
do not depend on it), saves it in --dtype, compiles it with mvc-compile, and times on one
photograph preprocessed by transformers' Gemma3ImageProcessor:
  vision    the vision program (SigLIP + projector) per image: mvc-run --function vision
            (--profile totals over --reps calls on one loaded model) vs
            model.get_image_features (sdpa and eager attention);
  ttft      time to first token of a prompt with the image (prefill of 20 text tokens + the
            260-token image span, vision included): mvc-run generation vs model.generate with
            max_new_tokens=1.
It also reports how far mvc's image features are from transformers' (same weights; bf16
weights in both, so the difference is bf16 rounding, not a tolerance test).
Needs torch, transformers, pillow (not test dependencies).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

TEXT_270M = dict(vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=18,
                 num_attention_heads=4, num_key_value_heads=1, head_dim=256,
                 query_pre_attn_scalar=256, sliding_window=512, rms_norm_eps=1e-6,
                 layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 3,
                 rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                                  "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
                 max_position_embeddings=32768, final_logit_softcapping=None)
VISION_4B = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                 num_attention_heads=16, image_size=896, patch_size=14, vision_use_head=False,
                 layer_norm_eps=1e-6)
BOI, EOI, IMAGE = 255999, 256000, 262144


def make_checkpoint(path, dtype):
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration
    torch.manual_seed(0)
    cfg = Gemma3Config(text_config=TEXT_270M, vision_config=VISION_4B, mm_tokens_per_image=256,
                       boi_token_index=BOI, eoi_token_index=EOI, image_token_index=IMAGE)
    model = Gemma3ForConditionalGeneration(cfg).to(getattr(torch, {"bf16": "bfloat16", "f32": "float32"}[dtype]))
    with torch.no_grad():  # HF leaves the projector and the (1 + w) norms at 0
        for name, p in model.named_parameters():
            if "multi_modal_projector" in name or ("norm" in name and "vision" not in name):
                p.normal_(0, 0.02)
    model.save_pretrained(path)


def pixel_values(path):
    import numpy as np
    from transformers.image_utils import load_image
    from transformers.models.gemma3.image_processing_gemma3 import Gemma3ImageProcessor
    processor = Gemma3ImageProcessor(size={"height": 896, "width": 896})
    pv = processor(images=[load_image(path)], return_tensors="np")["pixel_values"]
    return pv.astype(np.float32)


def prompt_ids():
    text = list(range(1000, 1020))
    return [2] + text[:10] + [BOI] + [IMAGE] * 256 + [EOI] + text[10:]


def time_mvc(args, artifact, pv_path, ids):
    run = os.path.join(args.build, "bin", "mvc-run")
    env = dict(os.environ)
    cmd = [run, artifact, "--threads", str(args.threads), "--profile"]
    for _ in range(args.reps):
        cmd += ["--function", "vision", "--input", pv_path]
    out = subprocess.run(cmd + ["--output-dir", os.path.join(args.workdir, "mvc-out")],
                         check=True, capture_output=True, text=True, env=env)
    total_us = sum(float(m.group(1)) for m in re.finditer(r"^\s+([0-9.]+)\s+[0-9.]+\s+\d+\s", out.stderr, re.M))
    vision = total_us / 1e6 / args.reps
    ttfts = []
    for _ in range(args.reps):
        out = subprocess.run([run, artifact, "--threads", str(args.threads), "--prompt-ids",
                              ",".join(map(str, ids)), "--pixel-values", pv_path, "--max-new-tokens", "1"],
                             check=True, capture_output=True, text=True, env=env)
        ttfts.append(float(re.search(r"time to first token: ([0-9.]+) s", out.stderr).group(1)))
    return vision, min(ttfts)


def time_transformers(args, ckpt, pv, ids, attn):
    import numpy as np
    import torch
    from transformers import Gemma3ForConditionalGeneration
    torch.set_num_threads(args.threads)
    dtype = {"bf16": torch.bfloat16, "f32": torch.float32}[args.dtype]
    model = Gemma3ForConditionalGeneration.from_pretrained(ckpt, dtype=dtype, attn_implementation=attn).eval()
    pixels = torch.from_numpy(pv).to(dtype)
    input_ids = torch.tensor([ids])
    with torch.no_grad():
        features = model.model.get_image_features(pixels, return_dict=True).pooler_output  # warm-up
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            model.model.get_image_features(pixels, return_dict=True)
            times.append(time.perf_counter() - start)
        ttfts = []
        for _ in range(args.reps):
            start = time.perf_counter()
            model.generate(input_ids=input_ids, pixel_values=pixels, token_type_ids=(input_ids == IMAGE).long(),
                           attention_mask=torch.ones_like(input_ids), max_new_tokens=1, do_sample=False)
            ttfts.append(time.perf_counter() - start)
    return min(times), min(ttfts), features[0].float().numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    p.add_argument("--image", default=os.path.join(os.path.dirname(__file__), "../../tests/fixtures/vision/rgb.jpg"))
    p.add_argument("--workdir")
    args = p.parse_args()
    import numpy as np
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="mvc-vision-bench-")
    ckpt = os.path.join(args.workdir, "checkpoint")
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        make_checkpoint(ckpt, args.dtype)
    artifact = os.path.join(args.workdir, f"model.{args.dtype}.mvc")
    start = time.perf_counter()
    subprocess.run([os.path.join(args.build, "bin", "mvc-compile"), ckpt, "--dtype", args.dtype,
                    "-o", artifact], check=True)
    compile_s = time.perf_counter() - start
    pv = pixel_values(args.image)
    pv_path = os.path.join(args.workdir, "pixel_values.npy")
    np.save(pv_path, pv)
    ids = prompt_ids()
    mvc_vision, mvc_ttft = time_mvc(args, artifact, pv_path, ids)
    out = subprocess.run([os.path.join(args.build, "bin", "mvc-run"), artifact, "--threads", str(args.threads),
                          "--function", "vision", "--input", pv_path, "--output-dir", os.path.join(args.workdir, "mvc-out")],
                         check=True, capture_output=True, text=True)
    mvc_features = np.load(os.path.join(args.workdir, "mvc-out", "vision.image_features.npy"))
    rows, features = {}, {}
    for attn in ("sdpa", "eager"):
        vision, ttft, features[attn] = time_transformers(args, ckpt, pv, ids, attn)
        rows[attn] = (vision, ttft)
    err = np.abs(mvc_features - features["sdpa"])
    print(json.dumps({"dtype": args.dtype, "threads": args.threads, "compile_seconds": round(compile_s, 1),
                      "mvc": {"vision_seconds": mvc_vision, "ttft_seconds": mvc_ttft},
                      "transformers": {k: {"vision_seconds": v[0], "ttft_seconds": v[1]} for k, v in rows.items()},
                      "features_vs_transformers_sdpa": {"max_abs": float(err.max()), "mean_abs": float(err.mean()),
                                                        "ref_abs_mean": float(np.abs(features["sdpa"]).mean())}}, indent=2))
    print(f"{'':24}{'vision/image':>14}{'TTFT (1 image)':>16}")
    print(f"{'mvc':24}{mvc_vision:>13.2f}s{mvc_ttft:>15.2f}s")
    for attn, (vision, ttft) in rows.items():
        print(f"{'transformers ' + attn:24}{vision:>13.2f}s{ttft:>15.2f}s   "
              f"mvc speedup {vision / mvc_vision:.2f}x / {ttft / mvc_ttft:.2f}x")


if __name__ == "__main__":
    main()
