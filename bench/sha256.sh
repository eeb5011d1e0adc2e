#!/bin/bash
# Digest throughput of cas_sha256_file (sim/core/sha256.h), the call that
# hashes a batch's input files and a result's CSV inputs:
#
#     bench/sha256.sh            # the working tree's library
#     bench/sha256.sh REV        # the library of commit REV (e.g. an older one)
#     REPS=N SIZE_MIB=M bench/sha256.sh   # N timed runs (5) on M MiB (1024)
#
# Builds cascade_core (Release, as scripts/build.sh) from the working tree or
# from `git archive REV` into a temporary folder, links a small driver
# against it, writes a file of SIZE_MIB MiB of random bytes in the same
# folder (and waits until it is on disk), hashes it once untimed (so the file is in the page cache and the
# figures measure hashing, not the disk), then REPS times, each timed with
# CLOCK_MONOTONIC. Prints every time and the median in MiB/s.
# Everything lives in one folder under ${TMPDIR:-/tmp}, removed at exit.
set -euo pipefail

REPS=${REPS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
rev=${1:-}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sha256bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -n "$rev" ]; then
  mkdir "$tmp/src"
  git -C "$src" archive "$rev" | tar -x -C "$tmp/src"
  tree=$tmp/src
  label=$(git -C "$src" rev-parse --short=12 "$rev")
else
  tree=$src
  label="working tree ($(git -C "$src" describe --always --dirty --abbrev=12))"
fi
echo "building cascade_core of $label" >&2
{ cmake -S "$tree" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DCASCADE_TESTS=OFF &&
  cmake --build "$tmp/build" --target cascade_core -j "$(nproc)"; } >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; exit 1; }

cat >"$tmp/driver.c" <<'EOF'
/* Hashes argv[1] with cas_sha256_file argv[2] + 1 times (the first untimed)
 * and prints the seconds of each timed run, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sha256.h"

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int reps = atoi(argv[2]);
  for (int i = 0; i <= reps; i++) {
    char hex[CAS_SHA256_HEX];
    cas_error err = {0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (cas_sha256_file(argv[1], hex, NULL, &err) != CAS_OK) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (i == 0) fprintf(stderr, "digest %s\n", hex);
    else printf("%.4f\n", (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec));
  }
  return 0;
}
EOF
# The static library brings only the objects the driver needs (sha256.o,
# error.o); libcrypto is on the line for a library that uses it.
cc -std=gnu11 -O2 -Wall -Wextra -I"$tree/sim/core" -o "$tmp/driver" "$tmp/driver.c" \
  "$tmp/build/libcascade_core.a" $(pkg-config --libs libcrypto) -lm

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$tmp/input"
sync "$tmp/input" # its write-back to disk would otherwise run during the timings
"$tmp/driver" "$tmp/input" "$REPS" >"$tmp/times"
median=$(sort -g "$tmp/times" | sed -n "$(((REPS + 1) / 2))p")
echo "$label: $SIZE_MIB MiB, seconds: $(tr '\n' ' ' <"$tmp/times")"
awk -v s="$median" -v m="$SIZE_MIB" 'BEGIN { printf "median %.3f s = %.0f MiB/s\n", s, m / s }'
