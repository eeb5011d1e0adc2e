#!/usr/bin/env bash
# cascade batch reads a CSV book its scenarios share once, in its own
# process, and hands it to the scenarios' processes (docs/BATCH.md):
#  - three scenarios on one book: the log reads the book once, and each
#    result is the one a `cascade run` of its scenario alone gives (every
#    dataset, bit for bit), verify reproducing it;
#  - a scenario on another book, and one that declares a classification:
#    each gets its own book (read again), with the same results as alone;
#  - a book changed between two batches is read again, and its results
#    follow the change;
#  - a book that does not load fails each of its scenarios with the
#    loader's message, file and line, as a run alone would.
set -uo pipefail
source "$(dirname "$0")/common.bash"
py=/usr/bin/python3
mkdir -p "$tmp/sc" "$tmp/out"

book() {   # book FILE ROWS PD
  "$py" - "$1" "$2" "$3" <<'EOF'
import sys
path, rows, pd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("id,region,sector,ead,pd,lgd\n")
    for i in range(rows):
        f.write(f"L{i},{('north', 'south')[i % 2]},{('a', 'b', 'c')[i % 3]},{1000 + 7 * i},{pd},0.45\n")
EOF
}
book "$tmp/one.csv" 3000 0.02
book "$tmp/two.csv" 2000 0.03
for i in 1 2 3; do
  printf 'name: s%s\nseed: %s\npaths: 400\nportfolio: {file: %s}\nshocks: [{sector: b, pd_multiplier: 1.%s}]\n' \
    "$i" "$i" "$tmp/one.csv" "$i" > "$tmp/sc/s$i.yaml"
done
printf 'name: t\nseed: 9\npaths: 400\nportfolio: {file: %s}\n' "$tmp/two.csv" > "$tmp/sc/t.yaml"
printf 'name: u\nseed: 9\npaths: 400\nportfolio: {file: %s}\nclassification: {regions: [north, south], sectors: [a, b, c]}\n' \
  "$tmp/one.csv" > "$tmp/sc/u.yaml"

same() {   # same A B: every dataset of two results equal, bit for bit
  "$py" - "$1" "$2" <<'EOF' || { echo "FAIL: $1 and $2 differ"; fail=1; }
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
bad = []
def visit(name, obj):
    if isinstance(obj, h5py.Dataset):
        x, y = np.atleast_1d(obj[()]), np.atleast_1d(b[name][()])
        if x.dtype.kind == "O":   # strings: by value
            eq = x.shape == y.shape and x.tolist() == y.tolist()
        else:                     # numbers: by their bytes
            eq = x.shape == y.shape and x.tobytes() == y.tobytes()
        if not eq:
            bad.append(name)
a.visititems(visit)
if bad:
    print("differ:", bad[:5])
    sys.exit(1)
EOF
}

expect 0 "" -- "$bin" batch "$tmp/sc" --out "$tmp/b1" --threads 2 -q
reads=$(grep -c "read the book" "$tmp/b1/batch.log")
# sorted order s1 s2 s3 t u: one.csv, then two.csv, then one.csv declared
[ "$reads" = 3 ] || { echo "FAIL: the log reads a book $reads times, expected 3"; grep "read the book" "$tmp/b1/batch.log"; fail=1; }
[ "$(grep -c "read the book $tmp/one.csv" "$tmp/b1/batch.log")" = 2 ] || { echo "FAIL: one.csv not read twice (s1..s3, then u)"; fail=1; }
for s in s1 s2 s3 t u; do
  "$bin" run "$tmp/sc/$s.yaml" --threads 2 -q -o "$tmp/out/$s.h5" || { echo "FAIL: run $s"; fail=1; }
  same "$tmp/out/$s.h5" "$tmp/b1/$s.h5"
done
expect 0 "reproduced" -- "$bin" verify "$tmp/b1/s2.h5"

# A changed book is read again and the results follow it.
book "$tmp/one.csv" 3000 0.05
expect 0 "" -- "$bin" batch "$tmp/sc" --out "$tmp/b1" --threads 2 -q
"$bin" run "$tmp/sc/s1.yaml" --threads 2 -q -o "$tmp/out/s1b.h5"
same "$tmp/out/s1b.h5" "$tmp/b1/s1.h5"
"$py" -c "
import h5py, sys
a, b = h5py.File('$tmp/out/s1.h5', 'r'), h5py.File('$tmp/b1/s1.h5', 'r')
sys.exit(0 if b['el'][()] > a['el'][()] else 1)" || { echo "FAIL: the changed book's EL did not rise"; fail=1; }

# A book that does not load: each of its scenarios fails with the loader's message.
printf 'id,region,sector,ead,pd,lgd\nx,north,a,1,0.02,0.5\ny,north,a,1,two,0.5\n' > "$tmp/bad.csv"
rm -f "$tmp/sc/"*.yaml
for i in 1 2; do
  printf 'name: bad%s\npaths: 400\nportfolio: {file: %s}\n' "$i" "$tmp/bad.csv" > "$tmp/sc/bad$i.yaml"
done
expect 7 "bad.csv:3:[0-9]+: pd is not a number" -- "$bin" batch "$tmp/sc" --out "$tmp/b2" -q
[ "$(grep -c "bad.csv:3:[0-9]*: pd is not a number" "$tmp/b2/batch.log")" = 2 ] || { echo "FAIL: both scenarios should fail with the loader's message"; cat "$tmp/b2/batch.log"; fail=1; }
[ "$fail" = 0 ] && echo "batch book: ok"
exit "$fail"
