#!/usr/bin/env bash
# `cascade portfolio --export` writes the built-in book as CSV that loads
# back as a portfolio giving the same summary.
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" portfolio --loans 5000 --seed 9 --export "$tmp/book.csv" > "$tmp/builtin.txt"
head -1 "$tmp/book.csv" | grep -q '^id,region,sector,ead,pd,lgd'
[ "$(wc -l < "$tmp/book.csv")" = 5001 ] || { echo "FAIL: expected 5000 rows"; exit 1; }
"$bin" portfolio --from "$tmp/book.csv" --classification yrd > "$tmp/fromcsv.txt"
# Everything but the source line must agree.
diff <(tail -n +2 "$tmp/builtin.txt" | grep -v '^wrote') <(tail -n +2 "$tmp/fromcsv.txt") \
  || { echo "FAIL: summaries differ"; exit 1; }
ls "$tmp" | grep -q tmp && { echo "FAIL: temporary file left"; exit 1; }
echo "portfolio export round trip: ok"
