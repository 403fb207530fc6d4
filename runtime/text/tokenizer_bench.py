#!/usr/bin/env python3
"""Encoding throughput of mvc_text_bench beside the reference `tokenizers` library, one thread.

usage: tokenizer_bench.py BUILD_DIR [FIXTURES_DIR]
Needs `pip install tokenizers`. Corpora: the golden texts joined, and a 10 MB text made by
shuffling the golden texts' lines (seeded) until 10 MB. Both sides encode the same bytes
without special tokens and must produce the same ids (compared by an FNV-1a hash).
"""
import json, os, random, subprocess, sys, tempfile, time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402

build = sys.argv[1]
fixtures = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(__file__), "../../../shared/fixtures/tokenizers")
bench = os.path.join(build, "bin", "mvc_text_bench")

def corpora(name):
    texts = [json.loads(l)["text"] for l in open(os.path.join(fixtures, name, "golden-tokens.jsonl"))]
    golden = "\n".join(texts)
    lines = [l for t in texts for l in t.split("\n")]
    rng = random.Random(1234)
    parts, size = [], 0
    while size < 10_000_000:
        line = rng.choice(lines)
        parts.append(line)
        size += len(line.encode()) + 1
    return [("golden corpus", golden), ("10 MB text", "\n".join(parts))]

for name in ["qwen3", "gemma3"]:
    path = os.path.join(fixtures, name, "tokenizer.json")
    reference = Tokenizer.from_file(path)
    for label, text in corpora(name):
        data = text.encode()
        best, ids = 1e30, []
        for _ in range(3):
            start = time.perf_counter()
            ids = reference.encode(text, add_special_tokens=False).ids
            best = min(best, time.perf_counter() - start)
        fnv = 1469598103934665603
        for c in ",".join(map(str, ids)).encode():
            fnv = ((fnv ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
            f.write(data)
        out = subprocess.run([bench, path, f.name, "3"], capture_output=True, text=True, check=True).stdout
        os.unlink(f.name)
        mine = dict(kv.split("=") for kv in out.split())
        print(f"{name:7s} {label:14s} {len(data)/1e6:6.2f} MB  tokenizers {len(data)/best/1e6:7.2f} MB/s"
              f"  mvc {float(mine['mb_per_s']):7.2f} MB/s  {len(ids)} tokens"
              f"  ids {'identical' if int(mine['fnv']) == fnv else 'DIFFER'}")
