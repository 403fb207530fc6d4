#!/usr/bin/env python3
"""check_artifact_tokenizer.py MVC_TOKENIZE ARTIFACT REFERENCE.json

The tokenizer an artifact carries (its tokenizer.json and tokenizer_config.json sections,
e.g. converted from a GGUF vocabulary) against a reference tokenizer's outputs: each of
REFERENCE's "texts" must encode (without special tokens) to its ids, and each prompt's
"question" rendered as one user turn with the generation prompt by the artifact's chat
template must encode to the prompt's "ids"."""
import json
import os
import struct
import subprocess
import sys
import tempfile

mvc_tokenize, artifact, reference = sys.argv[1:4]
data = open(artifact, "rb").read()
sections = {}
for i in range(struct.unpack_from("<I", data, 12)[0]):
    entry = 64 + 64 * i
    offset, size = struct.unpack_from("<QQ", data, entry + 32)
    sections[data[entry:entry + 32].rstrip(b"\0").decode()] = data[offset:offset + size]
ref = json.load(open(reference))
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for name in ("tokenizer.json", "tokenizer_config.json"):
        open(os.path.join(tmp, name), "wb").write(sections[name])

    def run(flags, lines):
        r = subprocess.run([mvc_tokenize, "--tokenizer", tmp] + flags, input="".join(
            json.dumps(line) + "\n" for line in lines), capture_output=True, text=True, check=True)
        return [json.loads(line) for line in r.stdout.splitlines()]

    got = run(["--no-special"], [{"text": t["text"]} for t in ref["texts"]])
    for t, g in zip(ref["texts"], got):
        ok = g.get("ids") == t["ids"]
        failures += not ok
        print(f"text {t['text'][:24]!r}: {len(t['ids'])} ids {'identical' if ok else 'DIFFER: ' + str(g)}")
    chats = [{"messages": [{"role": "user", "content": p["question"]}], "add_generation_prompt": True}
             for p in ref["prompts"]]
    rendered = run(["--chat"], chats)
    encoded = run(["--no-special"], [{"text": r.get("rendered", "")} for r in rendered])
    for p, r, e in zip(ref["prompts"], rendered, encoded):
        ok = e.get("ids") == p["ids"]
        failures += not ok
        print(f"chat {p['question'][:24]!r}: {len(p['ids'])} ids {'identical' if ok else 'DIFFER: ' + str(r)}")
if failures:
    sys.exit(f"FAIL: {failures} encodings differ from the reference tokenizer")
