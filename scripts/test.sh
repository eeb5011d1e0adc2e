#!/usr/bin/env bash
# Builds cascade and runs the whole test suite (criterion unit tests, the
# command-line tests and the Python tests) through CTest; then builds the
# MPI program and runs it on 2 ranks under mpirun, comparing its files with
# the one-process program's (tests/mpi, docs/CLUSTER.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j 2 "$@"
scripts/build.sh mpi
ctest --test-dir build-mpi -L mpi --output-on-failure
