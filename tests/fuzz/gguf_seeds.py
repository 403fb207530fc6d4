#!/usr/bin/env python3
"""gguf_seeds.py FIXTURES_DIR OUT_DIR: seed files for gguf_fuzz (tests/fuzz/run_fuzz.sh).

Copies the tiny Gemma 3 GGUF and writes one small GGUF per quantized block fixture of the
dequantizer tests (tests/fixtures/gguf_quant/<TYPE>.blocks.npy, one tensor of that type
holding those blocks), so the fuzzer starts from every format mvc dequantizes."""
import os
import shutil
import struct
import sys

import numpy as np

TYPES = {"F32": (0, 1), "F16": (1, 1), "Q4_0": (2, 32), "Q4_1": (3, 32), "Q5_0": (6, 32),
         "Q5_1": (7, 32), "Q8_0": (8, 32), "Q2_K": (10, 256), "Q3_K": (11, 256),
         "Q4_K": (12, 256), "Q5_K": (13, 256), "Q6_K": (14, 256), "BF16": (30, 1)}

fixtures, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
shutil.copy(os.path.join(fixtures, "gguf_tiny", "gemma3-tiny.gguf"), out)
for name, (type_id, block) in TYPES.items():
    path = os.path.join(fixtures, "gguf_quant", name + ".blocks.npy")
    if not os.path.exists(path):
        continue
    blocks = np.load(path)
    raw = blocks.tobytes()
    count = blocks.shape[0] * block
    s = lambda t: struct.pack("<Q", len(t)) + t
    head = struct.pack("<4sIQQ", b"GGUF", 3, 1, 1)
    head += s(b"general.architecture") + struct.pack("<I", 8) + s(b"gemma3")
    head += s(b"w") + struct.pack("<IQIQ", 1, count, type_id, 0)
    head += b"\0" * (-len(head) % 32)
    open(os.path.join(out, name + ".gguf"), "wb").write(head + raw)
