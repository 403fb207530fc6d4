#!/usr/bin/env bash
# The whole test suite: set up and build, then every gtest binary and the lit suite
# (dialect, passes, compile | run | compare goldens) through ctest.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
cd build
ctest --output-on-failure -j2
