#!/usr/bin/env bash
# A signal that comes the moment a temporary has been created, before the
# call that creates it has returned (docs/CLI.md, Files written): the
# temporary is removed all the same. The name is registered for the
# signal handler before the file is made (outfile.h,
# cas_outfile_create_unique); registered after, a signal in between left
# the file behind (seen once on a loaded machine). An LD_PRELOAD stand-in
# for open (tests/tools/slow_create.c) holds the program there for 3 s
# after it has made the file, and the test sends SIGTERM, SIGINT or SIGHUP
# then; for a result, an export and verify's private folder's re-run.
set -uo pipefail
source "$(dirname "$0")/common.bash"

stand_in slow slow_create.c
B=$src/scenarios/baseline.yaml
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR"
"$bin" run "$B" --loans 1000 --paths 200 -q -o "$tmp/r.h5" || die "run"

# signal expected-exit folder command...: started with the stand-in (and
# SIGINT at its default, which a background job of a script ignores), the
# signal sent once a temporary is in the folder
in_window() {
  local sig=$1 code=$2 dir=$3; shift 3
  rm -rf "$dir"; mkdir -p "$dir"
  CAS_TEST_SLOW_CREATE=3 LD_PRELOAD="$tmp/slow.so" /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$@" & local pid=$!
  local waited=0
  # the folder is new: any temporary in it is this command's (report and
  # verify write from a child process, to which the signal is passed on)
  until find "$dir" -name "*.tmp.*" | grep -q .; do
    sleep 0.05; waited=$((waited + 1))
    [ $waited -lt 1200 ] || { flunk "no temporary appeared: $*"; kill -9 $pid; return; }
  done
  kill -"$sig" $pid
  wait $pid; local rc=$?
  [ $rc = "$code" ] || flunk "SIG$sig while the temporary is being created: exit $rc, expected $code: $*"
  local left
  left=$(find "$dir" -mindepth 1 2>/dev/null)
  [ -z "$left" ] || flunk "SIG$sig while the temporary is being created left: $left ($*)"
}
in_window TERM 143 "$tmp/out" "$bin" run "$B" --loans 1000 --paths 200 -q -o "$tmp/out/r.h5"
in_window INT 130 "$tmp/out" "$bin" portfolio --loans 1000 --export "$tmp/out/p.csv" -q
in_window HUP 129 "$tmp/out" "$bin" report "$tmp/r.h5" -o "$tmp/out/r.html"
# verify: its private folder in TMPDIR and the re-run's temporary in it
in_window TERM 143 "$TMPDIR" "$bin" verify "$tmp/r.h5"
[ $fail = 0 ] && echo "signal_window: ok"
exit $fail
