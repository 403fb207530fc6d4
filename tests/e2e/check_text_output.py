#!/usr/bin/env python3
"""check_text_output.py TOKENIZER.json STDOUT_FILE

STDOUT_FILE is what `mvc-run ... -p TEXT --print-ids` printed for one prompt: the generated
text, a newline, then the generated ids. The text must be the ids decoded with special
tokens left out. Decoded here without the tokenizer library, for byte-level BPE tokenizers
only: each token's characters map back to bytes (GPT-2's byte-to-unicode table), and the
bytes are read as UTF-8 with U+FFFD for ill-formed sequences, as the `tokenizers` library
decodes."""
import json
import sys


def byte_decoder():
    bytes_ = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = list(bytes_)
    extra = 0
    for b in range(256):
        if b not in bytes_:
            bytes_.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(bytes_, chars)}


tokenizer = json.load(open(sys.argv[1], encoding="utf-8"))
output = open(sys.argv[2], encoding="utf-8", errors="surrogateescape").read()
if tokenizer["model"]["type"] != "BPE" or tokenizer["decoder"]["type"] != "ByteLevel":
    sys.exit("only byte-level BPE tokenizers are supported")
assert output.endswith("\n"), "stdout must end with a newline"
text, ids_line = output[:-1].rsplit("\n", 1)
ids = [int(t) for t in ids_line.split()]

tokens = {id_: token for token, id_ in tokenizer["model"]["vocab"].items()}
special = {t["id"] for t in tokenizer["added_tokens"] if t["special"]}
tokens.update({t["id"]: t["content"] for t in tokenizer["added_tokens"]})
to_byte = byte_decoder()
data = b"".join(bytes(to_byte[c] for c in tokens[i]) for i in ids
                if i in tokens and i not in special)
expected = data.decode("utf-8", errors="replace")
if text != expected:
    sys.exit(f"text {text!r} is not the decode of {ids}: {expected!r}")
print(f"text of {len(ids)} ids: ok")
