#!/usr/bin/env bash
# cascade batch: a batch killed with kill -9 at two random moments and
# resumed gives the same results as an uninterrupted one; no file under a
# final name is ever partial; a bad scenario is skipped; two shards cover
# the batch exactly once. (docs/BATCH.md)
#
# Replay a failure with the delays it printed:
#   BATCH_KILL_DELAYS="1.23 2.34" bash tests/cli/batch_resume.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1 src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
watcher=
cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
P=2000

# --- 1. uninterrupted --------------------------------------------------------
t0=$(date +%s.%N)
"$bin" batch "$src/scenarios" --paths $P --loans 20000 --threads 2 --out "$tmp/d1" -q
t1=$(date +%s.%N)
full=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
n=$(ls "$src"/scenarios/*.yaml | wc -l)
[ "$(ls "$tmp"/d1/*.h5 | wc -l)" -eq "$n" ] || fail "uninterrupted batch: expected $n result files"
echo "uninterrupted batch of $n scenarios: ${full}s"

# --- 2. killed twice, resumed ------------------------------------------------
# A watcher checks, all along, that every file under a final name is whole:
# each *.h5 opens as HDF5 with its loss dataset, each manifest parses.
mkdir -p "$tmp/d2"
: > "$tmp/partial"
(
  while :; do
    for f in "$tmp"/d2/*.h5; do
      [ -e "$f" ] || continue
      h5ls "$f/loss" >/dev/null 2>&1 || echo "partial result $f" >> "$tmp/partial"
    done
    for f in "$tmp"/d2/manifest*.json; do
      [ -e "$f" ] || continue
      $py -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null ||
        echo "partial manifest $f" >> "$tmp/partial"
    done
    sleep 0.05
  done
) &
watcher=$!

if [ -n "${BATCH_KILL_DELAYS:-}" ]; then
  read -r d_a d_b <<< "$BATCH_KILL_DELAYS"
else
  d_a=$($py -c "import random; print(round(random.uniform(0.1, 0.6) * $full, 2))")
  d_b=$($py -c "import random; print(round(random.uniform(0.2, 0.8) * $full, 2))")
fi
echo "kill -9 delays: $d_a $d_b (replay with BATCH_KILL_DELAYS=\"$d_a $d_b\")"
for d in $d_a $d_b; do
  "$bin" batch "$src/scenarios" --paths $P --loans 20000 --threads 2 --out "$tmp/d2" -q &
  pid=$!
  sleep "$d"
  if kill -9 "$pid" 2>/dev/null; then echo "killed the batch after ${d}s"; else echo "the batch ended before ${d}s"; fi
  wait "$pid" 2>/dev/null || true
done
# What a killed run may leave: a temporary result and manifest of this
# batch (removed by the resume) and one of another batch (left alone).
echo junk > "$tmp/d2/baseline.h5.tmp.999999"
echo junk > "$tmp/d2/manifest.json.tmp.999999"
echo junk > "$tmp/d2/not_in_this_batch.h5.tmp.999999"
cp "$tmp/d2/manifest.json" "$tmp/before_resume.json" 2>/dev/null || echo '{"scenarios": []}' > "$tmp/before_resume.json"
ls "$tmp"/d2 > "$tmp/listing_before_resume"
"$bin" batch "$src/scenarios" --paths $P --loans 20000 --threads 2 --out "$tmp/d2" -q
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
watcher=
[ ! -s "$tmp/partial" ] || fail "$(cat "$tmp/partial")"
[ "$(ls "$tmp"/d2 | grep '\.tmp\.')" = "not_in_this_batch.h5.tmp.999999" ] ||
  fail "temporary files: expected only another batch's, got: $(ls "$tmp"/d2 | grep '\.tmp\.')"
rm "$tmp/d2/not_in_this_batch.h5.tmp.999999"
echo "temporary files before the resume: $(grep '\.tmp\.' "$tmp/listing_before_resume" | tr '\n' ' ')(this batch's removed by it)"

# Every dataset of every file identical (h5py, independently of the
# program's own digest), the manifests' digests equal, and the scenarios
# the killed runs had finished were reused, not re-run.
$py - "$tmp/d1" "$tmp/d2" "$tmp/before_resume.json" <<'PY'
import json, os, sys
import h5py, numpy as np
d1, d2, before = sys.argv[1:4]
def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype.str, obj.shape, obj[()])
        f.visititems(visit)
    return out
names = sorted(x for x in os.listdir(d1) if x.endswith(".h5"))
assert names == sorted(x for x in os.listdir(d2) if x.endswith(".h5")), "different result files"
count = 0
for name in names:
    a, b = datasets(os.path.join(d1, name)), datasets(os.path.join(d2, name))
    assert a.keys() == b.keys(), f"{name}: different datasets"
    for k in a:
        assert a[k][0] == b[k][0] and a[k][1] == b[k][1], f"{name}:{k}: type or shape differs"
        va, vb = np.asarray(a[k][2]), np.asarray(b[k][2])
        assert va.tobytes() == vb.tobytes() if va.dtype != object else (va == vb).all(), f"{name}:{k}: values differ"
        count += 1
m1 = {e["name"]: e for e in json.load(open(os.path.join(d1, "manifest.json")))["scenarios"]}
m2 = {e["name"]: e for e in json.load(open(os.path.join(d2, "manifest.json")))["scenarios"]}
assert m1.keys() == m2.keys()
for k in m1:
    assert m1[k]["status"] == "ok", (k, m1[k]["status"])
    assert m2[k]["status"] in ("ok", "reused"), (k, m2[k]["status"])
    assert m1[k]["digest"] and m1[k]["digest"] == m2[k]["digest"], f"{k}: digests differ"
done = [e["name"] for e in json.load(open(before))["scenarios"] if e["status"] in ("ok", "reused")]
for k in done:
    assert m2[k]["status"] == "reused", f"{k} was finished before the resume but ran again"
print(f"{len(names)} files, {count} datasets identical; manifests' digests equal; "
      f"{len(done)} scenarios finished before the resume were reused")
PY
grep -q "reused" "$tmp/d2/batch.log" || ! grep -q "\"status\": \"\(ok\|reused\)\"" "$tmp/before_resume.json" ||
  fail "batch.log has no reused line"

# --- 3. a bad scenario is skipped, the others complete ----------------------
mkdir "$tmp/s"
cp "$src/scenarios/baseline.yaml" "$src/scenarios/tech_funding_winter.yaml" "$tmp/s/"
printf 'name: broken\npaths: [1, 2\n' > "$tmp/s/broken.yaml"
set +e
"$bin" batch "$tmp/s" "$tmp/missing.yaml" --paths 200 --loans 5000 --out "$tmp/d3" -q 2> "$tmp/err"
rc=$?
set -e
[ "$rc" -eq 7 ] || fail "a batch with failed scenarios: exit code $rc, expected 7"
grep -q "broken.yaml" "$tmp/err" || fail "stderr does not name broken.yaml: $(cat "$tmp/err")"
grep -q "missing.yaml" "$tmp/err" || fail "stderr does not name missing.yaml"
[ -f "$tmp/d3/baseline.h5" ] && [ -f "$tmp/d3/tech_funding_winter.h5" ] || fail "good scenarios did not complete"
[ ! -e "$tmp/d3/broken.h5" ] && [ ! -e "$tmp/d3/missing.h5" ] || fail "a failed scenario left a result"
grep -q "failed broken" "$tmp/d3/batch.log" || fail "log has no failed line for broken"
$py - "$tmp/d3/manifest.json" <<'PY'
import json, sys
m = {e["name"]: e for e in json.load(open(sys.argv[1]))["scenarios"]}
assert m["broken"]["status"] == "failed" and "broken.yaml:3:1: YAML syntax error" in m["broken"]["error"], m["broken"]
assert m["missing"]["status"] == "failed" and m["missing"]["error"], m["missing"]
assert m["baseline"]["status"] == "ok" and m["tech_funding_winter"]["status"] == "ok"
PY
echo "bad scenarios skipped with exit code 7, the others completed"

# --- 4. two stems alike refused; shards cover the batch exactly once --------
mkdir -p "$tmp/a" "$tmp/b"
cp "$src/scenarios/baseline.yaml" "$tmp/a/x.yaml"
cp "$src/scenarios/baseline.yaml" "$tmp/b/x.yaml"
set +e
"$bin" batch "$tmp/a/x.yaml" "$tmp/b/x.yaml" --out "$tmp/d4" -q 2> "$tmp/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "name clash: exit code $rc, expected 2"
grep -q "x.h5" "$tmp/err" && [ ! -e "$tmp/d4" ] || fail "name clash not refused before running"

for bad in "--shard 0/2" "--shard 3/2" "--shard 1/0" "--shard 1" "--kernel bogus" "--paths 10" "--frobnicate"; do
  set +e
  # shellcheck disable=SC2086
  "$bin" batch "$src/scenarios" --out "$tmp/d6" $bad -q 2> "$tmp/err"
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "batch $bad: exit code $rc, expected 2"
done
set +e
"$bin" batch "$src/scenarios" -q 2> "$tmp/err"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q -- "--out DIR is required" "$tmp/err" || fail "missing --out: exit code $rc"
[ ! -e "$tmp/d6" ] || fail "a usage error created the output folder"

# A second batch on the same manifest while the first runs is refused.
"$bin" batch "$src/scenarios" --paths 2000 --loans 20000 --out "$tmp/d7" -q &
p1=$!
for _ in $(seq 100); do grep -qs "batch started" "$tmp/d7/batch.log" && break; sleep 0.1; done
set +e
"$bin" batch "$src/scenarios" --paths 2000 --loans 20000 --out "$tmp/d7" -q 2> "$tmp/err"
rc=$?
set -e
kill -9 $p1 2>/dev/null || true
wait $p1 2>/dev/null || true
[ "$rc" -eq 2 ] && grep -q "another cascade batch is writing" "$tmp/err" ||
  fail "a concurrent batch on the same manifest: exit code $rc, $(cat "$tmp/err")"
echo "bad options, a missing --out and a concurrent batch on one manifest: exit code 2"

"$bin" batch "$src/scenarios" --paths 100 --loans 2000 --shard 1/2 --out "$tmp/d5" -q &
p1=$!
"$bin" batch "$src/scenarios" --paths 100 --loans 2000 --shard 2/2 --out "$tmp/d5" -q &
p2=$!
wait $p1
wait $p2
$py - "$tmp/d5" "$src/scenarios" <<'PY'
import json, os, sys
d, src = sys.argv[1:3]
stems = sorted(f[:-5] for f in os.listdir(src) if f.endswith(".yaml"))
s1 = [e["name"] for e in json.load(open(os.path.join(d, "manifest.shard-1-of-2.json")))["scenarios"]]
s2 = [e["name"] for e in json.load(open(os.path.join(d, "manifest.shard-2-of-2.json")))["scenarios"]]
assert s1 == stems[0::2] and s2 == stems[1::2], (s1, s2)
assert sorted(s1 + s2) == stems and not set(s1) & set(s2)
assert sorted(f[:-3] for f in os.listdir(d) if f.endswith(".h5")) == stems
print(f"shards 1/2 and 2/2 (run at the same time): {len(s1)} + {len(s2)} = {len(stems)} scenarios, each once")
PY
echo "batch_resume: ok"
