#!/usr/bin/env python3
"""edit_safetensors.py SRC.safetensors OUT_DIR [--prefix OLD NEW] [--drop NAME]
                       [--dtype NAME DTYPE] [--shards N]

Writes an edited copy of a safetensors checkpoint into OUT_DIR, for tests of the
checkpoint reader and weight adapter: rename a name prefix (e.g. "model." to
"model.language_model."), drop a tensor, relabel a tensor's dtype (the bytes stay, so
e.g. F32 -> I32 keeps the size), or split into N shards with a
model.safetensors.index.json. The format is simple enough to edit with json + struct."""
import argparse
import json
import os
import struct


def read(path):
    data = open(path, "rb").read()
    n = struct.unpack_from("<Q", data, 0)[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", None)
    tensors = {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
               for k, v in header.items()}
    return meta, tensors


def write(path, meta, tensors):
    header, body = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for k, (dtype, shape, raw) in tensors.items():
        header[k] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


p = argparse.ArgumentParser()
p.add_argument("src")
p.add_argument("out")
p.add_argument("--prefix", nargs=2)
p.add_argument("--drop")
p.add_argument("--dtype", nargs=2)
p.add_argument("--shards", type=int, default=1)
a = p.parse_args()
meta, tensors = read(a.src)
if a.prefix:
    tensors = {(a.prefix[1] + k[len(a.prefix[0]):] if k.startswith(a.prefix[0]) else k): v
               for k, v in tensors.items()}
if a.drop:
    del tensors[a.drop]
if a.dtype:
    d, s, raw = tensors[a.dtype[0]]
    tensors[a.dtype[0]] = (a.dtype[1], s, raw)
os.makedirs(a.out, exist_ok=True)
if a.shards == 1:
    write(os.path.join(a.out, "model.safetensors"), meta, tensors)
else:
    names = list(tensors)
    weight_map = {}
    for i in range(a.shards):
        part = names[i::a.shards]
        fname = f"model-{i + 1:05d}-of-{a.shards:05d}.safetensors"
        write(os.path.join(a.out, fname), meta, {k: tensors[k] for k in part})
        weight_map.update({k: fname for k in part})
    json.dump({"metadata": {}, "weight_map": weight_map},
              open(os.path.join(a.out, "model.safetensors.index.json"), "w"), indent=1)
