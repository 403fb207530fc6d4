#!/usr/bin/env python3
"""check_serve_long.py MVC_SERVE MVC_RUN MVC_COMPILE CHECKPOINT TOKENIZER_DIR WORKDIR

mvc-serve on a long-context model, for what needs one. A tiny Gemma 3 text checkpoint (3
of its 4 layers slide) gets a 512-token window and 4096 positions and is compiled with a
small tokenizer; then:

  - prefix cache past the window: two completions share a 2,000-token prefix (a long
    system prompt) and differ in their last tokens. The second finds the prefix's whole
    pages in the cache (/metrics), and its greedy tokens and logprobs equal mvc-run's of
    the same prompt computed cold (mvc-run has no prefix cache): cached keys past the
    window give exactly a cold run's numbers. Both TTFTs (streamed) go to stderr, not
    asserted;
  - 10,000 idle connections (opened and left silent): a request is still answered, with
    the same tokens as before; closing them leaves the server serving;
  - a non-streaming request whose client disconnects mid-generation is cancelled
    (mvc_cancelled_total) and its pages come back.
Prints one line per check; exits non-zero on any failure.
"""
import json
import os
import re
import resource
import socket
import urllib.request
import shutil
import subprocess
import sys
import time

import numpy as np
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "scripts"))
import serve_process  # noqa: E402

failures = 0


def report(name, ok, detail=""):
    global failures
    failures += not ok
    print(f"{name}: {'ok' if ok else 'FAIL'}{(' (' + detail + ')') if detail and not ok else ''}")


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    return float(re.search(rf"^{name} (\S+)", text, re.M).group(1))


def main():
    serve, run, compile_, checkpoint, tokenizer_dir, work = sys.argv[1:7]
    shutil.rmtree(work, ignore_errors=True)
    model_dir = os.path.join(work, "window512")
    shutil.copytree(checkpoint, model_dir)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    config.update(sliding_window=512, max_position_embeddings=4096)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, name), model_dir)
    artifact = os.path.join(work, "window512.mvc")
    subprocess.run([compile_, model_dir, "--dtype", "f32", "--kv-pages", "300", "--quiet",
                    "-o", artifact], check=True)

    rng = np.random.default_rng(0)
    shared = [2] + rng.integers(5, 270, 1999).tolist()  # <bos> and 1999 text tokens
    first = shared + rng.integers(5, 270, 12).tolist()
    second = shared + rng.integers(5, 270, 9).tolist()

    server, port = serve_process.start([serve, artifact, "--port", "0", "--threads", "2"])
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)

        def ttft(prompt):
            start = time.perf_counter()
            for _ in client.completions.create(model="window512", prompt=prompt, max_tokens=1,
                                               temperature=0, stream=True):
                return time.perf_counter() - start

        cold = ttft(first)
        before = metric(port, "mvc_prefix_cache_hit_tokens_total")
        warm = ttft(second)
        hit = metric(port, "mvc_prefix_cache_hit_tokens_total") - before
        page = 16
        report("the shared 2000-token prefix comes from the cache",
               hit >= (2000 // page) * page, f"{hit} tokens")
        print(f"TTFT: {cold * 1000:.0f} ms cold, {warm * 1000:.0f} ms with the prefix cached "
              f"({cold / warm:.1f}x)", file=sys.stderr)

        got = client.completions.create(model="window512", prompt=second, max_tokens=6,
                                        temperature=0, logprobs=5).choices[0]
        # Cold: mvc-run's greedy tokens, then its logits at every position of the prompt
        # and those tokens (row len(second) - 1 + i predicts new token i).
        out = subprocess.run([run, artifact, "--prompt-ids", ",".join(map(str, second)),
                              "--max-new-tokens", "6", "--print-ids"],
                             capture_output=True, text=True, check=True)
        want_ids = [int(t) for t in out.stdout.strip().splitlines()[-1].replace(",", " ").split()]
        logits_path = os.path.join(work, "cold.npy")
        subprocess.run([run, artifact, "--prompt-ids", ",".join(map(str, second + want_ids[:-1])),
                        "--max-new-tokens", "1", "--all-logits", "--logits-out", logits_path],
                       capture_output=True, check=True)
        rows = np.load(logits_path).astype(np.float64).reshape(-1, config["vocab_size"])
        rows = rows - rows.max(axis=1, keepdims=True)
        rows = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
        want = [rows[len(second) - 1 + i, t] for i, t in enumerate(want_ids)]
        got_lp = got.logprobs.token_logprobs
        diff = np.abs(np.array(got_lp) - np.array(want)).max() if len(got_lp) == len(want) else float("inf")
        report("with the cached prefix: greedy tokens and logprobs equal a cold mvc-run",
               len(want_ids) == 6 and diff < 1e-5, f"max diff {diff}, {got_lp} vs {want}")

        # 10,000 idle connections wait in the server's epoll set, not in its threads.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 10500:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 10500), hard))
        short = {"model": "window512", "prompt": first[:40], "max_tokens": 4, "temperature": 0}
        want_short = client.completions.create(**short).choices[0].text
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(10000)]
        got_short = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0,
                                  timeout=60).completions.create(**short).choices[0].text
        for sock in idle:
            sock.close()
        report("10,000 idle connections: requests still answered",
               got_short == want_short and client.completions.create(**short).choices[0].text == want_short)

        # A non-streaming request whose client goes away is cancelled.
        cancelled = metric(port, "mvc_cancelled_total")
        sock = socket.create_connection(("127.0.0.1", port))
        # (16 choices of 4000 tokens: seconds of work on this tiny model.)
        body = json.dumps({"model": "window512", "prompt": first[:40], "max_tokens": 4000, "n": 16,
                           "temperature": 0}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(0.3)
        sock.close()
        deadline, gone, used = time.time() + 20, False, -1
        while time.time() < deadline and not gone:
            time.sleep(0.1)
            used = metric(port, "mvc_kv_pages_used")
            gone = metric(port, "mvc_cancelled_total") > cancelled and used == 0
        report("a non-streaming request whose client left is cancelled, its pages freed", gone,
               f"{used} pages in use")
    finally:
        serve_process.stop(server)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
