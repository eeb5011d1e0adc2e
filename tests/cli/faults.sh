#!/usr/bin/env bash
# Faults as tests (docs/CLI.md, "Files written"): a full disk during each
# write, outputs that cannot be written found before any work, inputs that
# are not files, and signals during a write. Each case: the documented exit
# code, a message with the cause, no file under a final name that is not
# complete, no temporary file left behind.
# A full disk is a file-size limit (ulimit -f) with SIGXFSZ ignored: the
# write fails with EFBIG ("File too large") as it would with ENOSPC.
set -uo pipefail
source "$(dirname "$0")/common.bash"
mkdir -p "$tmp/out"
B=$src/scenarios/baseline.yaml
"$bin" run "$B" --loans 2000 --paths 2000 -q -o "$tmp/small.h5" || die "setup run failed"

full() {   # code pattern -- command...: under a 16 KiB file-size limit
  local code=$1 pattern=$2; shift 3
  expect "$code" "$pattern" -- bash -c 'trap "" XFSZ; ulimit -f 16; "$@"' _ "$@"
  no_output
  rm -rf "$tmp/out"; mkdir -p "$tmp/out"
}
full 4 "out/r.h5: cannot write \(File too large; at '" -- "$bin" run "$B" --loans 2000 --paths 20000 -q -o "$tmp/out/r.h5"
full 4 "out/p.csv: cannot write \(File too large\)" -- "$bin" portfolio --loans 100000 --export "$tmp/out/p.csv"
full 4 "out/n.csv: cannot write \(File too large\)" -- "$bin" network --loans 100000 --export "$tmp/out/n.csv"
full 4 "out/r.html: cannot write \(File too large\)" -- "$bin" report "$tmp/small.h5" -o "$tmp/out/r.html"
# a batch: the scenario fails with the cause, the batch says so (exit 7),
# and its folder holds no result and no temporary
expect 7 "baseline.h5: cannot write \(File too large" -- bash -c 'trap "" XFSZ; ulimit -f 16; "$@"' _ \
  "$bin" batch "$B" --out "$tmp/out/b" --loans 2000 --paths 20000 -q
ls "$tmp/out/b" | grep -E '\.h5' && { echo "FAIL: a result or temporary left in the batch folder"; fail=1; }
rm -rf "$tmp/out"; mkdir -p "$tmp/out"

# Outputs that cannot be written: refused at once (10^8 paths would take
# hours), nothing created.
expect 2 "output file name is empty" -- "$bin" run "$B" --loans 1000 --paths 100000000 -q -o ""
mkdir -p "$tmp/out/dir.h5"
expect 4 "dir.h5: cannot create \(it is a directory" -- "$bin" run "$B" --loans 1000 --paths 100000000 -q -o "$tmp/out/dir.h5"
rmdir "$tmp/out/dir.h5"
expect 4 "cannot create \(it names a folder" -- "$bin" run "$B" --loans 1000 --paths 100000000 -q -o "$tmp/out/"
mkfifo "$tmp/fifo.h5"
expect 4 "fifo.h5: cannot create \(it is a FIFO" -- timeout 20 "$bin" run "$B" --loans 1000 --paths 100000000 -q -o "$tmp/fifo.h5"
expect 4 "r.html: cannot create \(folder .*: No such file" -- "$bin" report "$tmp/small.h5" -o "$tmp/none/r.html"
cp "$B" "$tmp/mine.yaml"
expect 2 "would overwrite the scenario file" -- "$bin" run "$tmp/mine.yaml" --loans 1000 --paths 100 -q -o "$tmp/mine.yaml"
cmp -s "$B" "$tmp/mine.yaml" || { echo "FAIL: the scenario file was changed"; fail=1; }
"$bin" portfolio --loans 500 --export "$tmp/book.csv" > /dev/null
printf 'name: book\npaths: 100\nportfolio: {file: book.csv}\n' > "$tmp/book.yaml"
expect 2 "would overwrite the portfolio" -- "$bin" run "$tmp/book.yaml" -q -o "$tmp/book.csv"
no_output

