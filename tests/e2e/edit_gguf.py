#!/usr/bin/env python3
"""edit_gguf.py SRC.gguf OUT.gguf [--string KEY VALUE] [--tensor-type NAME TYPE]
                 [--tensor-offset NAME OFFSET] [--tensor-count N]
                 [--truncate-in-data NAME] [--truncate-at BYTES]

Writes an edited copy of a GGUF file, for tests of the GGUF reader and importer: set a
string metadata value (e.g. general.architecture), retag a tensor's ggml type id (the bytes
stay, so pick a type of the same block size), make a tensor's offset lie, make the tensor
count in the header lie (the tensor infos stay as they are), or cut the file in the middle
of a tensor's data or at a byte count. The header is rewritten and the data area re-aligned,
so edits that change its length keep the offsets valid. Uses struct only (no gguf package)."""
import argparse
import struct

SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "B", 10: "Q", 11: "q", 12: "d"}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        value = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return value[0]

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s

    def skip_value(self, vtype):
        if vtype == 8:
            self.string()
        elif vtype == 9:
            etype, count = self.take("I"), self.take("Q")
            for _ in range(count):
                self.skip_value(etype)
        else:
            self.pos += struct.calcsize("<" + SCALAR[vtype])


def pack_string(s):
    return struct.pack("<Q", len(s)) + s


def read(path):
    data = open(path, "rb").read()
    r = Reader(data)
    magic, version, n_tensors, n_keys = r.take("I"), r.take("I"), r.take("Q"), r.take("Q")
    assert magic == 0x46554747, "not a GGUF file"
    kvs = []  # (key, type, raw value bytes)
    alignment = 32
    for _ in range(n_keys):
        key, vtype = r.string(), r.take("I")
        start = r.pos
        r.skip_value(vtype)
        raw = data[start:r.pos]
        if key == b"general.alignment":
            alignment = struct.unpack("<" + SCALAR[vtype], raw)[0]
        kvs.append([key, vtype, raw])
    tensors = []  # [name, dims, type, offset]
    for _ in range(n_tensors):
        name, rank = r.string(), r.take("I")
        dims = [r.take("Q") for _ in range(rank)]
        tensors.append([name, dims, r.take("I"), r.take("Q")])
    data_start = (r.pos + alignment - 1) // alignment * alignment
    return version, kvs, tensors, alignment, data[data_start:]


def write(version, kvs, tensors, alignment, body, n_tensors=None):
    out = struct.pack("<IIQQ", 0x46554747, version,
                      len(tensors) if n_tensors is None else n_tensors, len(kvs))
    for key, vtype, raw in kvs:
        out += pack_string(key) + struct.pack("<I", vtype) + raw
    for name, dims, ttype, offset in tensors:
        out += pack_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ttype, offset)
    out += b"\0" * (-len(out) % alignment)
    return out, len(out)


p = argparse.ArgumentParser()
p.add_argument("src")
p.add_argument("out")
p.add_argument("--string", nargs=2, metavar=("KEY", "VALUE"), action="append", default=[])
p.add_argument("--tensor-type", nargs=2, metavar=("NAME", "TYPE"), action="append", default=[])
p.add_argument("--tensor-offset", nargs=2, metavar=("NAME", "OFFSET"), action="append",
               default=[])
p.add_argument("--tensor-count", type=int)
p.add_argument("--truncate-in-data", metavar="NAME")
p.add_argument("--truncate-at", type=int)
args = p.parse_args()

version, kvs, tensors, alignment, body = read(args.src)
by_name = {t[0].decode(): t for t in tensors}
for key, value in args.string:
    entry = next(kv for kv in kvs if kv[0] == key.encode())
    assert entry[1] == 8, key + " is not a string"
    entry[2] = pack_string(value.encode())
for name, ttype in args.tensor_type:
    by_name[name][2] = int(ttype)
for name, offset in args.tensor_offset:
    by_name[name][3] = int(offset)
out, data_start = write(version, kvs, tensors, alignment, body, args.tensor_count)
out += body
if args.truncate_in_data:
    # Half-way through the tensor's data (it starts at data_start + its offset).
    t = by_name[args.truncate_in_data]
    following = [u[3] for u in tensors if u[3] > t[3]]
    end = min(following) if following else len(body)
    out = out[:data_start + (t[3] + end) // 2]
if args.truncate_at is not None:
    out = out[:args.truncate_at]
open(args.out, "wb").write(out)
