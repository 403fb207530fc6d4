#!/usr/bin/env python3
"""check_undefined.py LIB.so: fails when the library has undefined symbols beyond the
libc/libm functions kernels may call (the runtime's process provides those)."""
import re
import subprocess
import sys

ALLOWED = {"memcpy", "memmove", "memset", "sinf", "cosf", "sincosf", "expf", "logf",
           "tanhf", "erff", "powf", "sqrtf", "exp2f", "log2f", "fmaf", "__cxa_finalize"}
out = subprocess.run(["nm", "-u", "--format=just-symbols", sys.argv[1]], check=True,
                     capture_output=True, text=True).stdout.split()
names = [re.sub(r"@.*", "", s) for s in out]
bad = sorted(set(n for n in names if n not in ALLOWED and not n.startswith("_ITM_")
                 and n not in ("__gmon_start__",)))
print(f"{sys.argv[1]}: undefined {sorted(set(names))}")
if bad:
    sys.exit(f"FAIL: undefined symbols beyond libc/libm: {bad}")
