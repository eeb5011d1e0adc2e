#!/bin/bash
# tests/fuzz/run.sh [SECONDS] [TARGET...]: builds the fuzz targets with
# clang (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) into
# build-fuzz/ and runs each for SECONDS (default 60) on its seed corpus.
# Fails (exit 1) if any target finds a crash, hang, leak or sanitizer
# report; the input that caused it is left in build-fuzz/findings/. For
# `result`, whose reports include HDF5's own faults, every report is kept
# and sorted out (findings/result-triage.txt, see triage below); it fails
# on those in our code or unclear.
# TARGET: scenario, portfolio, links, manifest, result (default: all).
# JOBS=2 runs two targets at a time (default 1). The seeds of `result` are
# result files written by build/cascade (CASCADE=PATH: another program; if
# it is missing, the tree's cascade is built into build-fuzz/lib). Not part
# of ctest: see docs/FUZZING.md. BUILD=0 runs the fuzz_TARGET programs
# already in build-fuzz/ without rebuilding (a tree that does not build).
set -euo pipefail

seconds=${1:-60}
shift || true
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$src/build-fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario portfolio links manifest result)
jobs=${JOBS:-1}
build=${BUILD:-1}

export CC=clang
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

# The library, instrumented for coverage (fuzzer-no-link) and sanitized.
if [ "$build" != 0 ]; then
  cmake -S "$src" -B "$out/lib" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASCADE_TESTS=OFF \
    -DCMAKE_C_FLAGS="$flags -fsanitize=fuzzer-no-link" -DCMAKE_C_FLAGS_RELWITHDEBINFO="" >/dev/null
  cmake --build "$out/lib" --target cascade_tools -j2 >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

  # the libraries CMakeLists.txt finds with pkg-config (yaml-0.1, ...), as it
  # names them, version bounds dropped
  mods=$(sed -nE 's/^ *pkg_check_modules\([A-Z0-9_]+ REQUIRED( IMPORTED_TARGET)? ([^ )>=<]+).*/\2/p' "$src/CMakeLists.txt")
  libs="$out/lib/libcascade_tools.a $out/lib/libcascade_core.a -fopenmp"
  libs="$libs $(pkg-config --libs $mods hdf5-serial) -lhdf5_hl -lm"
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
fi

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
# result: small results of the three kinds of run (one-year, three-year,
# contagion), written once; .h5 files are never committed.
for t in "${targets[@]}"; do
  [ "$t" = result ] || continue
  mkdir -p "$out/corpus/result"
  cascade=${CASCADE:-$src/build/cascade}
  for s in baseline baseline_3y baseline_contagion; do
    f=$out/corpus/result/seed_$s.h5
    [ -s "$f" ] && continue
    if [ ! -x "$cascade" ]; then
      cmake --build "$out/lib" --target cascade -j2 >>"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
      cascade=$out/lib/cascade
    fi
    ASAN_OPTIONS=detect_leaks=0 OMP_NUM_THREADS=1 \
      "$cascade" run "$src/scenarios/$s.yaml" --loans 200 --paths 100 -q -o "$f"
  done
done

mkdir -p "$out/findings"

