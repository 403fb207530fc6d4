#!/usr/bin/env python3
"""list_sections.py ART.mvc: prints the section names of an artifact, one per line
(header and table layout: runtime/artifact/FORMAT.md)."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
count = struct.unpack_from("<I", data, 12)[0]
for i in range(count):
    print(data[64 + 64 * i:64 + 64 * i + 32].rstrip(b"\0").decode())
