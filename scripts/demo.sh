#!/usr/bin/env bash
# The main job on the built-in default portfolio: installs what is missing,
# builds, runs the baseline and every stress scenario shipped in scenarios/
# (one HDF5 file each under results/) and prints their comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
results=()
for s in scenarios/baseline.yaml $(ls scenarios/*.yaml | grep -v -e baseline.yaml -e reference.yaml); do
  name=$(basename "$s" .yaml)
  echo "== $name"
  build/cascade run "$s" -o "results/$name.h5"
  results+=("results/$name.h5")
done
echo
echo "== comparison (baseline first)"
build/cascade compare "${results[@]}"
