#!/usr/bin/env bash
# The OpenMP code under a race detector, in build-race/: ThreadSanitizer
# with LLVM's OpenMP runtime and its Archer tool (clang, libomp-14-dev),
# which tells ThreadSanitizer what OpenMP's barriers, reductions and tasks
# order, so that it reports real data races and not the runtime's own
# synchronisation (gcc's libgomp is not instrumented: ThreadSanitizer on it
# reports false races). The program runs, on 2 and 3 threads, scenarios that
# drive every threaded part: both kernels, the cascade with its PD-preserving
# calibration, three years with pools, importance sampling, sums by chunk
# instead of segments per path, the ES tail's replays and the loans'
# contributions. (The criterion unit tests cannot run under
# ThreadSanitizer: criterion's shared arena collides with its memory map.)
# Any report fails (exit code 66). docs/TESTING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
llvm=/usr/lib/llvm-14/lib
[ -f "$llvm/libarcher.so" ] || { echo "race.sh: $llvm/libarcher.so missing (Debian package libomp-14-dev)"; exit 1; }
mkdir -p build-race
{ CC=clang cmake -S . -B build-race -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASCADE_TESTS=OFF \
    -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
    -DOpenMP_C_FLAGS="-fopenmp=libomp" -DOpenMP_C_LIB_NAMES=omp -DOpenMP_omp_LIBRARY="$llvm/libomp.so" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath,$llvm" &&
  cmake --build build-race -j "$(nproc)" --target cascade; } > build-race/build.log 2>&1 || { cat build-race/build.log; exit 1; }
export OMP_TOOL_LIBRARIES=$llvm/libarcher.so
export TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=1 exitcode=66"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'extends: %s/scenarios/baseline_contagion.yaml\nname: chunks\noutput: {per_path: [region, sector]}\nmodel: {lgd: beta}\n' "$PWD" > "$tmp/chunks.yaml"
runs=(
  "scenarios/baseline.yaml --loans 20000 --paths 2000"
  "scenarios/baseline.yaml --loans 20000 --paths 500 --kernel dense"
  "scenarios/baseline_contagion.yaml --loans 20000 --paths 1000"
  "scenarios/baseline_3y.yaml --loans 20000 --paths 500"
  "scenarios/macro_severe.yaml --loans 20000 --paths 500 --importance-sampling 0.999"
  "$tmp/chunks.yaml --loans 20000 --paths 1003 --importance-sampling 0.99"
)
n=0
for threads in 2 3; do
  for r in "${runs[@]}"; do
    read -r -a args <<< "$r"
    build-race/cascade run "${args[@]}" --threads "$threads" -q -o "$tmp/r.h5" ||
      { echo "race.sh: FAIL ($?): cascade run $r --threads $threads"; exit 1; }
    n=$((n + 1))
  done
done
echo "race.sh: $n runs under ThreadSanitizer with Archer, no data race reported"
