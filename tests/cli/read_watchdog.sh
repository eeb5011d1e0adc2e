#!/usr/bin/env bash
# The reading commands' watchdog (sim/core/watch.h): a result file on which
# HDF5 loops forever (HDF5 1.10 does on some crafted files, docs/FUZZING.md)
# stops compare, report, verify and a batch's reuse check after
# CASCADE_READ_TIMEOUT seconds without progress, with a message naming the
# file, exit 3 and nothing written; the batch runs the scenario again. The
# loop is HDF5's H5Fopen spinning for ever on that file (a stand-in loaded
# with LD_PRELOAD, tests/tools/stall_hdf5.c: a real crafted file's loop
# depends on HDF5's version). Reading that gets on is never stopped, nor is
# the time verify spends running the scenario again.
set -uo pipefail
source "$(dirname "$0")/common.bash"
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR" "$tmp/out"

stand_in stall stall_hdf5.c

"$bin" run "$src/scenarios/baseline.yaml" --paths 200 --loans 2000 -q -o "$tmp/r.h5" || die "run"
cp "$tmp/r.h5" "$tmp/stuck.h5"

# seconds since the epoch, to a millisecond
now() { date +%s.%N; }
within() { # within SECONDS START: fails when more than SECONDS went by
  awk -v s="$1" -v a="$2" -v b="$(now)" 'BEGIN { exit !(b - a <= s) }'
}

msg="stuck.h5: reading it made no progress inside the HDF5 library for 1 s, stopped: a damaged or crafted file"
stalled() { CASCADE_READ_TIMEOUT=1 CAS_TEST_STALL_ON=stuck.h5 LD_PRELOAD="$tmp/stall.so" "$@"; }
t0=$(now)
expect 3 "$msg" -- stalled "$bin" report "$tmp/r.h5" "$tmp/stuck.h5" -o "$tmp/out/page.html"
within 10 "$t0" || flunk "report took more than 10 s with a limit of 1 s"
no_output
expect 3 "$msg" -- stalled "$bin" compare "$tmp/r.h5" "$tmp/stuck.h5"
expect 3 "$msg" -- stalled "$bin" verify "$tmp/stuck.h5"
[ -z "$(ls -A "$TMPDIR")" ] || flunk "temporaries left: $(ls -A "$TMPDIR")"
# no process left spinning
sleep 0.2
! pgrep -f "stuck.h5" >/dev/null || flunk "a process reading stuck.h5 outlived the command: $(pgrep -af stuck.h5)"

# with the stand-in loaded, the other file reads as ever under the same
# limit (every step of a read ticks)
expect 0 "^$" -- stalled "$bin" report "$tmp/r.h5" -o "$tmp/out/page.html"
[ -s "$tmp/out/page.html" ] || flunk "no page"
rm -f "$tmp/out/page.html"
expect 0 "baseline" -- stalled "$bin" compare "$tmp/r.h5"

# verify's re-run of the scenario is not reading: a limit of 0.5 s does
# not stop a re-run of about three seconds (the dense kernel, one thread).
# The limit is well above a scheduling delay on a loaded machine (0.05 s
# once stopped the reading of the re-run's own file while a second suite
# ran beside this one).
"$bin" run "$src/scenarios/baseline.yaml" --kernel dense --paths 12000 --loans 10000 --threads 1 -q \
  -o "$tmp/slow.h5" || die "run slow"
t0=$(now)
expect 0 "" -- env CASCADE_READ_TIMEOUT=0.5 "$bin" verify "$tmp/slow.h5" --threads 1
within 1.5 "$t0" && echo "read_watchdog: note: the re-run took under 1.5 s, shorter than meant"

# the limit is checked: a bad value is a usage error, before anything is read
expect 2 "CASCADE_READ_TIMEOUT=soon: expected a number of seconds" -- \
  env CASCADE_READ_TIMEOUT=soon "$bin" compare "$tmp/r.h5"
expect 2 "CASCADE_READ_TIMEOUT=-1: expected a number of seconds" -- \
  env CASCADE_READ_TIMEOUT=-1 "$bin" batch "$src/scenarios/baseline.yaml" --out "$tmp/never"
[ ! -e "$tmp/never" ] || flunk "batch made its folder despite the bad limit"

# a batch whose earlier result loops HDF5 in the reuse check: the check is
# stopped, the scenario runs again (its own digest of the new file then
# opens it normally: the stand-in stalls only the first open) and the
# manifest says ok
cp "$src/scenarios/baseline.yaml" "$tmp/b.yaml"
"$bin" batch "$tmp/b.yaml" --out "$tmp/batch" --paths 200 --loans 2000 -q || flunk "first batch"
t0=$(now)
expect 0 "" -- env CASCADE_READ_TIMEOUT=1 CAS_TEST_STALL_ON=/b.h5 CAS_TEST_STALL_ONCE="$tmp/once" \
  LD_PRELOAD="$tmp/stall.so" "$bin" batch "$tmp/b.yaml" --out "$tmp/batch" --paths 200 --loans 2000 -q
within 20 "$t0" || flunk "the batch took more than 20 s"
[ -e "$tmp/once" ] || flunk "the reuse check never opened the earlier result"
grep -q '"status": *"ok"' "$tmp/batch/manifest.json" ||
  flunk "the stalled result was not run again: $(grep status "$tmp/batch/manifest.json")"
# and without the loop the batch reuses it
expect 0 "" -- "$bin" batch "$tmp/b.yaml" --out "$tmp/batch" --paths 200 --loans 2000 -q
grep -q '"status": *"reused"' "$tmp/batch/manifest.json" ||
  flunk "the new result was not reused: $(grep status "$tmp/batch/manifest.json")"

[ "$fail" = 0 ] && echo "read_watchdog: ok"
exit "$fail"
