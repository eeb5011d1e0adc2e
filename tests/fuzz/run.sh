#!/bin/bash
# tests/fuzz/run.sh [SECONDS] [TARGET...]: builds the fuzz targets with
# clang (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) into
# build-fuzz/ and runs each for SECONDS (default 60) on its seed corpus.
# Fails (exit 1) if any target finds a crash, hang, leak or sanitizer
# report; the input that caused it is left in build-fuzz/findings/.
# TARGET: scenario, portfolio, links, manifest (default: all). JOBS=2 runs
# two targets at a time (default 1). Not part of ctest: see docs/FUZZING.md.
set -euo pipefail

seconds=${1:-60}
shift || true
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$src/build-fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario portfolio links manifest)
jobs=${JOBS:-1}

export CC=clang
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

# The library, instrumented for coverage (fuzzer-no-link) and sanitized.
cmake -S "$src" -B "$out/lib" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASCADE_TESTS=OFF \
  -DCMAKE_C_FLAGS="$flags -fsanitize=fuzzer-no-link" -DCMAKE_C_FLAGS_RELWITHDEBINFO="" >/dev/null
cmake --build "$out/lib" --target cascade_tools -j2 >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

libs="$out/lib/libcascade_tools.a $out/lib/libcascade_core.a -fopenmp"
libs="$libs $(pkg-config --libs yaml-0.1 jansson libcrypto hdf5-serial) -lhdf5_hl -lm"
# every folder of the two libraries is on the include path, as in CMakeLists.txt
includes=()
for d in "$src"/sim/core "$src"/sim/input "$src"/sim/engine "$src"/sim/output "$src"/sim/tools \
         "$src"/models "$src"/models/*/; do
  includes+=(-I"$d")
done
for t in "${targets[@]}"; do
  clang $flags -D_GNU_SOURCE -fsanitize=fuzzer -Wall -Wextra \
    "${includes[@]}" -I"$out/lib/generated" $(pkg-config --cflags hdf5-serial) \
    -DCASCADE_TEST_DATA="\"$src/tests/data\"" \
    "$src/tests/fuzz/fuzz_$t.c" $libs -o "$out/fuzz_$t"
done

# Seed corpora: copied, so that what the fuzzer adds stays in build-fuzz/.
seed() {
  local dir=$out/corpus/$1
  shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed_$(basename "$(dirname "$f")")_$(basename "$f")"; done
  return 0
}
seed scenario "$src"/scenarios/*.yaml "$src"/tests/data/bad_yaml/*.yaml "$src"/tests/data/bad_yaml/bases/*.yaml
seed portfolio "$src"/tests/data/bad_csv/*.csv "$src"/tests/data/good_small.csv "$src"/tests/data/bad_links/portfolio.csv.in
seed links "$src"/tests/data/bad_links/*.csv "$src"/tests/data/good_links.csv
mkdir -p "$out/corpus/manifest"
seed manifest "$src"/tests/data/manifest/*.json

mkdir -p "$out/findings"
run() {
  local t=$1 dict=
  [ -f "$src/tests/fuzz/$t.dict" ] && dict=-dict=$src/tests/fuzz/$t.dict
  ( cd "$out/findings" &&
    OMP_NUM_THREADS=1 "$out/fuzz_$t" $dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -artifact_prefix="$out/findings/${t}-" -print_final_stats=1 \
      "$out/corpus/$t" >"$out/fuzz_$t.log" 2>&1 )
}
status=0
pids=()
names=()
for t in "${targets[@]}"; do
  run "$t" & pids+=($!); names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || { echo "fuzz_${names[0]}: FAILED, see $out/fuzz_${names[0]}.log"; status=1; }
    pids=("${pids[@]:1}"); names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "fuzz_${names[$i]}: FAILED, see $out/fuzz_${names[$i]}.log"; status=1; }
done
for t in "${targets[@]}"; do
  printf '%-10s %s\n' "$t" "$(grep -E '^(#[0-9]+).*(DONE|pulse|NEW)' "$out/fuzz_$t.log" | tail -1)"
done
exit $status
