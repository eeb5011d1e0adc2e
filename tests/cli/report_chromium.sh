#!/usr/bin/env bash
# `cascade report` rendered by headless Chromium: the page is not blank,
# every plot is drawn (the page's own check, read back from the DOM), and
# the check itself notices a broken plot. Chromium missing is a failure,
# not a skip: CI installs it (scripts/install-deps.sh).
set -uo pipefail
source "$(dirname "$0")/common.bash"
py=/usr/bin/python3

command -v chromium >/dev/null || die "chromium not found (apt-get install chromium; scripts/install-deps.sh)"
chrome() { # chrome OUTPUT-FLAG... FILE
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --virtual-time-budget=5000 "$@" 2>/dev/null
}

for s in baseline tech_funding_winter baseline_contagion; do
  "$bin" run "$src/scenarios/$s.yaml" --paths 1000 --loans 20000 -q -o "$tmp/$s.h5" || die "run $s"
done
"$bin" report "$tmp/baseline.h5" "$tmp/tech_funding_winter.h5" "$tmp/baseline_contagion.h5" \
  -o "$tmp/report.html" || die "report exited $?"
[ "$(ls "$tmp" | grep -c 'report.html')" = 1 ] || die "expected exactly report.html, got: $(ls "$tmp")"

# No external resources: nothing fetched from anywhere.
if grep -Eq '(src|href)="(https?:)?//|@import|url\(' "$tmp/report.html"; then
  echo "FAIL: the page refers to external resources"; fail=1
fi

nplots=$(grep -o '<svg class="plot"' "$tmp/report.html" | wc -l)
# 2 distributions x 5 per-path outputs, region+sector bars for 10 outputs,
# contagion share by level, region, sector: far more than 20.
[ "$nplots" -ge 20 ] || { echo "FAIL: only $nplots plots in the page"; fail=1; }

# verdict FILE: "ok total" as written by the page's check script
verdict() {
  chrome --dump-dom "file://$1" > "$tmp/dom.html"
  $py - "$tmp/dom.html" <<'PY'
import re, sys
m = re.search(r'id="plot-check"[^>]*', open(sys.argv[1], encoding="utf-8").read())
ok = re.search(r'data-ok="(\d+)"', m.group(0)) if m else None
tot = re.search(r'data-total="(\d+)"', m.group(0)) if m else None
print(ok.group(1) if ok else "none", tot.group(1) if tot else "none")
PY
}
read -r ok total <<<"$(verdict "$tmp/report.html")"
if [ "$ok" != "$nplots" ] || [ "$total" != "$nplots" ]; then
  echo "FAIL: plots drawn: $ok of $total, the page has $nplots"; fail=1
fi

# The screenshot is a drawn page: many colours, a fair share of ink, and the
# scenarios' plot colours (black, #0072B2, #D55E00) present.
chrome --screenshot="$tmp/shot.png" --window-size=1280,4000 "file://$tmp/report.html" >/dev/null
[ -s "$tmp/shot.png" ] || die "no screenshot"
$py - "$tmp/shot.png" <<'PY' || fail=1
import sys
import numpy as np
import matplotlib.image as mpimg
img = (mpimg.imread(sys.argv[1])[:, :, :3] * 255).round().astype(np.uint8)
h, w, _ = img.shape
flat = img.reshape(-1, 3)
colours = len(np.unique(flat[:: 7], axis=0))
ink = float(np.mean(np.any(flat < 235, axis=1)))
def has(rgb, tol=12):
    return int(np.sum(np.all(np.abs(flat.astype(int) - rgb) <= tol, axis=1)))
blue, red = has((0x00, 0x72, 0xB2)), has((0xD5, 0x5E, 0x00))
print(f"screenshot {w}x{h}: {colours} distinct colours, {100*ink:.1f}% ink, "
      f"{blue} px of scenario 2's colour, {red} px of scenario 3's")
ok = (w, h) == (1280, 4000) and colours >= 200 and ink >= 0.03 and blue >= 500 and red >= 500
if not ok:
    print("FAIL: the screenshot looks blank or the plots are missing")
sys.exit(0 if ok else 1)
PY

# The check notices a broken plot: strip the data marks (lines, markers,
# bars) from the third plot, keeping its frame, axes and legend.
$py - "$tmp/report.html" "$tmp/broken.html" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
s = [m.start() for m in re.finditer(r'<svg class="plot"', html)][2]
e = html.index("</svg>", s)
body = re.sub(r'<polyline class="series"[^>]*/>|<circle class="mark"[^>]*/>|<rect class="bar".*?</rect>', "", html[s:e])
assert body != html[s:e]
open(sys.argv[2], "w", encoding="utf-8").write(html[:s] + body + html[e:])
PY
read -r ok total <<<"$(verdict "$tmp/broken.html")"
if [ "$ok" != "$((nplots - 1))" ] || [ "$total" != "$nplots" ]; then
  echo "FAIL: a broken plot was not noticed: drawn $ok of $total"; fail=1
fi

[ $fail = 0 ] && echo "report in chromium: $nplots of $nplots plots drawn; a broken plot is caught"
exit $fail
