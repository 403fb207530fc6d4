#!/usr/bin/env python3
"""dump_section.py ART.mvc NAME: writes the payload of one artifact section to stdout
(section table layout: runtime/artifact/FORMAT.md); exit 1 when there is no such section."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
count = struct.unpack_from("<I", data, 12)[0]
for i in range(count):
    entry = 64 + 64 * i
    if data[entry:entry + 32].rstrip(b"\0").decode() == sys.argv[2]:
        offset, size = struct.unpack_from("<QQ", data, entry + 32)
        sys.stdout.buffer.write(data[offset:offset + size])
        sys.exit(0)
sys.exit(f"no section {sys.argv[2]}")
