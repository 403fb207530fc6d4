#!/usr/bin/env bash
# Installs what mvc needs on a Debian 12 machine (apt and pip), then configures and builds
# everything into build/ inside the checkout (--packages-only: the packages alone). Safe
# to re-run: it installs only what is missing and the build is incremental (ccache across
# clean checkouts).
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(g++ cmake ninja-build ccache pkg-config python3 python3-pip python3-numpy
          llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
          nlohmann-json3-dev libabsl-dev libgtest-dev libpcre2-dev libutf8proc-dev zlib1g-dev
          libjpeg62-turbo-dev libpng-dev
          libavformat-dev libavcodec-dev libswscale-dev libavutil-dev clang-22 libclang-rt-22-dev libcpp-httplib-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The test scripts (goldens, lit helpers) need numpy in the python3 found first on PATH
# (Debian's python3-numpy covers /usr/bin/python3; a pyenv or other python gets it from
# pip, allowed past PEP 668 where the system python is first on PATH without numpy).
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy 2>/dev/null ||
  python3 -m pip install -q --break-system-packages numpy
# The official OpenAI client drives mvc-serve in tests/e2e/serve.test.
python3 -c "import openai" 2>/dev/null || python3 -m pip install -q openai 2>/dev/null ||
  python3 -m pip install -q --break-system-packages openai
# cuobjdump and nvdisasm (not in the CUDA toolkit install) for the cuda static checks: the
# binaries land in site-packages/nvidia/cu13/bin, where tools/scripts/cuda_kernel_report.py
# looks for them.
cuda_tools=(nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm)
python3 -m pip show -q "${cuda_tools[@]}" >/dev/null 2>&1 ||
  python3 -m pip install -q "${cuda_tools[@]}" 2>/dev/null ||
  python3 -m pip install -q --break-system-packages "${cuda_tools[@]}"

# -Werror for mvc's own sources only (MVC_WERROR): a new warning fails the build here and in CI.
[ "${1:-}" = "--packages-only" ] && exit 0
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release -DMVC_WERROR=ON >/dev/null
cmake --build build
