#!/usr/bin/env bash
# Configures and builds cascade (Release) in build/; prints the log only if
# something fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
log=build/build.log
{ cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j "$(nproc)"; } > "$log" 2>&1 \
  || { cat "$log"; exit 1; }