# The reports of `result` sorted out: HDF5 itself crashes and leaks on
# some damaged files (docs/FUZZING.md), so that target runs in a child
# process restarted after each report, and every report is kept. Each input
# is then run again alone with full stacks and classified, one line per
# input in findings/result-triage.txt (class, kind, first functions, file):
#   OURS      a property or UndefinedBehaviorSanitizer report, or a stack or
#             an allocation whose first frame in our code or in HDF5 is ours
#   hdf5      the first such frame is in libhdf5 and so is the memory at
#             fault (a leak: every object, HDF5's own structures)
#   hdf5-vlen a leak of strings HDF5 converted in a read that then failed
#             (they never reach the caller); a reader that did not reclaim
#             the strings of a successful read would leak the same way on
#             every file, so the seeds (valid results) must run clean
#   UNCLEAR   anything else: look at it
#   not-reproduced  no report when run alone
# Any report on a seed is OURS. The run fails if a report is OURS or UNCLEAR.
triage_awk='
function kindof(line) {
  if (line ~ /fuzz property failed/) return "property"
  if (line ~ /runtime error:/) return "ubsan"
  if (match(line, /ERROR: AddressSanitizer: [A-Za-z-]+/)) return substr(line, RSTART + 25, RLENGTH - 25)
  if (line ~ /ERROR: LeakSanitizer/) return "leak"
  if (line ~ /ERROR: libFuzzer: timeout/) return "timeout"
  if (line ~ /out-of-memory \(malloc/) return "oom-malloc"
  if (line ~ /out-of-memory/) return "oom-rss"
  return ""
}
function side(line) {
  if (index(line, src "sim/") || index(line, src "models/") || index(line, src "tests/")) return "O"
  if (line ~ /libhdf5/) return "H"
  return ""
}
function end_leak() {
  if (first == "H" && !vlen) hleaks++
  if (first == "H" && vlen) vleaks++
}
{
  if (kind == "") {
    k = kindof($0)
    if (k != "") { kind = k; block = "main"; first = ""; next }
  }
  if ($0 ~ /(Direct|Indirect) leak of/) {
    if (block == "leak") end_leak()
    block = "leak"; first = ""; vlen = 0; leaks++; next
  }
  if ($0 ~ /(allocated|freed) by thread|previously allocated/) { block = "alloc"; first = ""; next }
  if ($0 !~ /^    #[0-9]+ /) next
  s = side($0)
  if (first == "" && s != "") {
    first = s
    if (block == "main") main_first = s
    if ((block == "alloc" || block == "leak") && s == "O") ours = 1
  }
  if ($0 ~ /H5T__conv_vlen|H5T_vlen|H5T__vlen/) vlen = 1
  if ((block == "main" || (block == "leak" && leaks == 1)) && names < 4 && match($0, / in [^ ]+/)) {
    n = substr($0, RSTART + 4, RLENGTH - 4)
    if (n !~ /^(__|fuzzer::|(malloc|calloc|realloc|free|strdup)$)/ && (s != "" || n ~ /^H5/)) {
      sig = sig (names ? "<" : "") n; names++
    }
  }
}
END {
  if (block == "leak") end_leak()
  if (kind == "") cls = "not-reproduced"
  else if (kind == "property" || kind == "ubsan" || ours || main_first == "O") cls = "OURS"
  else if (unclear) cls = "UNCLEAR"
  else if (kind == "leak") cls = hleaks + vleaks < leaks ? "UNCLEAR" : vleaks ? "hdf5-vlen" : "hdf5"
  else if (main_first == "H") cls = "hdf5"
  else cls = "UNCLEAR"
  printf "%s %s %s\n", cls, kind == "" ? "-" : kind, sig == "" ? "-" : sig
}'
triage() {
  local t=$1 f rep list=$out/findings/$1-triage.txt
  : >"$list"
  while IFS= read -r f; do
    rep=$(cd "$out/findings" && ASAN_OPTIONS=fast_unwind_on_malloc=0:malloc_context_size=64 OMP_NUM_THREADS=1 \
      timeout 300 "$out/fuzz_$t" -runs=1 -timeout=10 -rss_limit_mb=2048 "$f" 2>&1) || true
    rep=$(awk -v src="$src/" "$triage_awk" <<<"$rep")
    case $f in */seed_*) [ "${rep%% *}" = not-reproduced ] && rep="clean - -" || rep="OURS ${rep#* }" ;; esac
    echo "$rep ${f#"$out"/}" >>"$list"
  done < <(ls "$out/corpus/$t"/seed_*
           find "$out/findings" -maxdepth 1 -type f -name "$t-*" ! -name '*.txt' -newer "$out/findings/.$t-start" | sort)
  { echo "fuzz_$t: the seeds and $(grep -vc ' corpus/' "$list") reports run again (class, kind, first functions; inputs in $list):"
    awk '{print "  " $1, $2, $3}' "$list" | sort | uniq -c | sort -rn; } >>"$out/fuzz_$t.log"
  ! grep -qE '^(OURS|UNCLEAR) ' "$list"
}

run() {
  local t=$1 dict= max_len=16384 fork=()
  [ -f "$src/tests/fuzz/$t.dict" ] && dict=-dict=$src/tests/fuzz/$t.dict
  if [ "$t" = result ]; then
    max_len=262144 # the seeds are 100 to 250 KiB: shorter, they are cut
    fork=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    touch "$out/findings/.$t-start"
  fi
  ( cd "$out/findings" &&
    OMP_NUM_THREADS=1 "$out/fuzz_$t" $dict "${fork[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len="$max_len" -artifact_prefix="$out/findings/${t}-" -print_final_stats=1 \
      "$out/corpus/$t" >"$out/fuzz_$t.log" 2>&1 ) || [ "$t" = result ] || return 1
  [ "$t" != result ] || triage "$t"
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
  printf '%-10s %s\n' "$t" "$(grep -E '^#[0-9]+(.*(DONE|pulse|NEW)|: cov:)' "$out/fuzz_$t.log" | tail -1)"
done
exit $status
