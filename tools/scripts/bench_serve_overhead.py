#!/usr/bin/env python3
"""The cost of serving over HTTP: mvc-serve's decode against mvc-bench's, in one run.

    python3 tools/scripts/bench_serve_overhead.py ARTIFACT [--threads 2] [--batches 1,4]
        [--context 512] [--tokens 128] [--build build] [--out overhead.json]

For each batch size B: mvc-bench's decode step time at B sequences of CONTEXT cached
tokens, then mvc-serve on the same artifact with B concurrent streaming completions, each
a prompt of CONTEXT random token ids asking for TOKENS tokens at temperature 0. The
server's step time at B is the median time between a client's streamed tokens while all B
clients are decoding (their prefills are staggered). The overhead is the server's
step time over mvc-bench's, minus 1: the HTTP layer, the scheduler, sampling and
detokenization together (the contexts grow from CONTEXT to CONTEXT + TOKENS while
serving, so attention costs a little more there too). The server gets KV pages (of 16
tokens, the default page size) for all clients at once.
"""
import argparse
import concurrent.futures
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_process  # noqa: E402


def stream_once(port, prompt, tokens):
    """The arrival times of a streamed completion's tokens."""
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    arrivals = []
    for chunk in client.completions.create(model="m", prompt=prompt, max_tokens=tokens,
                                           temperature=0, stream=True):
        if chunk.choices and chunk.choices[0].text:
            arrivals.append(time.perf_counter())
    return arrivals


def step_time(streams):
    """The median time between a client's tokens while every client is decoding (from the
    last first token to the first last token), so that each step holds all of them."""
    start = max(a[0] for a in streams)
    end = min(a[-1] for a in streams)
    gaps = [b - a for arrivals in streams for a, b in zip(arrivals, arrivals[1:])
            if a >= start and b <= end]
    return statistics.median(gaps) if len(gaps) >= 8 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", default="overhead.json")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        bench_json = os.path.join(tmp, "bench.json")
        subprocess.run([os.path.join(args.build, "bin", "mvc-bench"), args.artifact,
                        "--threads", str(args.threads), "--prompt-lengths", str(args.context),
                        "--decode-batches", args.batches, "--decode-context", str(args.context),
                        "--decode-steps", "32", "--json", bench_json],
                       check=True, stdout=subprocess.DEVNULL)
        bench = {d["batch"]: d["step_s"] for d in json.load(open(bench_json))["decode"]}

    server, port = serve_process.start([os.path.join(args.build, "bin", "mvc-serve"), args.artifact,
                                        "--port", "0", "--threads", str(args.threads),
                                        "--served-model-name", "m", "--no-prefix-cache",
                                        # pages for every client's prompt and tokens at once
                                        "--kv-pages", str(max(batches) * ((args.context + args.tokens) // 16 + 2) + 16)])
    rows = []
    try:
        rng = random.Random(0)
        for batch in batches:
            prompts = [[rng.randrange(1000, 20000) for _ in range(args.context)] for _ in range(batch)]
            stream_once(port, prompts[0][:16], 4)  # warm-up
            with concurrent.futures.ThreadPoolExecutor(batch) as pool:
                streams = list(pool.map(lambda p: stream_once(port, p, args.tokens), prompts))
            served = step_time(streams)
            if served is None:
                print(f"batch {batch}: the clients never decoded together long enough; "
                      "raise --tokens", file=sys.stderr)
                continue
            rows.append({"batch": batch, "mvc_bench_step_s": bench[batch], "served_step_s": served,
                         "overhead": served / bench[batch] - 1})
            print(f"batch {batch}: mvc-bench {bench[batch] * 1000:.1f} ms/step, served "
                  f"{served * 1000:.1f} ms/token: overhead {100 * (served / bench[batch] - 1):+.1f}%")
    finally:
        serve_process.stop(server)
    with open(args.out, "w") as f:
        json.dump({"artifact": args.artifact, "threads": args.threads, "context": args.context,
                   "tokens": args.tokens, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
