#!/usr/bin/env bash
# The report shows datasets it has never heard of, from what they declare:
# a per-path dataset over a new `year` axis (mean per year, with a plot) and
# a scalar with its `_se` partner (value +- s.e.); and it escapes every
# string taken from a file.
set -uo pipefail
source "$(dirname "$0")/common.bash"
py=/usr/bin/python3

"$bin" run "$src/scenarios/baseline.yaml" --paths 500 --loans 5000 -q -o "$tmp/base.h5" || die "run"
cp "$tmp/base.h5" "$tmp/extended.h5"
$py - "$tmp/extended.h5" <<'PY' || die "could not extend the file"
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    loss = f["loss"][:]
    f["year"] = np.array([1, 2, 3], dtype=np.int32)
    f["year"].make_scale("year")
    f["year"].attrs["long_name"] = "year of the stress horizon"
    split = np.array([0.5, 0.3, 0.2])
    d = f.create_dataset("loss_by_year", data=loss[:, None] * split[None, :])
    d.dims[0].attach_scale(f["path"])
    d.dims[1].attach_scale(f["year"])
    d.attrs["units"] = "CNY"
    d.attrs["long_name"] = "loss in each year of the horizon <b>bold?</b>"
    f["mitigant_payout"] = 1234.5e6
    f["mitigant_payout"].attrs.update(units="CNY", long_name="payout of the risk-compensation pool")
    f["mitigant_payout_se"] = 6.75e6
    f["mitigant_payout_se"].attrs.update(units="CNY", long_name="Monte Carlo standard error of mitigant_payout")
    f.attrs["scenario_description"] = "<script>alert('x')</script> & co"
    # the expected table cells: mean loss per year in CNY mn, formatted as
    # the report formats numbers (grouped with one decimal from 100 up, four
    # significant digits below), so the check holds whatever the book's size
    cell = lambda v: f"{v:,.1f}" if abs(v) >= 100 else f"{v:.4g}"
    print(" ".join(cell(v) for v in split * loss.mean() / 1e6), file=open(sys.argv[1] + ".expect", "w"))
PY
$py "$src/tests/tools/reseal.py" "$tmp/extended.h5" # a file extended after cascade wrote it
"$bin" report "$tmp/base.h5" -o "$tmp/base.html" || die "report of the plain file"
"$bin" report "$tmp/base.h5" "$tmp/extended.h5" -o "$tmp/ext.html" || die "report of the extended file"
html=$tmp/ext.html

need() { grep -qF -- "$1" "$html" || { echo "FAIL: the report lacks: $1"; fail=1; }; }
need "loss in each year of the horizon &lt;b&gt;bold?&lt;/b&gt;"
need "<code>loss_by_year</code>"
need "payout of the risk-compensation pool"
need "1,234.5<span class=\"se\"> &plusmn; 6.75</span>"
need "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"
for v in $(cat "$tmp/extended.h5.expect"); do need "<td>$v"; done
if grep -q "<script>alert" "$html" || grep -q "<b>bold" "$html"; then
  echo "FAIL: a string from the file reached the page unescaped"; fail=1
fi
# one more plot than for the plain file: the yearly means
p0=$(grep -o '<svg class="plot"' "$tmp/base.html" | wc -l)
p1=$(grep -o '<svg class="plot"' "$html" | wc -l)
[ "$p1" = "$((p0 + 1))" ] || { echo "FAIL: expected $((p0 + 1)) plots with the new dataset, got $p1"; fail=1; }

[ $fail = 0 ] && echo "report: unknown datasets shown ($p0 -> $p1 plots), strings escaped"
exit $fail
