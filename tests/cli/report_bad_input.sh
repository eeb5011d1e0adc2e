#!/usr/bin/env bash
# `cascade report` on bad input: a message naming the file, the documented
# exit code (docs/CLI.md), and no report (not even a temporary file); an
# existing report is left untouched by a failed run.
set -uo pipefail
source "$(dirname "$0")/common.bash"
py=/usr/bin/python3
mkdir -p "$tmp/out"
"$bin" run "$src/scenarios/baseline.yaml" --paths 200 --loans 2000 -q -o "$tmp/good.h5" || { echo "FAIL: run"; exit 1; }
printf 'not hdf5\n' > "$tmp/text.h5"
$py -c 'import h5py,sys; h5py.File(sys.argv[1], "w")["x"] = [1.0, 2.0]' "$tmp/other.h5"
head -c 3000 "$tmp/good.h5" > "$tmp/truncated.h5"
# a crafted result (resealed) with a dataset that declares 10^12 values and
# stores none: refused as bad input before anything is allocated for it
cp "$tmp/good.h5" "$tmp/huge.h5"
$py -c 'import h5py,sys; h5py.File(sys.argv[1], "r+").create_dataset("huge", shape=(10**12,), dtype="f8", chunks=(4096,))' "$tmp/huge.h5"
$py "$src/tests/tools/reseal.py" "$tmp/huge.h5"
# a result without one of its headline datasets: named (compare and report share the reader)
cp "$tmp/good.h5" "$tmp/no_se.h5"
$py -c 'import h5py,sys; del h5py.File(sys.argv[1], "r+")["el_se"]' "$tmp/no_se.h5"
$py "$src/tests/tools/reseal.py" "$tmp/no_se.h5"
expect 3 "no_se.h5: not a cascade result file \(got no readable 'el_se' of the expected shape" -- "$bin" compare "$tmp/no_se.h5"

expect 3 "missing.h5: cannot read" -- "$bin" report "$tmp/good.h5" "$tmp/missing.h5" -o "$tmp/out/r.html"; no_output
expect 3 "text.h5: not an HDF5 file" -- "$bin" report "$tmp/good.h5" "$tmp/text.h5" -o "$tmp/out/r.html"; no_output
expect 3 "other.h5: not a cascade result" -- "$bin" report "$tmp/other.h5" "$tmp/good.h5" -o "$tmp/out/r.html"; no_output
expect 3 "huge.h5: dataset huge declares 1000000000000 values in 0 bytes" -- "$bin" report "$tmp/huge.h5" -o "$tmp/out/r.html"; no_output
expect 3 "truncated.h5: " -- "$bin" report "$tmp/good.h5" "$tmp/truncated.h5" -o "$tmp/out/r.html"; no_output
expect 3 "missing.h5: cannot read" -- "$bin" report "$tmp/good.h5" --baseline "$tmp/missing.h5" -o "$tmp/out/r.html"; no_output
expect 3 "/out: (a folder|not an HDF5 file|cannot)" -- "$bin" report "$tmp/out" -o "$tmp/out/r.html"; no_output
expect 2 "missing -o" -- "$bin" report "$tmp/good.h5"; no_output
expect 2 "no result files" -- "$bin" report -o "$tmp/out/r.html"; no_output
expect 2 "unknown option '--bogus'" -- "$bin" report "$tmp/good.h5" --bogus -o "$tmp/out/r.html"; no_output
expect 2 "-o needs a file name" -- "$bin" report "$tmp/good.h5" -o; no_output
expect 2 "overwrite one of its inputs" -- "$bin" report "$tmp/good.h5" -o "$tmp/good.h5"
expect 4 "r.html: cannot create" -- "$bin" report "$tmp/good.h5" -o "$tmp/no/such/dir/r.html"
expect 0 "usage: cascade report" -- "$bin" report --help

# A good report is one file; a later failed report leaves it as it was.
expect 0 "^$" -- "$bin" report "$tmp/good.h5" -o "$tmp/out/r.html"
[ "$(ls "$tmp/out")" = "r.html" ] || { echo "FAIL: expected only r.html, got: $(ls "$tmp/out")"; fail=1; }
before=$(sha256sum "$tmp/out/r.html")
expect 3 "text.h5" -- "$bin" report "$tmp/good.h5" "$tmp/text.h5" -o "$tmp/out/r.html"
[ "$before" = "$(sha256sum "$tmp/out/r.html")" ] || { echo "FAIL: a failed report changed an existing one"; fail=1; }
[ "$(ls "$tmp/out")" = "r.html" ] || { echo "FAIL: temporary files left: $(ls "$tmp/out")"; fail=1; }

[ $fail = 0 ] && echo "report bad input: all cases pass"
exit $fail
