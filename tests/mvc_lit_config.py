# lit configuration of mvc (loaded by the generated lit.site.cfg.py; not named lit.cfg.py
# so that lit does not take tests/ for a suite of its own). Tests live next to the code.
import os
import lit.formats

config.name = "mvc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = config.mvc_src_root
config.test_exec_root = os.path.join(config.mvc_obj_root, "tests")
config.excludes = ["Inputs", "fixtures", "build", "runtime", ".git", ".ci"] + [
    d for d in os.listdir(config.mvc_src_root) if d.startswith("build")
]
config.environment["PATH"] = os.pathsep.join(
    [config.mvc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])]
)
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%goldens", os.path.join(config.mvc_src_root, "tests", "golden")))

# cuda-driver: libcuda.so.1 loads here (a GPU machine); tests of the no-driver path skip.
try:
    import ctypes
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    pass

# cpu-amx: this CPU has AMX bf16 tiles (and avx512_bf16), so `--cpu native` emits them.
try:
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    if {"amx_tile", "amx_bf16", "avx512_bf16", "avx512f"} <= set(flags):
        config.available_features.add("cpu-amx")
    # cpu-int8-dot: `--cpu native` gives block-format matmuls of few rows int8 activations
    # and vpdpbusd (compiler/Codegen/CPU/LowerToObject.cpp: avx512_vnni and avx512_vbmi).
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512vbmi"} <= set(flags):
        config.available_features.add("cpu-int8-dot")
except OSError:
    pass

# The cuda static checks need ptxas (the CUDA toolkit) and cuobjdump (the toolkit, or PyPI's
# nvidia-cuda-cuobjdump, which tools/scripts/setup.sh installs into the python lit runs).
import subprocess

if subprocess.run([config.python_executable,
                   os.path.join(config.mvc_src_root, "tools", "scripts", "cuda_kernel_report.py"),
                   "--find-tools"], capture_output=True).returncode == 0:
    config.available_features.add("cuda-tools")
