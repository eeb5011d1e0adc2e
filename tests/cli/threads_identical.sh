#!/usr/bin/env bash
# The same scenario with 1 and 2 threads gives identical bytes in every
# per-path dataset and every summary dataset (compared with h5diff, which
# reports any difference, however small, when no tolerance is given).
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# baseline.yaml, and a scenario with propagated factor shifts (the analytic
# expected loss is summed by segment in parallel).
for sc in baseline inclusive_micro_stress; do
  "$bin" run "$src/scenarios/$sc.yaml" --loans 20000 --paths 1000 --threads 1 -q -o "$tmp/t1.h5"
  "$bin" run "$src/scenarios/$sc.yaml" --loans 20000 --paths 1000 --threads 2 -q -o "$tmp/t2.h5"
  for ds in loss defaults loss_by_segment factor_value el sd var es var_se es_se es_contribution \
            el_by_segment stressed_expected_loss factor_shift factor_shift_given scenario_resolved \
            scenario_text; do
    h5diff "$tmp/t1.h5" "$tmp/t2.h5" "/$ds" "/$ds" ||
      { echo "FAIL: $sc: /$ds differs between 1 and 2 threads"; exit 1; }
  done
done
echo "1 and 2 threads: identical datasets"
