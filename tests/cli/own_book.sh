#!/usr/bin/env bash
# A book with its own classification from the command line: a tiny book
# prints money it can read (not 0.00), a declared classification catches a
# typo in the CSV at its line and column, a shock naming a region the book
# does not have is an error at its place in the scenario listing the
# book's regions; errors leave no output file.
set -uo pipefail
source "$(dirname "$0")/common.bash"
mkdir -p "$tmp/out"

printf 'id,region,sector,ead,pd,lgd,city\na,north,mining,0.4,0.02,0.5,port\nb,north,farming,0.3,0.05,0.5,\nc,south,mining,0.3,0.1,0.5,hill\n' > "$tmp/tiny.csv"
printf 'name: tiny\npaths: 2000\nportfolio: {file: tiny.csv}\nlevels: [0.975]\nshocks: [{city: hill, pd_multiplier: 2}]\n' > "$tmp/tiny.yaml"
expect 0 "measure +CNY " -- "$bin" run "$tmp/tiny.yaml" -o "$tmp/out/tiny.h5"
out=$("$bin" run "$tmp/tiny.yaml" -o "$tmp/out/tiny.h5" 2>&1)
grep -qE "^  EL +0\.0[0-9]{3}[1-9]" <<<"$out" || grep -qE "^  EL +0\.0[1-9]" <<<"$out" \
  || { echo "FAIL: EL of a book of EAD 1 not readable"; echo "$out"; fail=1; }
grep -q "ES 97.5%" <<<"$out" || { echo "FAIL: the scenario's level 0.975 is not reported"; echo "$out"; fail=1; }
rm -f "$tmp/out/tiny.h5"

# Declared classification: a value not declared is an error at file:line:col.
printf 'id,region,sector,ead,pd,lgd\na,north,mining,1,0.02,0.5\nb,nrth,mining,1,0.02,0.5\n' > "$tmp/typo.csv"
printf 'name: typo\nportfolio: {file: typo.csv}\nclassification: {regions: [north, south], sectors: [mining]}\n' > "$tmp/typo.yaml"
expect 3 "typo.csv:3:3: unknown region 'nrth' \(expected one of the 2 declared: north, south\)" -- \
  "$bin" run "$tmp/typo.yaml" -o "$tmp/out/r.h5"; no_output

# A shock on a region the book does not have, found when the book is read.
printf 'name: wrong\nportfolio: {file: tiny.csv}\nshocks:\n  - {region: anhui, pd_multiplier: 2}\n' > "$tmp/wrong.yaml"
expect 3 "wrong.yaml:4:14: shocks\[0\].region: unknown region 'anhui' \(expected one of: north, south\)" -- \
  "$bin" run "$tmp/wrong.yaml" -o "$tmp/out/r.h5"; no_output
expect 3 "wrong.yaml:4:14" -- "$bin" validate "$tmp/wrong.yaml"

# The built-in network is refused for a book of another classification.
printf 'name: net\nportfolio: {file: tiny.csv}\nnetwork: {builtin: yrd}\n' > "$tmp/net.yaml"
expect 3 "built-in network: .*regions are others" -- "$bin" run "$tmp/net.yaml" -o "$tmp/out/r.h5"; no_output
[ $fail = 0 ] && echo "own book: ok"
exit $fail
