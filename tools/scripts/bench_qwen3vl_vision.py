#!/usr/bin/env python3
"""bench_qwen3vl_vision.py [--work DIR] [--threads N] [--python PY] [--side PIXELS] [--reps N]

Qwen3-VL's vision tower on one image, mvc beside transformers, at Qwen3-VL-30B-A3B's tower
widths (depth 27, hidden 1152, 16 heads, MLP 4304, patch 16, temporal patch 2, merge 2, a
48x48 learned position table, deepstack after blocks 8, 16, 24, out 2048), random bf16
weights (mvc-compile --random-weights; the text model is a 1-layer stub). The image is
SIDE x SIDE pixels (default 448: a 28 x 28 patch grid, 784 patches, 196 tokens).

mvc: `mvc-run ART --function vision` on the inputs the run half makes for that grid, once
with 1 execution and once with 1 + N in one process; the time per image is the difference
of the two wall-clock times divided by N (loading, the first execution's page faults and
process start cancel out). transformers 5.23's
Qwen3VLMoeVisionModel (sdpa attention, bf16, the same threads), median of N forward calls
after one warm-up. Needs torch and transformers in --python (e.g. /tmp/fixture-venv/bin/python).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "bin")

VISION = dict(depth=27, hidden_size=1152, intermediate_size=4304, num_heads=16, in_channels=3,
              patch_size=16, temporal_patch_size=2, spatial_merge_size=2, out_hidden_size=2048,
              num_position_embeddings=2304, deepstack_visual_indexes=[8, 16, 24],
              hidden_act="gelu_pytorch_tanh")
TEXT = dict(vocab_size=1024, hidden_size=2048, intermediate_size=256, num_hidden_layers=1,
            num_attention_heads=16, num_key_value_heads=4, head_dim=128, num_local_experts=8,
            num_experts_per_tok=2, moe_intermediate_size=64, eos_token_id=2,
            rope_parameters={"rope_type": "default", "rope_theta": 5000000.0,
                             "mrope_section": [24, 20, 20]})

HF = r'''
import statistics, sys, time, torch
from transformers import Qwen3VLMoeVisionConfig
from transformers.models.qwen3_vl_moe.modeling_qwen3_vl_moe import Qwen3VLMoeVisionModel
threads, side, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
vision = eval(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)
config = Qwen3VLMoeVisionConfig(**vision)
config._attn_implementation = "sdpa"
model = Qwen3VLMoeVisionModel(config).to(torch.bfloat16).eval()
g = side // 16
grid = torch.tensor([[1, g, g]])
x = torch.randn(g * g, 3 * 2 * 16 * 16, dtype=torch.bfloat16)
times = []
with torch.no_grad():
    model(x, grid_thw=grid)
    for _ in range(reps):
        t = time.perf_counter()
        model(x, grid_thw=grid)
        times.append(time.perf_counter() - t)
print(f"transformers: {statistics.median(times) * 1e3:.1f} ms per image (median of {reps})")
'''


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/mvc-bench-qwen3vl-vision")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--python", default=None)
    p.add_argument("--side", type=int, default=448)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "tools", "scripts"))
    os.makedirs(a.work, exist_ok=True)
    config = {"architectures": ["Qwen3VLMoeForConditionalGeneration"], "model_type": "qwen3_vl_moe",
              "text_config": TEXT, "vision_config": VISION, "tie_word_embeddings": True,
              "image_token_id": 1000, "video_token_id": 1001, "vision_start_token_id": 1002,
              "vision_end_token_id": 1003,
              "transformers_version": "5.23.0"}
    json.dump(config, open(os.path.join(a.work, "config.json"), "w"), indent=1)
    art = os.path.join(a.work, "model.mvc")
    if not os.path.exists(art):
        subprocess.run([os.path.join(BIN, "mvc-compile"), a.work, "--random-weights", "1",
                        "--dtype", "bf16", "-o", art], check=True, stderr=subprocess.DEVNULL)
    # The run half's inputs for one image of a g x g grid (vision_utils' rules).
    import numpy as np
    g = a.side // 16
    side, merge = 48, 2
    ids, weights, rope = [], [], []
    for within in range(g * g):
        blocks = g // merge
        col = (within // (merge * merge)) % blocks * merge + within % merge
        row = within // (merge * merge * blocks) * merge + (within // merge) % merge
        taps = []
        for index in (row, col):
            src = np.float32(index) * np.float32(side - 1) / np.float32(max(g - 1, 1))
            lo = np.floor(src)
            taps.append([(min(max(int(lo) + k, 0), side - 1), max(1 - abs(src - lo - k), 0)) for k in (0, 1)])
        for (hi, hw) in taps[0]:
            for (wi, ww) in taps[1]:
                ids.append(hi * side + wi)
                weights.append(hw * ww)
        rope += [row, col]
    with tempfile.TemporaryDirectory() as tmp:
        arrays = [np.random.default_rng(0).standard_normal((g * g, 1536)).astype(np.float32),
                  np.array(ids, np.int32).reshape(-1, 4), np.array(weights, np.float32).reshape(-1, 4),
                  np.array(rope, np.int32).reshape(-1, 2), np.array([0, g * g], np.int32)]
        files = []
        for i, x in enumerate(arrays):
            files.append(os.path.join(tmp, f"in{i}.npy"))
            np.save(files[-1], x)
        import time

        def wall(executions):
            cmd = [os.path.join(BIN, "mvc-run"), art, "--threads", str(a.threads)]
            for _ in range(executions):
                cmd += ["--function", "vision"] + [arg for f in files for arg in ("--input", f)]
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            return time.perf_counter() - t
        one, many = wall(1), wall(1 + a.reps)
        print(f"mvc: {(many - one) / a.reps * 1e3:.1f} ms per image ({g}x{g} patches, "
              f"{a.threads} threads; 1 execution {one:.2f} s, {1 + a.reps} executions {many:.2f} s)")
    if a.python:
        subprocess.run([a.python, "-c", HF, str(a.threads), str(a.side), str(a.reps), repr(VISION)],
                       check=True)


if __name__ == "__main__":
    main()
