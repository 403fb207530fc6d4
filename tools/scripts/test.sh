#!/usr/bin/env bash
# The whole test suite: set up and build, then every gtest binary and the lit suite
# (dialect, passes, compile | run | compare goldens) through ctest, then a short fuzzing
# run (ASan + UBSan) of every parser of user input (tests/fuzz/run_fuzz.sh; a fixed seed,
# 10000 runs per target, at most $MVC_FUZZ_SECONDS (20) s; any finding fails).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
cd build
ctest --output-on-failure -j2
cd ..
MVC_FUZZ_DIR=build/fuzz MVC_FUZZ_SEED=${MVC_FUZZ_SEED:-1} MVC_FUZZ_RUNS=${MVC_FUZZ_RUNS:-10000} \
  sh tests/fuzz/run_fuzz.sh "${MVC_FUZZ_SECONDS:-20}"
