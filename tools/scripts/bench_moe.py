#!/usr/bin/env python3
"""bench_moe.py [--work DIR] [--threads N] [--python PY]

Mixture-of-experts cost on this machine, at Qwen3-VL-30B-A3B's text widths (hidden 2048,
32 heads / 4 KV heads of head_dim 128, experts of width 768, top-8, vocab 151936) but 4
decoder layers, all MoE, random bf16 weights (mvc-compile --random-weights):

  1. decode cost grows with the active experts, not the total: the same model with 8 and
     with 128 experts (top-8 either way), mvc-bench decode at batch 1 and 4 with --profile;
  2. one MoE layer beside transformers': the sum of the MoE dispatches per layer from the
     profile, and transformers 5.23's Qwen3VLMoeTextSparseMoeBlock (eager and grouped_mm
     experts) timed in the same run at 1, 4 and 128 tokens, bf16, same thread count
     (needs torch and transformers in --python, e.g. /tmp/fixture-venv/bin/python).

The artifacts take ~8 GB of disk in --work (default /tmp/mvc-bench-moe)."""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "bin")

HF = r'''
import sys, time, torch
from transformers import Qwen3VLMoeTextConfig
from transformers.models.qwen3_vl_moe.modeling_qwen3_vl_moe import Qwen3VLMoeTextSparseMoeBlock
torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
for impl in ["eager", "grouped_mm"]:
    c = Qwen3VLMoeTextConfig(hidden_size=2048, num_experts=128, num_experts_per_tok=8,
                             moe_intermediate_size=768)
    c._experts_implementation = impl
    block = Qwen3VLMoeTextSparseMoeBlock(c).to(torch.bfloat16).eval()
    with torch.no_grad():
        for p in block.parameters():
            p.uniform_(-0.1, 0.1)
        for n in (1, 4, 128):
            x = torch.randn(1, n, 2048, dtype=torch.bfloat16)
            block(x)
            reps = 20 if n < 128 else 5
            t = time.perf_counter()
            for _ in range(reps):
                block(x)
            print(f"transformers {impl:10s} {n:4d} tokens: {(time.perf_counter() - t) / reps * 1e3:8.2f} ms per MoE layer")
'''


def config(experts):
    text = dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=4,
                num_attention_heads=32, num_key_value_heads=4, head_dim=128, rms_norm_eps=1e-6,
                max_position_embeddings=4096, eos_token_id=2, num_local_experts=experts,
                num_experts_per_tok=8, moe_intermediate_size=768, decoder_sparse_step=1,
                mlp_only_layers=[], hidden_act="silu",
                rope_parameters={"rope_type": "default", "rope_theta": 5000000.0,
                                 "mrope_section": [24, 20, 20], "mrope_interleaved": True})
    vision = dict(depth=1, hidden_size=64, intermediate_size=128, num_heads=2, patch_size=16,
                  temporal_patch_size=2, spatial_merge_size=2, out_hidden_size=2048,
                  num_position_embeddings=16, deepstack_visual_indexes=[0])
    return {"architectures": ["Qwen3VLMoeForConditionalGeneration"], "model_type": "qwen3_vl_moe",
            "text_config": text, "vision_config": vision, "tie_word_embeddings": False,
            "transformers_version": "5.23.0"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/mvc-bench-moe")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--python", default=None, help="a Python with torch + transformers 5.23")
    a = p.parse_args()
    per_layer = {}
    for experts in (8, 128):
        d = os.path.join(a.work, f"experts{experts}")
        os.makedirs(d, exist_ok=True)
        json.dump(config(experts), open(os.path.join(d, "config.json"), "w"), indent=1)
        art = d + ".mvc"
        if not os.path.exists(art):
            subprocess.run([os.path.join(BIN, "mvc-compile"), d, "--random-weights", "1",
                            "--dtype", "bf16", "-o", art], check=True, stderr=subprocess.DEVNULL)
        run = subprocess.run([os.path.join(BIN, "mvc-bench"), art, "--threads", str(a.threads),
                              "--prompt-lengths", "128", "--decode-batches", "1,4",
                              "--decode-context", "128", "--reps", "1", "--profile"],
                             capture_output=True, text=True, check=True)
        print(f"== {experts} experts, top-8")
        print(run.stdout.strip())
        # The 12 most expensive dispatches of each measurement: the grouped gate/up and down
        # matmuls of the 4 MoE layers are among them (the kernels after the moe_route).
        print(run.stderr.strip())
    if a.python:
        print("== transformers, same widths, one MoE layer")
        subprocess.run([a.python, "-c", HF, str(a.threads)], check=True)


if __name__ == "__main__":
    main()
