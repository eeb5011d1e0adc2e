#!/usr/bin/env bash
# Done when of docs/CLUSTER.md: under mpirun, 2 ranks of 1 thread (and 3
# ranks of 2 threads) write the file one process writes with --threads 1:
# every dataset, per path and summary, byte for byte, and every attribute
# but the informational ones (tests/tools/same_datasets.py). One-year and
# three-year scenarios, with contagion, with importance sampling, with a
# book and links read from CSV files (rank 0 reads and sends them), with
# segments stored per path and with sums by chunk instead.
set -uo pipefail
source "$(dirname "$0")/common.bash"
S=$src/scenarios
# The files record the version (commit, and a fingerprint of uncommitted
# changes): both programs must come from one tree.
[ "$("$sbin" --version)" = "$("$mbin" --version)" ] ||
  { echo "FAIL: $sbin is $("$sbin" --version), $mbin is $("$mbin" --version): build both from one tree (scripts/test.sh)"; exit 1; }

"$sbin" portfolio --loans 6000 --export "$tmp/book.csv" > /dev/null || exit 1
"$sbin" network --loans 6000 --from "$tmp/book.csv" --export "$tmp/links.csv" > /dev/null 2>&1 || exit 1
cat > "$tmp/own.yaml" <<EOT
extends: $S/baseline_contagion.yaml
name: own
portfolio: {file: book.csv}
network: {file: links.csv}
model: {lgd: beta}
output: {per_path: [region, sector]}
EOT
cat > "$tmp/contagion_3y.yaml" <<EOT
extends: $S/baseline_3y.yaml
name: contagion_3y
contagion:
  model: network
  spillover:
    - {region: zhejiang, sector: inclusive_micro, factor: region.jiangsu, beta: 5}
EOT

check() {   # name ranks threads scenario args...
  local name=$1 np=$2 th=$3; shift 3
  "$sbin" run "$@" --threads 1 -q -o "$tmp/$name.one.h5" || { echo "FAIL: $name: one process failed"; fail=1; return; }
  mpirun_np "$np" "$mbin" run "$@" --threads "$th" -q -o "$tmp/$name.mpi.h5" \
    || { echo "FAIL: $name: $np ranks failed"; fail=1; return; }
  local out
  if out=$(same_datasets "$tmp/$name.one.h5" "$tmp/$name.mpi.h5"); then
    echo "$name, $np ranks x $th threads: $out"
  else
    echo "FAIL: $name, $np ranks x $th threads:"; echo "$out"; fail=1
  fi
  /usr/bin/python3 - "$tmp/$name.mpi.h5" "$np" <<'EOT' || fail=1
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    if int(f.attrs["ranks"]) != int(sys.argv[2]):
        sys.exit(f"FAIL: the file records {f.attrs['ranks']} ranks, not {sys.argv[2]}")
EOT
}

check one_year 2 1 "$S/baseline.yaml" --loans 20000 --paths 1000
check three_years 2 1 "$S/baseline_3y.yaml" --loans 20000 --paths 600
check contagion 2 1 "$S/baseline_contagion.yaml" --loans 20000 --paths 600
check contagion_3y 2 1 "$tmp/contagion_3y.yaml" --loans 10000 --paths 400
check importance 2 1 "$S/baseline.yaml" --loans 20000 --paths 1000 --importance-sampling 0.999
check importance_3y 2 1 "$S/baseline_3y.yaml" --loans 20000 --paths 600 --importance-sampling 0.99
check contagion_importance 2 1 "$S/baseline_contagion.yaml" --loans 20000 --paths 600 --importance-sampling 0.999
check csv_book_chunks 3 2 "$tmp/own.yaml" --paths 1003 --importance-sampling 0.99
check few_paths 5 1 "$S/baseline.yaml" --loans 2000 --paths 100
[ $fail = 0 ] && echo "MPI runs identical to one process"
exit $fail
