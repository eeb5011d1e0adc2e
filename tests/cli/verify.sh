#!/usr/bin/env bash
# cascade verify: passes on a fresh result; fails, naming the dataset, when
# one value of a copy is changed; refuses a result whose portfolio or links
# CSV is missing or changed; warns on another commit; documented exit codes
# for bad arguments. (docs/BATCH.md, docs/CLI.md)
set -euo pipefail
bin=$1 src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify's temporary re-runs go under TMPDIR: it must be empty at the end.
export TMPDIR="$tmp/vt"
mkdir "$TMPDIR"
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE PATTERN -- command...: exit code and a pattern in stdout+stderr
  local want=$1 pat=$2
  shift 3
  set +e
  "$@" > "$tmp/out" 2>&1
  local rc=$?
  set -e
  [ "$rc" -eq "$want" ] || fail "$*: exit code $rc, expected $want; output: $(cat "$tmp/out")"
  grep -q -- "$pat" "$tmp/out" || fail "$*: output lacks '$pat': $(cat "$tmp/out")"
}

"$bin" run "$src/scenarios/baseline_contagion.yaml" --paths 300 --loans 5000 -q -o "$tmp/r.h5"
expect 0 "reproduced: all" -- "$bin" verify "$tmp/r.h5" --threads 1

# One value changed in a copy: exit 6, the dataset named, the others not.
cp "$tmp/r.h5" "$tmp/changed.h5"
$py -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f["el_by_segment"][5] += 1.0; f.close()' "$tmp/changed.h5"
# as changed, the file no longer matches its seal: refused before HDF5 reads it
expect 3 "changed.h5: damaged or changed since cascade wrote it" -- "$bin" verify "$tmp/changed.h5"
# resealed, as a crafted file would be: the re-run finds the changed value
$py "$src/tests/tools/reseal.py" "$tmp/changed.h5"
expect 6 "/el_by_segment: values differ" -- "$bin" verify "$tmp/changed.h5"
grep -q "NOT reproduced: 1 of" "$tmp/out" || fail "verdict: $(cat "$tmp/out")"
[ "$(grep -c "differ (" "$tmp/out")" -eq 1 ] || fail "other datasets reported: $(cat "$tmp/out")"

# A dataset removed from a copy: named as missing in the re-run's comparison.
cp "$tmp/r.h5" "$tmp/extra.h5"
$py -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f["bogus"] = [1, 2]; f.close()' "$tmp/extra.h5"
$py "$src/tests/tools/reseal.py" "$tmp/extra.h5"
expect 6 "/bogus: missing in the re-run" -- "$bin" verify "$tmp/extra.h5"

# Another commit: a warning, and still a pass.
cp "$tmp/r.h5" "$tmp/old.h5"
$py -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f.attrs["cascade_commit"] = "0000deadbeef"; f.close()' "$tmp/old.h5"
$py "$src/tests/tools/reseal.py" "$tmp/old.h5"
expect 0 "warning: .*0000deadbeef" -- "$bin" verify "$tmp/old.h5"

# CSV inputs are recorded with SHA-256 and checked before re-running.
"$bin" portfolio --loans 3000 --export "$tmp/book.csv" -q
"$bin" network --from "$tmp/book.csv" --export "$tmp/links.csv" > /dev/null
cat > "$tmp/csv.yaml" <<YAML
name: csv_inputs
paths: 200
portfolio: {file: book.csv}
network: {file: links.csv}
contagion: {enabled: true}
YAML
"$bin" run "$tmp/csv.yaml" -q -o "$tmp/c.h5"
want=$(sha256sum "$tmp/book.csv" | cut -c1-64)
got=$($py -c 'import h5py,sys; print(h5py.File(sys.argv[1])["/"].attrs["portfolio_sha256"])' "$tmp/c.h5")
[ "$want" = "$got" ] || fail "portfolio_sha256 $got, sha256sum says $want"
want=$(sha256sum "$tmp/links.csv" | cut -c1-64)
got=$($py -c 'import h5py,sys; print(h5py.File(sys.argv[1])["/"].attrs["links_sha256"])' "$tmp/c.h5")
[ "$want" = "$got" ] || fail "links_sha256 $got, sha256sum says $want"
expect 0 "reproduced" -- "$bin" verify "$tmp/c.h5"
cp "$tmp/links.csv" "$tmp/links.bak"
echo "" >> "$tmp/links.csv"
expect 3 "links file .*links.csv has changed" -- "$bin" verify "$tmp/c.h5"
mv "$tmp/links.bak" "$tmp/links.csv"
mv "$tmp/book.csv" "$tmp/book.bak"
expect 3 "portfolio file .*book.csv, which is missing" -- "$bin" verify "$tmp/c.h5"
mv "$tmp/book.bak" "$tmp/book.csv"
expect 0 "reproduced" -- "$bin" verify "$tmp/c.h5"

# Bad arguments and bad files.
expect 2 "missing RESULT.h5" -- "$bin" verify
expect 2 "unknown option '--frobnicate'" -- "$bin" verify "$tmp/r.h5" --frobnicate
expect 2 "one result file at a time" -- "$bin" verify "$tmp/r.h5" "$tmp/c.h5"
expect 2 "--threads: got '0'" -- "$bin" verify "$tmp/r.h5" --threads 0
expect 3 "nothere.h5: cannot read" -- "$bin" verify "$tmp/nothere.h5"
expect 3 "not an HDF5 file" -- "$bin" verify "$src/scenarios/baseline.yaml"
$py -c 'import h5py,sys; f=h5py.File(sys.argv[1],"w"); f["x"]=[1]; f.close()' "$tmp/foreign.h5"
expect 3 "not a cascade result" -- "$bin" verify "$tmp/foreign.h5"
cp "$tmp/r.h5" "$tmp/badyaml.h5"
$py -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); del f["scenario_resolved"]; f["scenario_resolved"]="paths: [oops"; f.close()' "$tmp/badyaml.h5"
$py "$src/tests/tools/reseal.py" "$tmp/badyaml.h5"
expect 3 "badyaml.h5\[scenario_resolved\]:" -- "$bin" verify "$tmp/badyaml.h5"
[ -z "$(ls -A "$TMPDIR")" ] || fail "verify left temporary files: $(ls -A "$TMPDIR")"
echo "verify: ok"
