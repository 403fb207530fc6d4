#!/usr/bin/env python3
"""A bounded load test of mvc-serve (loopback only; stops by itself).

    python3 tools/scripts/load_serve.py ARTIFACT [--clients 64] [--seconds 120]
        [--threads 2] [--out load.json] [--build build]
    python3 tools/scripts/load_serve.py --llama-server BIN --gguf MODEL.gguf [same options]

Starts mvc-serve on ARTIFACT on 127.0.0.1 (a free port), then runs CLIENTS concurrent
streaming chat (or, with --endpoint completions, completion) clients (the official `openai` package) for SECONDS: each sends a prompt of
a random length (8 to 400 words) asking for 16 to 128 tokens (temperature 0.8, a random
seed), reads the stream to its end and starts over. Afterwards it checks that the server
went back to idle (/metrics: 0 KV pages in use, 0 running and waiting) and writes to OUT:
requests, errors, p50/p99 time to first token, p50/p99 inter-token latency, generated
tokens per second over the run, and the /metrics counters. Exit status 1 on any error or a
page left in use.

With --llama-server, the same clients run against llama.cpp's server (built beside the
project, e.g. from the llama-cpp-python sdist; never part of it) on the GGUF file, one slot
per client: the reference for the same load. Generated tokens are counted by the clients
(stream usage) for both servers.
"""
import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.request

import openai

import serve_process


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(mvc_[a-z_]+) ([0-9.e+-]+)$", text, re.M)}


def kv_bytes_per_token(artifact):
    """KV bytes per token of an mvc artifact: its manifest's state shapes per page."""
    import subprocess
    dump = os.path.join(os.path.dirname(__file__), "../../tests/e2e/dump_section.py")
    manifest = json.loads(subprocess.run([sys.executable, dump, artifact, "manifest"], check=True,
                                         capture_output=True).stdout)
    sizes = {"f32": 4, "bf16": 2, "f16": 2, "i32": 4}
    total = 0
    for state in manifest["states"]:
        n = sizes[state["dtype"]]
        for d in state["shape"][1:]:
            n *= d
        total += n
    return total // manifest["language_model"]["page_size"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("artifact", nargs="?")
    p.add_argument("--llama-server", help="llama.cpp's llama-server binary: load it instead")
    p.add_argument("--gguf", help="the model for --llama-server")
    p.add_argument("--kv-tokens-per-client", type=int, default=1024,
                   help="KV cache per client (both servers): tokens")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--build", default="build")
    p.add_argument("--out", default="load.json")
    p.add_argument("--endpoint", choices=["chat", "completions"], default="chat",
                   help="completions for a base model without a chat template")
    args = p.parse_args()
    llama = args.llama_server is not None
    if llama and not args.gguf:
        p.error("--llama-server needs --gguf")
    if not llama and not args.artifact:
        p.error("give an artifact (or --llama-server and --gguf)")
    if llama:
        # 400 words are ~500 tokens, plus up to 128 new ones and the chat template.
        server, port = serve_process.start_llama_server(args.llama_server, args.gguf, args.threads,
                                                        args.clients, args.kv_tokens_per_client)
    else:
        server, port = serve_process.start([os.path.join(args.build, "bin", "mvc-serve"), args.artifact,
                                            "--port", "0", "--threads", str(args.threads),
                                            "--served-model-name", "m", "--max-requests", str(4 * args.clients),
                                            "--kv-memory", str(kv_bytes_per_token(args.artifact)
                                                               * args.kv_tokens_per_client * args.clients)])
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0,
                               timeout=600)
        words = "the quick brown fox jumps over a lazy dog while seven small birds sing".split()
        lock = threading.Lock()
        ttfts, itls, errors, counts = [], [], [], {"requests": 0, "tokens": 0}
        stop_at = time.time() + args.seconds

        def worker(index):
            rng = random.Random(index)
            while time.time() < stop_at:
                prompt = " ".join(rng.choice(words) for _ in range(rng.randint(8, 400)))
                start = time.perf_counter()
                last, first, chunks = None, None, 0
                try:
                    sampling = dict(model="m", max_tokens=rng.randint(16, 128), temperature=0.8,
                                    seed=rng.randint(0, 1 << 30), stream=True,
                                    stream_options={"include_usage": True})
                    if args.endpoint == "chat":
                        stream = client.chat.completions.create(
                            messages=[{"role": "user", "content": prompt}], **sampling)
                    else:
                        stream = client.completions.create(prompt=prompt, **sampling)
                    gaps, generated = [], 0
                    for chunk in stream:
                        now = time.perf_counter()
                        if chunk.usage:
                            generated = chunk.usage.completion_tokens
                        piece = None
                        if chunk.choices:
                            piece = (chunk.choices[0].delta.content if args.endpoint == "chat"
                                     else chunk.choices[0].text)
                        if piece:
                            if first is None:
                                first = now - start
                            elif last is not None:
                                gaps.append(now - last)
                            last = now
                            chunks += 1
                    with lock:
                        counts["requests"] += 1
                        counts["tokens"] += generated or chunks
                        if first is not None:
                            ttfts.append(first)
                        itls.extend(gaps)
                except Exception as error:  # noqa: BLE001 - every failure counts
                    with lock:
                        errors.append(repr(error)[:200])

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
        before = {} if llama else metrics(port)
        idle = None
        for _ in range(0 if llama else 100):
            m = metrics(port)
            if m.get("mvc_kv_pages_used") == 0 and m.get("mvc_requests_running") == 0 \
                    and m.get("mvc_requests_waiting") == 0:
                idle = m
                break
            time.sleep(0.1)
        result = {
            "server": "llama-server" if llama else "mvc-serve",
            "model": args.gguf if llama else args.artifact, "clients": args.clients,
            "seconds": round(elapsed, 1),
            "requests": counts["requests"], "errors": len(errors), "error_samples": errors[:5],
            "ttft_p50_s": percentile(ttfts, 50), "ttft_p99_s": percentile(ttfts, 99),
            "itl_p50_s": percentile(itls, 50), "itl_p99_s": percentile(itls, 99),
            "generated_tokens_per_s": counts["tokens"] / elapsed,  # counted by the clients
        }
        if not llama:
            result.update({
                "prompt_tokens_per_s": before.get("mvc_prompt_tokens_total", 0) / elapsed,
                "prefix_cache_hit_rate": before.get("mvc_prefix_cache_hit_rate"),
                "preemptions": before.get("mvc_preemptions_total"),
                "idle_after": idle is not None,
                "kv_pages_used_after": (idle or metrics(port)).get("mvc_kv_pages_used"),
            })
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(json.dumps(result, indent=1))
        sys.exit(0 if not errors and (llama or idle is not None) else 1)
    finally:
        serve_process.stop(server)

if __name__ == "__main__":
    main()
