#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc), leak detection on, in build-asan/: any report fails the test that
# triggered it (-fno-sanitize-recover). Run by .ci/run after the ordinary
# suite; docs/TESTING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
mkdir -p build-asan
{ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$flags" &&
  cmake --build build-asan -j "$(nproc)"; } > build-asan/build.log 2>&1 || { cat build-asan/build.log; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -j 2 "$@"
