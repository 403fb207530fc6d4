#!/usr/bin/env bash
# The sanitizer run (issue 21): everything built with AddressSanitizer + UBSan in
# build-asan/ (-DMVC_ENABLE_ASAN=ON, separate from build/), then every gtest binary and a
# lit subset of the tools' error paths and one end-to-end model per family, cpu and
# cuda-emu. Any report (memory error, leak in the runtime's tests, undefined behaviour)
# fails the run. Not part of CI (a second full build); run it before a release or after
# touching a parser or the executor:
#
#   bash tools/scripts/sanitize.sh                      # ~25 min cold on 2 cores
#   MVC_SANITIZE_LIT='gemma3_text' bash tools/scripts/sanitize.sh   # another lit subset
#
# Kernels the compiler generates are not instrumented (they are checked by the golden
# tests and, for the gpu path, by cuda-emu's shared-memory checks); everything that calls
# them is.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh --packages-only
cmake -G Ninja -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMVC_ENABLE_ASAN=ON \
  -DMVC_WERROR=ON >/dev/null
cmake --build build-asan
cd build-asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The gtests check for leaks too; LLVM's and MLIR's process-lifetime globals in the
# compiler tools are not leaks of ours, so lit runs without leak checks.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ctest -E '^lit$' --output-on-failure -j2
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 /usr/lib/llvm-22/bin/lit -sv tests \
  --filter "${MVC_SANITIZE_LIT:-compile-errors|gemma3_text_errors|gguf_errors|mvc-bench|gemma3_text.test|gemma3_multimodal.test|llama_text|idefics3|cuda_emu}"
echo "sanitize: no findings"
