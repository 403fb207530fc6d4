#!/usr/bin/env python3
"""cuda_kernel_report.py ART.mvc [--check] [--tensor-cores KIND,...]

The static checks of the cuda kernels of an artifact compiled with
`mvc-compile --target cuda:sm_80,cuda:sm_90a`:
  - ptxas -v on the artifact's PTX (kernels.cuda.compute_80) for sm_80 and sm_90a:
    registers, shared memory, stack frame, spill stores/loads of every kernel;
  - cuobjdump (the toolkit's, or PyPI's nvidia-cuda-cuobjdump) on the artifact's cubins:
    local memory per thread (0 unless something spilled) and the SASS, which must hold
    tensor-core instructions (HMMA or HGMMA) for the dispatch kinds given with --tensor-cores
    (the table also counts ldmatrix, LDSM, and cp.async, LDGSTS);
  - an occupancy estimate for sm_80 (resident blocks per SM from threads, registers and
    shared memory; the fraction of the SM's 64 warps they fill).
Prints one row per kernel and arch. With --check, exits 1 on any spill, local memory or
missing tensor-core instruction, naming the kernel."""
import argparse
import glob
import json
import os
import re
import shutil
import site
import struct
import subprocess
import sys
import tempfile


def sections(path):
    data = open(path, "rb").read()
    count = struct.unpack_from("<I", data, 12)[0]
    out = {}
    for i in range(count):
        entry = 64 + 64 * i
        name = data[entry:entry + 32].rstrip(b"\0").decode()
        offset, size = struct.unpack_from("<QQ", data, entry + 32)
        out[name] = data[offset:offset + size]
    return out


