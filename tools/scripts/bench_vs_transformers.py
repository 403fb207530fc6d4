#!/usr/bin/env python3
"""mvc beside transformers on the same checkpoint (a Gemma 3 of 270M's shape, a Gemma 4 of
an E2B-like text shape, or any causal LM directory given with --checkpoint), same threads,
one run.

    python3 tools/scripts/bench_vs_transformers.py [--build build] [--threads 2]
        [--checkpoint DIR | --shape gemma3-270m|gemma4-e2b|gemma4-e2b-nople]
        [--dtype bf16] [--prompt 512] [--decode-steps 16] [--profile]

Without --checkpoint it builds a randomly initialized model of --shape and saves it in
--dtype to a temporary directory:
  gemma3-270m        Gemma3ForCausalLM of Gemma 3 270M's shape (hidden 640, 18 layers, 4
                     heads, 1 KV head, head_dim 256, intermediate 2048, vocab 262144,
                     window 512)
  gemma4-e2b         Gemma4ForCausalLM of an E2B-like text shape (hidden 1536, 35 layers in
                     4 sliding : 1 full, 8 heads, 1 KV head, head_dim 256 / 512 on full
                     layers, intermediate 6144 (double-wide on the 20 KV-shared layers),
                     per-layer inputs of 256 over a 262144-row table, window 512, vocab
                     262144, softcap 30); ~4.7B parameters of which 2.35B are the
                     per-layer table (a gather: one row per token)
  gemma4-e2b-nople   the same without per-layer inputs (PLE's cost, by difference) Then it compiles it
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


GEMMA4_E2B_LIKE = dict(
    vocab_size=262144, hidden_size=1536, intermediate_size=6144, num_hidden_layers=35,
    num_attention_heads=8, num_key_value_heads=1, head_dim=256, global_head_dim=512,
    layer_types=(["sliding_attention"] * 4 + ["full_attention"]) * 7, sliding_window=512,
    num_kv_shared_layers=20, use_double_wide_mlp=True, hidden_size_per_layer_input=256,
    vocab_size_per_layer_input=262144, final_logit_softcapping=30.0, max_position_embeddings=32768,
    pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True)


def make_checkpoint(path, dtype, shape):
    import torch
    torch.manual_seed(0)
    torch_dtype = getattr(torch, {"bf16": "bfloat16", "f32": "float32"}[dtype])
    if shape == "gemma3-270m":
        from transformers import Gemma3ForCausalLM, Gemma3TextConfig
        cfg = Gemma3TextConfig(**{k: v for k, v in CONFIG_270M.items() if k not in ("architectures", "model_type")})
        model = Gemma3ForCausalLM(cfg).to(torch_dtype)
    else:
        from transformers import Gemma4ForCausalLM, Gemma4TextConfig
        fields = dict(GEMMA4_E2B_LIKE)
        if shape == "gemma4-e2b-nople":
            fields["hidden_size_per_layer_input"] = 0
        # Built in the target dtype directly: 4.7B parameters in f32 would not fit.
        torch.set_default_dtype(torch_dtype)
        model = Gemma4ForCausalLM(Gemma4TextConfig(**fields))
        torch.set_default_dtype(torch.float32)
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
    p.add_argument("--shape", default="gemma3-270m", choices=["gemma3-270m", "gemma4-e2b", "gemma4-e2b-nople"])
    p.add_argument("--profile", action="store_true", help="mvc-bench --profile (on stderr)")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--decode-steps", type=int, default=16)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return transformers_child(a)
    with tempfile.TemporaryDirectory() as tmp:
        if not a.checkpoint:
            a.checkpoint = os.path.join(tmp, a.shape + "-shape")
            make_checkpoint(a.checkpoint, a.dtype, a.shape)
        art = os.path.join(tmp, "model.mvc")
        t = time.perf_counter()
        subprocess.run([f"{a.build}/bin/mvc-compile", a.checkpoint, "--dtype", a.dtype, "-o", art], check=True)
        compile_s = time.perf_counter() - t
        bench_json = os.path.join(tmp, "bench.json")
        subprocess.run([f"{a.build}/bin/mvc-bench", art, "--threads", str(a.threads), "--prompt-lengths",
                        str(a.prompt), "--decode-batches", "1", "--decode-context", str(a.prompt),
                        "--decode-steps", str(a.decode_steps), "--json", bench_json]
                       + (["--profile"] if a.profile else []), check=True)
        mvc = json.load(open(bench_json))
        child = subprocess.run([sys.executable, __file__, "--child", "--checkpoint", a.checkpoint,
                                "--threads", str(a.threads), "--dtype", a.dtype, "--prompt", str(a.prompt),
                                "--decode-steps", str(a.decode_steps)], check=True, capture_output=True, text=True)
        ref = json.loads(child.stdout.strip().splitlines()[-1])
    m_pre, m_dec = mvc["prefill"][0]["tokens_per_s"], mvc["decode"][0]["tokens_per_s"]
    m_ttft = mvc["prefill"][0]["seconds"]
    print(f"checkpoint: {'random ' + a.shape + ' shape' if not p.parse_args().checkpoint else a.checkpoint}, "
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
