#!/usr/bin/env bash
# Configures and builds cascade (Release) in build/; prints the log only if
# something fails. `scripts/build.sh mpi` builds the MPI + OpenMP program
# (-DCASCADE_MPI=ON, docs/CLUSTER.md) in build-mpi/ instead, its MPI tests
# comparing it with build/cascade.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = mpi ]; then
  dir=build-mpi
  config=(-DCASCADE_MPI=ON -DCASCADE_SERIAL_BINARY="$PWD/build/cascade")
  target=(--target cascade)
else
  dir=build
  config=()
  target=()
fi
mkdir -p "$dir"
log=$dir/build.log
{ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "${config[@]}" &&
  cmake --build "$dir" -j "$(nproc)" "${target[@]}"; } > "$log" 2>&1 \
  || { cat "$log"; exit 1; }