def find_tool(name, required=True):
    """The toolkit's tool, else the one a PyPI nvidia-* package put under site-packages
    (nvidia-cuda-cuobjdump installs nvidia/cu13/bin/cuobjdump)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/local/cuda/bin")
    if found:
        return found
    for root in site.getsitepackages() + [site.getusersitepackages()]:
        for candidate in glob.glob(os.path.join(root, "nvidia", "*", "bin", name)):
            return candidate
    if required:
        sys.exit(f"{name} not found: install the CUDA toolkit or pip install nvidia-cuda-{name}")
    return None


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout + out.stderr


def ptxas_report(ptxas, ptx, arch):
    """kernel -> {regs, smem, stack, spill_stores, spill_loads} from `ptxas -v`."""
    info, current = {}, None
    for line in run([ptxas, f"-arch={arch}", "-O3", "-v", ptx, "-o", os.devnull]).splitlines():
        m = re.search(r"Function properties for (\S+)", line)
        if m:
            current = info.setdefault(m.group(1), {"smem": 0})
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and current is not None:
            current["stack"], current["spill_stores"], current["spill_loads"] = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m and current is not None:
            current["regs"] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            current["smem"] = int(s.group(1)) if s else 0
    return info


def cubin_report(cuobjdump, cubin):
    """kernel -> {local, tc, ldsm, ldgsts}: local memory per thread and the counts of
    tensor-core (HMMA/HGMMA), ldmatrix (LDSM) and cp.async (LDGSTS) instructions."""
    info = {}
    current = None
    for line in run([cuobjdump, "-res-usage", cubin]).splitlines():
        m = re.search(r"Function (\S+):", line)
        if m:
            current = info.setdefault(m.group(1), {"tc": 0, "ldsm": 0, "ldgsts": 0})
        m = re.search(r"LOCAL:(\d+)", line)
        if m and current is not None:
            current["local"] = int(m.group(1))
    current = None
    for line in run([cuobjdump, "-sass", cubin]).splitlines():
        m = re.search(r"Function : (\S+)", line)
        if m:
            current = info.setdefault(m.group(1), {"tc": 0, "ldsm": 0, "ldgsts": 0, "local": 0})
        elif current is not None:
            if re.search(r"\b(HMMA|HGMMA)\.", line):
                current["tc"] += 1
            elif re.search(r"\bLDSM\.", line):
                current["ldsm"] += 1
            elif re.search(r"\bLDGSTS\b", line):
                current["ldgsts"] += 1
    return info


def occupancy_sm80(threads, regs, smem_bytes):
    """Resident blocks per SM on sm_80 and the fraction of its 64 warps they keep busy."""
    warps = (threads + 31) // 32
    regs_per_warp = (max(regs, 1) * 32 + 255) // 256 * 256
    by_regs = 65536 // (regs_per_warp * warps)
    by_smem = 167936 // (smem_bytes + 1024) if smem_bytes else 32
    blocks = min(32, 2048 // threads, by_regs, by_smem)
    return blocks, blocks * warps / 64


def kind_of(kernel):
    return "kv_write" if kernel.endswith("_kv_write") else kernel.rsplit("_", 1)[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", nargs="?")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--tensor-cores", default="", help="dispatch kinds whose SASS must hold HMMA/HGMMA")
    parser.add_argument("--archs", default="sm_80,sm_90a",
                        help="the architectures to assemble for (the artifact holds their cubins)")
    parser.add_argument("--find-tools", action="store_true",
                        help="only check that ptxas and cuobjdump are there (exit 0 if so)")
    args = parser.parse_args()
    if args.find_tools:
        sys.exit(0 if find_tool("ptxas", False) and find_tool("cuobjdump", False) else 1)
    if not args.artifact:
        parser.error("needs ART.mvc")
    tc_kinds = [k for k in args.tensor_cores.split(",") if k]
    art = sections(args.artifact)
    manifest = json.loads(art["manifest"])
    threads = {}
    for program in manifest["programs"]:
        for step in program["steps"]:
            if step["kind"] == "dispatch":
                b = step["block"]
                threads[step["kernel"]] = b[0] * b[1] * b[2]
    ptxas, cuobjdump = find_tool("ptxas"), find_tool("cuobjdump")
    problems = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ptx = os.path.join(tmp, "kernels.ptx")
        open(ptx, "wb").write(art["kernels.cuda.compute_80"])
        for arch in args.archs.split(","):
            cubin = os.path.join(tmp, f"{arch}.cubin")
            open(cubin, "wb").write(art[f"kernels.cuda.{arch}"])
            ptxas_info, cubin_info = ptxas_report(ptxas, ptx, arch), cubin_report(cuobjdump, cubin)
            for kernel in sorted(threads):
                p, c = ptxas_info.get(kernel), cubin_info.get(kernel)
                if p is None or c is None:
                    problems.append(f"{kernel} ({arch}): not in the PTX or the cubin")
                    continue
                blocks = occ = ""
                if arch == "sm_80":
                    blocks, frac = occupancy_sm80(threads[kernel], p["regs"], p["smem"])
                    occ = f"{frac:.0%}"
                rows.append((kernel, arch, p["regs"], p["smem"], p["stack"],
                             f"{p['spill_stores']}/{p['spill_loads']}", c["local"], threads[kernel],
                             blocks, occ, c["tc"], c["ldsm"], c["ldgsts"]))
                if p["spill_stores"] or p["spill_loads"] or c["local"]:
                    problems.append(f"{kernel} ({arch}): {p['spill_stores']} bytes spill stores, "
                                    f"{p['spill_loads']} bytes spill loads, {c['local']} bytes local memory")
                if kind_of(kernel) in tc_kinds and c["tc"] == 0:
                    problems.append(f"{kernel} ({arch}): no HMMA/HGMMA in its SASS")
    header = ("kernel", "arch", "regs", "smem", "stack", "spill st/ld", "local", "threads",
              "blk/SM80", "occ80", "tc ops", "ldsm", "ldgsts")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in sorted(rows):
        print("| " + " | ".join(str(x) for x in row) + " |")
    for p in problems:
        print(f"cuda_kernel_report: {p}", file=sys.stderr)
    if args.check and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
