#!/usr/bin/env bash
# Installs what cascade needs to build, test and read its results, from
# Debian 12 packages only. Run as root, or as a user who may sudo.
# Open MPI and the MPI build of HDF5 are for the MPI program (docs/CLUSTER.md;
# bench/h5write.sh uses the MPI HDF5): installing libhdf5-openmpi-dev points
# `pkg-config hdf5` at the MPI build, but cascade's CMake asks FindHDF5,
# which keeps the serial library (CMakeLists.txt checks it). clang and
# LLVM's OpenMP runtime (with its Archer tool) are for the race check
# (scripts/race.sh, docs/TESTING.md) and the fuzz targets.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git procps
  libhdf5-dev hdf5-tools libyaml-dev libjansson-dev libssl-dev libcriterion-dev zlib1g-dev
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
  clang libomp-14-dev
  python3 python3-h5py python3-numpy python3-xarray python3-h5netcdf python3-netcdf4
  python3-pandas python3-matplotlib python3-pytest
  chromium fonts-liberation
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
