#!/usr/bin/env bash
# One scenario on several machines with Open MPI's mpirun (docs/CLUSTER.md):
# one rank per machine, each with all its cores as OpenMP threads; rank 0
# reads the book, gathers the paths and writes the file. The file is the
# one a single process writes with the same seed, byte for byte in every
# dataset.
#
#   docs/cluster/mpirun.sh HOSTFILE SCENARIO.yaml OUT.h5 [cascade run options]
#
# HOSTFILE lists the machines, one per line with "slots=1"; cascade must be
# built with -DCASCADE_MPI=ON (scripts/build.sh mpi) at the same path on
# every machine, and the scenario's files must be readable on rank 0.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,13p' "$0"; exit 2; }
hostfile=$1 scenario=$2 out=$3
shift 3
root=$(cd "$(dirname "$0")/../.." && pwd)
ranks=$(grep -cv '^[[:space:]]*\(#\|$\)' "$hostfile")
threads=${THREADS:-$(nproc)}
export OMP_PROC_BIND=close OMP_PLACES=cores
mpirun --hostfile "$hostfile" -np "$ranks" --map-by ppr:1:node --bind-to none \
  -x OMP_PROC_BIND -x OMP_PLACES \
  "$root/build-mpi/cascade" run "$scenario" --threads "$threads" -q -o "$out" "$@"
