#!/usr/bin/env bash
# The same scenario with 1 and 2 threads gives identical bytes in every
# per-path dataset and every summary dataset (compared with h5diff, which
# reports any difference, however small, when no tolerance is given).
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" run "$src/scenarios/baseline.yaml" --loans 20000 --paths 1000 --threads 1 -q -o "$tmp/t1.h5"
"$bin" run "$src/scenarios/baseline.yaml" --loans 20000 --paths 1000 --threads 2 -q -o "$tmp/t2.h5"
for ds in loss defaults loss_by_segment factor_value el sd var es var_se es_se es_contribution \
          el_by_segment scenario_resolved scenario_text; do
  h5diff "$tmp/t1.h5" "$tmp/t2.h5" "/$ds" "/$ds" || { echo "FAIL: /$ds differs between 1 and 2 threads"; exit 1; }
done
echo "1 and 2 threads: identical datasets"
