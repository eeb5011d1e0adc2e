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
# With contagion (PD-preserving: the calibration's pilot runs on the threads
# too) and the network's guarantees: every dataset of the file.
"$bin" run "$src/scenarios/baseline_contagion.yaml" --loans 20000 --paths 1000 --threads 1 -q -o "$tmp/c1.h5"
"$bin" run "$src/scenarios/baseline_contagion.yaml" --loans 20000 --paths 1000 --threads 2 -q -o "$tmp/c2.h5"
/usr/bin/python3 - "$tmp/c1.h5" "$tmp/c2.h5" <<'EOF2'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    names = sorted(k for k in a if isinstance(a[k], h5py.Dataset))
    assert names == sorted(k for k in b if isinstance(b[k], h5py.Dataset))
    for must in ("loss_contagion", "loss_double_default", "calibration_threshold_offset",
                 "defaults_by_segment", "default_rate"):
        assert must in names, must
    def value(d):
        v = d[()]
        return v.tobytes() if hasattr(v, "tobytes") else v   # strings come as bytes
    differ = [k for k in names if value(a[k]) != value(b[k]) if a[k].dtype.kind != "O"]
    differ += [k for k in names if a[k].dtype.kind == "O" and
               list(a[k][()].flat if a[k].shape else [a[k][()]]) !=
               list(b[k][()].flat if b[k].shape else [b[k][()]])]
    if differ:
        sys.exit(f"FAIL: baseline_contagion: differ between 1 and 2 threads: {differ}")
    print(f"baseline_contagion: all {len(names)} datasets identical")
EOF2
echo "1 and 2 threads: identical datasets"
