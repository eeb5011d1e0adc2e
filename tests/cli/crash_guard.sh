#!/usr/bin/env bash
# compare, report, verify and batch survive a result file that crashes HDF5: a
# crafted file with a valid seal whose variable-length string claims 2^40
# bytes (tests/tools/craft_heap.py; HDF5 1.10 crashes on it, h5py too).
# Each command reports the file as bad input (exit 3) and leaves no output
# and no temporary. And the guard is transparent: a SIGTERM to the program
# ends the command it runs (143), which removes its temporaries.
set -uo pipefail
source "$(dirname "$0")/common.bash"
py=/usr/bin/python3
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR" "$tmp/out"

"$bin" run "$src/scenarios/baseline.yaml" --paths 200 --loans 2000 -q -o "$tmp/r.h5" || die "run"
$py "$src/tests/tools/craft_heap.py" "$tmp/r.h5" "$tmp/crafted.h5" baseline || die "craft"

# (ldd's output read whole: `ldd | grep -q` fails under pipefail when grep
# stops reading first)
libs=$(ldd "$bin" 2>/dev/null || true)
if grep -q 'libasan\|libtsan' <<<"$libs"; then
  # the sanitizer stops at HDF5's fault itself, before any signal
  echo "crash_guard: crafted file skipped under a sanitizer"
else
  msg="crafted.h5: reading it crashed the HDF5 library \(Segmentation fault\): a damaged or crafted file"
  expect 3 "$msg" -- "$bin" compare "$tmp/r.h5" "$tmp/crafted.h5"
  expect 3 "$msg" -- "$bin" verify "$tmp/crafted.h5"
  expect 3 "$msg" -- "$bin" report "$tmp/r.h5" "$tmp/crafted.h5" -o "$tmp/out/page.html"
  no_output
  [ -z "$(ls -A "$TMPDIR")" ] || flunk "temporaries left: $(ls -A "$TMPDIR")"
fi
# a batch whose earlier result was replaced by a crafted one (valid seal,
# a label that crashes HDF5 when the digest reads it): the batch computes
# the digest for its reuse check in a child, so it does not die (it did,
# SIGSEGV) but runs the scenario again and replaces the file
cp "$src/scenarios/baseline.yaml" "$tmp/b.yaml"
"$bin" batch "$tmp/b.yaml" --out "$tmp/batch" --paths 200 --loans 2000 -q || flunk "first batch"
$py "$src/tests/tools/craft_heap.py" "$tmp/batch/b.h5" "$tmp/crafted_label.h5" shanghai || die "craft a label"
cp "$tmp/crafted_label.h5" "$tmp/batch/b.h5"
expect 0 "" -- "$bin" batch "$tmp/b.yaml" --out "$tmp/batch" --paths 200 --loans 2000 -q
grep -q '"status": *"ok"' "$tmp/batch/manifest.json" || flunk "the crafted result was not run again: $(grep status "$tmp/batch/manifest.json")"
expect 0 "baseline" -- "$bin" compare "$tmp/batch/b.h5"

# the intact file still reads, through the same guard
expect 0 "baseline" -- "$bin" compare "$tmp/r.h5"
expect 0 "^$" -- "$bin" report "$tmp/r.h5" -o "$tmp/out/page.html"
[ -s "$tmp/out/page.html" ] || flunk "no page"
rm -f "$tmp/out/page.html"

# SIGTERM to the program while verify re-runs: forwarded, the same exit
# status as without the guard, no process and no temporary left behind.
# The re-run must still be going when the signal comes, whatever the
# machine's speed: the dense kernel (its time follows loans x paths, about
# 4 s here on one thread), and the signal as soon as the guarded child has
# been running for 0.5 s.
"$bin" run "$src/scenarios/baseline.yaml" --kernel dense --paths 20000 --loans 20000 --threads 2 -q \
  -o "$tmp/big.h5" || die "run big"
"$bin" verify "$tmp/big.h5" --threads 1 > "$tmp/verify.out" 2>&1 &
pid=$!
kids=
for _ in $(seq 100); do
  kids=$(pgrep -P "$pid") && break
  sleep 0.05
done
[ -n "$kids" ] || flunk "verify runs no guarded child"
sleep 0.5
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 143 ] || flunk "verify after SIGTERM: exit $rc, expected 143: $(cat "$tmp/verify.out")"
sleep 0.5
for k in $kids; do
  ! kill -0 "$k" 2>/dev/null || flunk "the guarded child $k outlived the program"
done
[ -z "$(ls -A "$TMPDIR")" ] || flunk "verify left temporaries after SIGTERM: $(ls -A "$TMPDIR")"
# kill -9 during verify's re-run leaves its private folder (nothing can
# remove it then); the next verify on this host removes it: the folder is
# named after the host and the process, and that process is gone.
setsid "$bin" verify "$tmp/big.h5" --threads 1 -q > /dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
  [ -n "$(ls -A "$TMPDIR")" ] && break
  sleep 0.05
done
[ -n "$(ls -A "$TMPDIR")" ] || flunk "verify made no temporary folder"
kill -9 -- -"$pid"
wait "$pid" 2>/dev/null
left=$(ls -A "$TMPDIR")
grep -q "^cascade-verify\.[A-Za-z0-9-]*\.[0-9]*\." <<<"$left" || flunk "kill -9 left no verify folder (the test missed the re-run): $left"
expect 0 "" -- "$bin" verify "$tmp/r.h5" -q
[ -z "$(ls -A "$TMPDIR")" ] || flunk "the next verify left the killed one's folder: $(ls -A "$TMPDIR")"
[ "$fail" = 0 ] && echo "crash_guard: ok"
exit "$fail"
