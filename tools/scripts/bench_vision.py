#!/usr/bin/env python3
"""A vision-language model's image path, mvc beside transformers on the same checkpoint, same
threads, one run.

    python3 tools/scripts/bench_vision.py [--family gemma3|smolvlm] [--build build]
        [--threads 2] [--reps 3] [--dtype bf16] [--workdir DIR]

Builds a randomly initialized checkpoint of a real model's vision shape, saves it in
--dtype, compiles it with mvc-compile, and times on one photograph preprocessed by
transformers' own image processor:
  gemma3   Gemma3ForConditionalGeneration with Gemma 3 4B's vision tower (SigLIP 896 px,
           patch 14: 4096 patches, hidden 1152, 27 layers, 16 heads, intermediate 4304;
           256 image tokens after 4x4 pooling) and Gemma 3 270M's text model (the 4B text
           model would not fit this machine's time budget; the vision numbers do not depend
           on it); the photograph as one 896 x 896 frame;
  smolvlm  SmolVLMForConditionalGeneration of SmolVLM-256M's shape (SigLIP 512 px, patch 16:
           1024 patches, hidden 768, 12 layers, 12 heads; pixel shuffle 4: 64 tokens per
           frame; SmolLM2-135M's text model), the photograph cropped to 2:1 and split by
           SmolVLMImageProcessorPil (longest edge 2048, 512 px tiles): 2 x 4 tiles + the
           global image = 9 frames, 576 image tokens.
Rows:
  vision    the vision program on the image's frames, all in one execution:
            mvc-run --function vision (--profile totals over --reps calls on one loaded
            model) vs model.get_image_features (sdpa and eager attention); also per frame;
  ttft      time to first token of a prompt with the image (20 text tokens + the image's
            tokens, vision included): mvc-run generation vs model.generate with
            max_new_tokens=1.
It also reports how far mvc's image features are from transformers' (same weights; bf16
weights in both, so the difference is bf16 rounding, not a tolerance test) and, for bf16,
how far each is from transformers' f32 features of the same weights.
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
SMOLLM2_135M = dict(vocab_size=49280, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3, rms_norm_eps=1e-5,
                    rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                    max_position_embeddings=8192, tie_word_embeddings=True, bos_token_id=1,
                    eos_token_id=2, pad_token_id=2)
SMOLVLM_256M_VISION = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                           num_attention_heads=12, image_size=512, patch_size=16, layer_norm_eps=1e-6)
SMOLVLM_IMAGE = 49190


def torch_dtype(name):
    import torch
    return {"bf16": torch.bfloat16, "f32": torch.float32}[name]


class Gemma3:
    image_token = IMAGE

    @staticmethod
    def make_checkpoint(path, dtype):
        import torch
        from transformers import Gemma3Config, Gemma3ForConditionalGeneration
        torch.manual_seed(0)
        cfg = Gemma3Config(text_config=TEXT_270M, vision_config=VISION_4B, mm_tokens_per_image=256,
                           boi_token_index=BOI, eoi_token_index=EOI, image_token_index=IMAGE)
        model = Gemma3ForConditionalGeneration(cfg).to(torch_dtype(dtype))
        with torch.no_grad():  # HF leaves the projector and the (1 + w) norms at 0
            for name, p in model.named_parameters():
                if "multi_modal_projector" in name or ("norm" in name and "vision" not in name):
                    p.normal_(0, 0.02)
        model.save_pretrained(path)

    @staticmethod
    def pixel_values(path):
        """[frames, C, S, S] for mvc; the model's own layout for transformers."""
        import numpy as np
        from transformers.image_utils import load_image
        # The PIL backend (the default; the torchvision one needs torchvision).
        from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil
        processor = Gemma3ImageProcessorPil(size={"height": 896, "width": 896})
        pv = processor(images=[load_image(path)], return_tensors="np")["pixel_values"].astype(np.float32)
        return pv, pv

    @staticmethod
    def prompt_ids(frames):
        text = list(range(1000, 1020))
        return [2] + text[:10] + [BOI] + [IMAGE] * 256 + [EOI] + text[10:]

    @staticmethod
    def load(ckpt, dtype, attn):
        from transformers import Gemma3ForConditionalGeneration
        return Gemma3ForConditionalGeneration.from_pretrained(ckpt, dtype=dtype, attn_implementation=attn).eval()

    @staticmethod
    def generate_kwargs(input_ids):
        return {"token_type_ids": (input_ids == IMAGE).long()}


