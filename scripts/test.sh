#!/usr/bin/env bash
# Builds cascade and runs the whole test suite (criterion unit tests, the
# command-line tests and the Python tests) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j 2 "$@"
