#!/usr/bin/env bash
# The main job on the built-in default portfolio: installs what is missing,
# builds, runs the baseline and every stress scenario shipped in scenarios/
# as one batch (one HDF5 file each under results/, with manifest.json and
# batch.log; run again after an interruption, it finishes the batch), prints
# their comparison and writes the HTML report results/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# reference.yaml documents every key; it is not a scenario of the batch
mapfile -t scenarios < <(ls scenarios/*.yaml | grep -v -e '/reference\.yaml$')
build/cascade batch "${scenarios[@]}" --out results
results=(results/baseline.h5)
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .yaml)
  [ "$name" = baseline ] || results+=("results/$name.h5")
done
echo
echo "== comparison (baseline first)"
build/cascade compare "${results[@]}"
build/cascade report "${results[@]}" -o results/report.html
echo
echo "report: results/report.html; manifest: results/manifest.json"
