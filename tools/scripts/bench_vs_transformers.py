#!/usr/bin/env python3
"""mvc beside transformers on the same checkpoint (a Gemma 3 of 270M's shape, or any
causal LM directory given with --checkpoint), same threads, one run.

    python3 tools/scripts/bench_vs_transformers.py [--build build] [--threads 2]
        [--checkpoint DIR] [--dtype bf16] [--prompt 512] [--decode-steps 16]

Without --checkpoint it builds a randomly initialized Gemma3ForCausalLM of Gemma 3 270M's
shape (hidden 640, 18 layers, 4 heads, 1 KV head, head_dim 256, intermediate 2048, vocab
262144, window 512) and saves it in --dtype to a temporary directory. Then it compiles it
with mvc-compile, runs mvc-bench, and times transformers (torch, CPU, the same dtype and
threads, sdpa and eager attention) on the same prompt: prefill of --prompt tokens (time
to the first token's logits) and greedy decode with the KV cache. Each engine runs in its
own process so peak RSS is its own. Needs torch and transformers (not a test dependency).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CONFIG_270M = {
    "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 262144,
    "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18,
    "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
    "query_pre_attn_scalar": 256, "sliding_window": 512, "rms_norm_eps": 1e-6,
    "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 3,
    "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                        "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
    "max_position_embeddings": 32768, "tie_word_embeddings": True, "bos_token_id": 2,
    "eos_token_id": [1, 106], "pad_token_id": 0, "final_logit_softcapping": None,
}


def make_checkpoint(path, dtype):
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(**{k: v for k, v in CONFIG_270M.items() if k not in ("architectures", "model_type")})
    model = Gemma3ForCausalLM(cfg).to(getattr(torch, {"bf16": "bfloat16", "f32": "float32"}[dtype]))
    model.save_pretrained(path)


def peak_rss_mb():
    """VmHWM: this process's own peak (ru_maxrss is inherited across fork and exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def transformers_child(args):
    """Runs in a child process: prints one JSON line of timings."""
    import torch
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(args.threads)
    dtype = {"bf16": torch.bfloat16, "f32": torch.float32}[args.dtype]
    out = {}
    for attn in ("sdpa", "eager"):
        model = AutoModelForCausalLM.from_pretrained(args.checkpoint, dtype=dtype, attn_implementation=attn)
        model.eval()
        vocab = model.config.get_text_config().vocab_size
        ids = torch.randint(3, vocab - 1, (1, args.prompt), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            model(ids[:, :16])  # warm-up
            t = time.perf_counter()
            res = model(ids, use_cache=True)
            prefill = time.perf_counter() - t
            past, nxt = res.past_key_values, res.logits[:, -1:].argmax(-1)
            t = time.perf_counter()
            for _ in range(args.decode_steps):
                res = model(nxt, past_key_values=past, use_cache=True)
                past, nxt = res.past_key_values, res.logits[:, -1:].argmax(-1)
            decode = (time.perf_counter() - t) / args.decode_steps
        out[attn] = {"prefill_tokens_per_s": args.prompt / prefill, "time_to_first_token_s": prefill,
                     "decode_tokens_per_s": 1.0 / decode}
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--decode-steps", type=int, default=16)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return transformers_child(a)
    with tempfile.TemporaryDirectory() as tmp:
        if not a.checkpoint:
            a.checkpoint = os.path.join(tmp, "gemma3-270m-shape")
            make_checkpoint(a.checkpoint, a.dtype)
        art = os.path.join(tmp, "model.mvc")
        t = time.perf_counter()
        subprocess.run([f"{a.build}/bin/mvc-compile", a.checkpoint, "--dtype", a.dtype, "-o", art], check=True)
        compile_s = time.perf_counter() - t
        bench_json = os.path.join(tmp, "bench.json")
        subprocess.run([f"{a.build}/bin/mvc-bench", art, "--threads", str(a.threads), "--prompt-lengths",
                        str(a.prompt), "--decode-batches", "1", "--decode-context", str(a.prompt),
                        "--decode-steps", str(a.decode_steps), "--json", bench_json], check=True)
        mvc = json.load(open(bench_json))
        child = subprocess.run([sys.executable, __file__, "--child", "--checkpoint", a.checkpoint,
                                "--threads", str(a.threads), "--dtype", a.dtype, "--prompt", str(a.prompt),
                                "--decode-steps", str(a.decode_steps)], check=True, capture_output=True, text=True)
        ref = json.loads(child.stdout.strip().splitlines()[-1])
    m_pre, m_dec = mvc["prefill"][0]["tokens_per_s"], mvc["decode"][0]["tokens_per_s"]
    m_ttft = mvc["prefill"][0]["seconds"]
    print(f"checkpoint: {'random Gemma 3 270M shape' if not p.parse_args().checkpoint else a.checkpoint}, "
          f"{a.dtype}, {a.threads} threads, prompt {a.prompt}, mvc compile {compile_s:.1f} s")
    print(f"{'':24} {'mvc':>10} {'hf sdpa':>10} {'hf eager':>10} {'mvc/sdpa':>9} {'mvc/eager':>9}")
    rows = [("prefill tokens/s", m_pre, ref["sdpa"]["prefill_tokens_per_s"], ref["eager"]["prefill_tokens_per_s"], True),
            ("decode tokens/s", m_dec, ref["sdpa"]["decode_tokens_per_s"], ref["eager"]["decode_tokens_per_s"], True),
            ("time to first token s", m_ttft, ref["sdpa"]["time_to_first_token_s"], ref["eager"]["time_to_first_token_s"], False)]
    for name, m, s, e, higher in rows:
        rs, re_ = (m / s, m / e) if higher else (s / m, e / m)
        print(f"{name:24} {m:10.3f} {s:10.3f} {e:10.3f} {rs:9.2f} {re_:9.2f}")
    print(f"{'peak RSS MB':24} {mvc['peak_rss_mb']:10.0f} {ref['peak_rss_mb']:10.0f}")
    print(json.dumps({"mvc": mvc, "transformers": ref}))


if __name__ == "__main__":
    main()
