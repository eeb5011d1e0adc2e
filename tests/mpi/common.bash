# Shared by the MPI tests (sourced; ctest runs tests/mpi/*.sh with the
# arguments MPI_BINARY SOURCE_DIR SERIAL_BINARY MPIEXEC). Sets mbin (the
# program built with -DCASCADE_MPI=ON), src, sbin (the one-process program
# of the default build, or the MPI one run without a launcher, which then
# does not start MPI), mpiexec, a temporary folder $tmp removed at exit,
# and mpirun_np N ARGS...: mpiexec with N ranks, allowed as root and on
# fewer cores than ranks (ENVIRONMENT.md), with a time limit so that a
# hang fails the test instead of holding CI.
mbin=$1 src=$2 sbin=${3:-$1} mpiexec=${4:-mpirun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
mpirun_np() {
  local np=$1; shift
  local root=()
  [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
  timeout 300 "$mpiexec" --oversubscribe "${root[@]}" -np "$np" "$@"
}
same_datasets() { /usr/bin/python3 "$src/tests/tools/same_datasets.py" "$@"; }