# A read-only output folder: refused before any work, for each writer. As
# root, permissions do not stop a write, so the folder is a read-only bind
# mount (said and skipped if this machine does not allow mounting).
ro=$tmp/ro
mkdir -p "$ro"
rw=0
if [ "$(id -u)" -ne 0 ]; then
  chmod 555 "$ro"; rw=1
elif mount --bind "$ro" "$ro" 2>/dev/null; then
  if mount -o remount,bind,ro "$ro" 2>/dev/null; then rw=2; else umount "$ro"; fi
fi
if [ $rw = 0 ]; then
  echo "faults: read-only folder not tested (no read-only mount here)"
else
  why="(Read-only file system|Permission denied)"
  expect 4 "ro/r.h5: cannot create \(folder .*: $why" -- "$bin" run "$B" --loans 1000 --paths 100000000 -q -o "$ro/r.h5"
  expect 4 "ro/p.csv: cannot create \(folder .*: $why" -- "$bin" portfolio --loans 1000 --export "$ro/p.csv"
  expect 4 "ro/r.html: cannot create \(folder .*: $why" -- "$bin" report "$tmp/small.h5" -o "$ro/r.html"
  [ $rw = 2 ] && umount "$ro"
  [ $rw = 1 ] && chmod 755 "$ro"
  [ -z "$(ls -A "$ro")" ] || { echo "FAIL: files in the read-only folder: $(ls "$ro")"; fail=1; }
fi

# Inputs that are not files: refused without being read (a FIFO without a
# writer would block, /dev/zero never ends).
mkfifo "$tmp/fifo.yaml"
expect 3 "fifo.yaml': not a regular file" -- timeout 20 "$bin" run "$tmp/fifo.yaml" -o "$tmp/out/r.h5"
expect 3 "/dev/zero': not a regular file" -- timeout 20 "$bin" validate /dev/zero
mkfifo "$tmp/fifo.csv"
expect 3 "fifo.csv: cannot read \(got a FIFO" -- timeout 20 "$bin" portfolio --from "$tmp/fifo.csv"
mkdir -p "$tmp/batch"
cp "$B" "$tmp/batch/a.yaml"
mkfifo "$tmp/batch/b.yaml"
expect 7 "1 of 2 scenarios failed" -- timeout 60 "$bin" batch "$tmp/batch/a.yaml" "$tmp/batch/b.yaml" \
  --out "$tmp/out/b" --loans 1000 --paths 200 -q
[ -f "$tmp/out/b/a.h5" ] || { echo "FAIL: the batch's good scenario did not run"; fail=1; }
rm -rf "$tmp/out"; mkdir -p "$tmp/out"

# Signals during the write of a result: the temporary is removed and the
# signal ends the program (128 + its number); after kill -9 the temporary
# stays; the next write of another file into the folder removes it once
# it is 10 minutes old (at once, the next write of the same file), and
# only what a gone process of this host left under a temporary's name.
# (150,000 paths: a few seconds of simulation, then about 2 s of writing;
# started with SIGINT at its default, which a background job of a script
# would otherwise ignore, as cascade then does too)
big=(run "$B" --loans 2000 --paths 150000 -q -o "$tmp/out/r.h5")
during_write() {   # signal expected-exit
  /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$bin" "${big[@]}" & local pid=$!
  local waited=0
  # this process's own temporary (its number is in the name: python execs
  # cascade in place), not one an earlier case may have left
  until ls "$tmp/out" | grep -q "\.tmp\.[^.]*\.$pid\."; do
    sleep 0.1; waited=$((waited + 1))
    [ $waited -lt 1800 ] || { echo "FAIL: no temporary file appeared"; kill -9 $pid; fail=1; return; }
  done
  kill -"$1" $pid
  wait $pid; local rc=$?
  [ $rc = "$2" ] || { echo "FAIL: SIG$1 during the write: exit $rc, expected $2"; fail=1; }
}
during_write TERM 143; no_output
during_write INT 130; no_output
during_write HUP 129; no_output
during_write KILL 137
ls "$tmp/out" | grep -q '\.tmp\.' || { echo "FAIL: kill -9 left no temporary (the test did not hit the write)"; fail=1; }
# beside it: a temporary of a live process (this shell), of a gone one but
# a link, one of a gone process but changed 5 minutes ago, and names that
# only look like one; none of them is removed. The killed run's is made
# 20 minutes old.
host=$(hostname | tr -cd 'A-Za-z0-9-' | cut -c1-32); host=${host:-h}
sh -c 'exit 0' & gone=$!; wait $gone
keep=("x.h5.tmp.$host.$$.AbC123" "y.h5.tmp.$host.$gone.AbC12" "z.h5.tmp.other-host.$gone.AbC123"
      "notes.tmp.$host.$gone.txt" "v.h5.tmp.$host.$gone.AbC123")