class SmolVLM:
    image_token = SMOLVLM_IMAGE
    # The vision program's per-patch inputs (whole frames: positions 0.., every patch real).
    patches_per_frame = (512 // 16) ** 2

    @staticmethod
    def make_checkpoint(path, dtype):
        import torch
        from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration
        torch.manual_seed(0)
        cfg = SmolVLMConfig(text_config=dict(SMOLLM2_135M, model_type="llama"),
                            vision_config=SMOLVLM_256M_VISION, scale_factor=4,
                            image_token_id=SMOLVLM_IMAGE, tie_word_embeddings=True)
        model = SmolVLMForConditionalGeneration(cfg).to(torch_dtype(dtype))
        model.save_pretrained(path)

    @staticmethod
    def pixel_values(path):
        import numpy as np
        from PIL import Image
        from transformers.models.smolvlm import SmolVLMImageProcessorPil
        image = Image.open(path).convert("RGB")
        w, h = image.size
        image = image.crop((0, 0, w, w // 2)) if h > w // 2 else image.crop((0, 0, 2 * h, h))
        processor = SmolVLMImageProcessorPil(size={"longest_edge": 2048}, max_image_size={"longest_edge": 512})
        pv = processor(images=[[image]], return_tensors="np")["pixel_values"].astype(np.float32)  # [1, F, C, S, S]
        return pv[0], pv

    @staticmethod
    def prompt_ids(frames):
        text = list(range(1000, 1020))
        return [1] + text[:10] + [SMOLVLM_IMAGE] * (64 * frames) + text[10:]

    @staticmethod
    def load(ckpt, dtype, attn):
        from transformers import SmolVLMForConditionalGeneration
        return SmolVLMForConditionalGeneration.from_pretrained(ckpt, dtype=dtype, attn_implementation=attn).eval()

    @staticmethod
    def generate_kwargs(input_ids):
        return {}


FAMILIES = {"gemma3": Gemma3, "smolvlm": SmolVLM}


def vision_inputs(args, family, pv_path, frames):
    """--input flags of the vision program: the pixel values, and for a family whose
    program takes them, whole frames' patch position ids and patch mask."""
    import numpy as np
    flags = ["--input", pv_path]
    patches = getattr(family, "patches_per_frame", None)
    if patches:
        for name, array in (("positions", np.tile(np.arange(patches, dtype=np.int32), (frames, 1))),
                            ("patch_mask", np.ones((frames, patches), np.int32))):
            path = os.path.join(args.workdir, f"{name}.npy")
            np.save(path, array)
            flags += ["--input", path]
    return flags


def time_mvc(args, artifact, pv_path, ids, inputs):
    run = os.path.join(args.build, "bin", "mvc-run")
    env = dict(os.environ)
    cmd = [run, artifact, "--threads", str(args.threads), "--profile"]
    for _ in range(args.reps):
        cmd += ["--function", "vision"] + inputs
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


def time_transformers(args, family, ckpt, pv, ids, attn):
    import torch
    torch.set_num_threads(args.threads)
    dtype = torch_dtype(args.dtype)
    model = family.load(ckpt, dtype, attn)
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
            model.generate(input_ids=input_ids, pixel_values=pixels, attention_mask=torch.ones_like(input_ids),
                           max_new_tokens=1, do_sample=False, **family.generate_kwargs(input_ids))
            ttfts.append(time.perf_counter() - start)
    features = torch.cat([f.reshape(-1, f.shape[-1]) for f in features])
    return min(times), min(ttfts), features.float().numpy()


def transformers_f32_features(family, ckpt, pv):
    """transformers' own f32 image features (sdpa) of the same checkpoint: how far its bf16
    features are from them is the yardstick for mvc's bf16 ones."""
    import torch
    model = family.load(ckpt, torch.float32, "sdpa")
    with torch.no_grad():
        features = model.model.get_image_features(torch.from_numpy(pv), return_dict=True).pooler_output
    features = torch.cat([f.reshape(-1, f.shape[-1]) for f in features])
    return features.numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--family", default="gemma3", choices=sorted(FAMILIES))
    p.add_argument("--build", default="build")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    p.add_argument("--image", default=os.path.join(os.path.dirname(__file__), "../../tests/fixtures/vision/rgb.jpg"))
    p.add_argument("--workdir")
    args = p.parse_args()
    import numpy as np
    family = FAMILIES[args.family]
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="mvc-vision-bench-")
    ckpt = os.path.join(args.workdir, f"checkpoint-{args.family}")
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        family.make_checkpoint(ckpt, args.dtype)
    artifact = os.path.join(args.workdir, f"{args.family}.{args.dtype}.mvc")
    start = time.perf_counter()
    subprocess.run([os.path.join(args.build, "bin", "mvc-compile"), ckpt, "--dtype", args.dtype,
                    "-o", artifact], check=True)
    compile_s = time.perf_counter() - start
    pv, hf_pv = family.pixel_values(args.image)
    frames = pv.shape[0]
    pv_path = os.path.join(args.workdir, "pixel_values.npy")
    np.save(pv_path, pv)
    ids = family.prompt_ids(frames)
    inputs = vision_inputs(args, family, pv_path, frames)
    mvc_vision, mvc_ttft = time_mvc(args, artifact, pv_path, ids, inputs)
    out = subprocess.run([os.path.join(args.build, "bin", "mvc-run"), artifact, "--threads", str(args.threads),
                          "--function", "vision"] + inputs + ["--output-dir", os.path.join(args.workdir, "mvc-out")],
                         check=True, capture_output=True, text=True)
    mvc_features = np.load(os.path.join(args.workdir, "mvc-out", "vision.image_features.npy"))
    rows, features = {}, {}
    for attn in ("sdpa", "eager"):
        vision, ttft, features[attn] = time_transformers(args, family, ckpt, hf_pv, ids, attn)
        rows[attn] = (vision, ttft)
    def distance(a, ref):
        err = np.abs(a - ref)
        return {"max_abs": float(err.max()), "mean_abs": float(err.mean()), "ref_abs_mean": float(np.abs(ref).mean())}
    report = {"family": args.family, "frames": frames, "dtype": args.dtype, "threads": args.threads,
              "compile_seconds": round(compile_s, 1),
              "mvc": {"vision_seconds": mvc_vision, "ttft_seconds": mvc_ttft},
              "transformers": {k: {"vision_seconds": v[0], "ttft_seconds": v[1]} for k, v in rows.items()},
              "features_vs_transformers_sdpa": distance(mvc_features, features["sdpa"])}
    if args.dtype != "f32":
        # The same weights in f32 (the checkpoint's bf16 values widened): transformers' own
        # rounding error, beside mvc's.
        f32 = transformers_f32_features(family, ckpt, hf_pv)
        report["transformers_sdpa_vs_transformers_f32"] = distance(features["sdpa"], f32)
        report["features_vs_transformers_f32"] = distance(mvc_features, f32)
    print(json.dumps(report, indent=2))
    print(f"{'':24}{'vision/image':>14}{'per frame':>12}{'TTFT (1 image)':>16}   ({frames} frame(s))")
    print(f"{'mvc':24}{mvc_vision:>13.2f}s{mvc_vision / frames:>11.3f}s{mvc_ttft:>15.2f}s")
    for attn, (vision, ttft) in rows.items():
        print(f"{'transformers ' + attn:24}{vision:>13.2f}s{vision / frames:>11.3f}s{ttft:>15.2f}s   "
              f"mvc speedup {vision / mvc_vision:.2f}x / {ttft / mvc_ttft:.2f}x")


if __name__ == "__main__":
    main()