for k in "${keep[@]}"; do echo keep > "$tmp/out/$k"; touch -d '20 minutes ago' "$tmp/out/$k"; done
touch -d '5 minutes ago' "$tmp/out/v.h5.tmp.$host.$gone.AbC123"
ln -s "$tmp/out/${keep[0]}" "$tmp/out/w.h5.tmp.$host.$gone.AbC123"
touch -d '20 minutes ago' "$tmp/out/"r.h5.tmp.*
"$bin" portfolio --loans 100 --export "$tmp/out/book.csv" -q || { echo "FAIL: the export after kill -9 failed"; fail=1; }
left=$(ls "$tmp/out" | sort | tr '\n' ' ')
want=$(printf '%s\n' book.csv "${keep[@]}" "w.h5.tmp.$host.$gone.AbC123" | sort | tr '\n' ' ')
[ "$left" = "$want" ] || { echo "FAIL: after kill -9 and an export into the folder it holds: $left (expected $want)"; fail=1; }
rm -f "$tmp/out/"*"$host"* "$tmp/out/z.h5."* "$tmp/out/book.csv"
"$bin" run "$B" --loans 1000 --paths 100 -q -o "$tmp/out/r.h5" || { echo "FAIL: the run after kill -9 failed"; fail=1; }
[ "$(ls "$tmp/out")" = "r.h5" ] || { echo "FAIL: after kill -9 and a new run the folder holds: $(ls "$tmp/out")"; fail=1; }
# The output folder removed while the result is written: an I/O error
# that says so (it said only "No such file or directory")
mkdir -p "$tmp/gone"
"$bin" run "$B" --loans 2000 --paths 150000 -q -o "$tmp/gone/r.h5" 2> "$tmp/gone.err" & pid=$!
waited=0
until ls "$tmp/gone" 2>/dev/null | grep -q '\.tmp\.'; do
  sleep 0.05; waited=$((waited + 1))
  [ $waited -lt 3600 ] || { echo "FAIL: no temporary file appeared in gone/"; kill -9 $pid; fail=1; break; }
done
rm -rf "$tmp/gone"
wait $pid; rc=$?
[ $rc = 4 ] || { echo "FAIL: output folder removed during the write: exit $rc, expected 4"; fail=1; }
grep -q "gone/r.h5: cannot .*its folder .*/gone was removed or unmounted while it was written" "$tmp/gone.err" ||
  { echo "FAIL: output folder removed: $(cat "$tmp/gone.err")"; fail=1; }
# A file-size limit (ulimit -f) reached while writing: an I/O error naming
# the file, the temporary removed, an older file untouched (SIGXFSZ ended
# the program without a word and left the temporary)
rm -rf "$tmp/fsz" && mkdir "$tmp/fsz"
"$bin" run "$B" --loans 1000 --paths 100 -q -o "$tmp/fsz/r.h5" || die "run before the limit"
before=$(sha256sum < "$tmp/fsz/r.h5")
expect 4 "r.h5: cannot write \(File too large" -- bash -c "ulimit -f 64; \"$bin\" run \"$B\" --loans 2000 --paths 2000 -q -o \"$tmp/fsz/r.h5\""
expect 4 "x.csv: cannot write \(File too large" -- bash -c "ulimit -f 64; \"$bin\" portfolio --loans 20000 --export \"$tmp/fsz/x.csv\" -q"
[ "$(ls -A "$tmp/fsz")" = "r.h5" ] || { echo "FAIL: after the file-size limit the folder holds: $(ls -A "$tmp/fsz")"; fail=1; }
[ "$before" = "$(sha256sum < "$tmp/fsz/r.h5")" ] || { echo "FAIL: the older result changed"; fail=1; }
[ $fail = 0 ] && echo "faults: ok"
exit $fail
