#!/bin/bash
# Gather-to-rank-0 + serial HDF5 write versus parallel HDF5 (MPI-IO,
# collective) for cascade's per-path result arrays: builds bench/h5write.c
# with the MPI build of HDF5 into a temporary folder, runs it on 2 ranks for
# a few array sizes and prints a Markdown table of the median wall times.
#
#     bench/h5write.sh            # REPS=N bench/h5write.sh: N repetitions (11)
#
# Everything (binary, HDF5 files) lives in one temporary folder under
# ${TMPDIR:-/tmp}, removed at exit.  See the comment at the top of
# bench/h5write.c for what exactly is timed.
set -euo pipefail

REPS=${REPS:-11}
NP=2
SIZES=("100000 1" "100000 32" "1000000 1" "1000000 32")

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/h5write.c
tmp=$(mktemp -d "${TMPDIR:-/tmp}/h5write.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if command -v h5pcc >/dev/null 2>&1; then
    build=(h5pcc -std=gnu11 -O2 -Wall -Wextra -o "$tmp/h5write" "$src")
else
    read -r -a hdf5_flags <<<"$(pkg-config --cflags --libs hdf5-openmpi)"
    build=(mpicc -std=gnu11 -O2 -Wall -Wextra -o "$tmp/h5write" "$src"
           "${hdf5_flags[@]}")
fi
echo "build: ${build[*]}" >&2
# In the temporary folder: h5pcc compiles to ./h5write.o and leaves it there.
(cd "$tmp" && "${build[@]}")

mpirun_cmd=(mpirun --oversubscribe)
if [ "$(id -u)" -eq 0 ]; then
    mpirun_cmd+=(--allow-run-as-root)
fi
mpirun_cmd+=(-np "$NP")

# Value of key=value in the program's "result" line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

rows=()
notes=()
for size in "${SIZES[@]}"; do
    read -r paths width <<<"$size"
    out=$tmp/out
    mkdir -p "$out"
    echo "run: ${mpirun_cmd[*]} h5write $paths $width $REPS $out" >&2
    "${mpirun_cmd[@]}" "$tmp/h5write" "$paths" "$width" "$REPS" "$out" \
        >"$tmp/log"
    result=$(grep '^result ' "$tmp/log")

    if command -v h5diff >/dev/null 2>&1; then
        if h5diff -q "$out/gather.h5" "$out/parallel.h5"; then
            same="h5diff: identical"
        else
            echo "h5diff: files differ for paths=$paths width=$width" >&2
            exit 1
        fi
    else
        same="h5diff not found (read-back check only)"
    fi

    g=$(field gather_median_s "$result")
    p=$(field parallel_median_s "$result")
    bytes=$(field data_bytes "$result")
    rows+=("$(awk -v n="$paths" -v w="$width" -v b="$bytes" -v g="$g" \
        -v p="$p" 'BEGIN { printf "| %d | %d | %.1f | %.4f | %.4f | %.2f |",
                   n, w, b / 1e6, g, p, p / g }')")
    notes+=("$(awk -v n="$paths" -v w="$width" \
        -v m="$(field gather_mpi_bytes "$result")" \
        -v c="$(field gather_comm_median_s "$result")" \
        -v fg="$(field gather_file_bytes "$result")" \
        -v fp="$(field parallel_file_bytes "$result")" \
        -v mode="$(field parallel_io_mode "$result")" \
        -v vg="$(field verify_gather_bad "$result")" \
        -v vp="$(field verify_parallel_bad "$result")" -v same="$same" \
        'BEGIN { printf "- %d x %d: gather moves %.1f MB over MPI to " \
                 "rank 0 (allocation + copy + receive: median %.4f s); " \
                 "file bytes gather/parallel %d / %d; HDF5 says the " \
                 "parallel write was %s; read-back errors %d / %d; %s",
                 n, w, m / 1e6, c, fg, fp, mode, vg, vp, same }')")
    rm -rf "$out"
done

echo
echo "$NP ranks, median of $REPS repetitions (after 1 warm-up), wall time"
echo "from a barrier until the file is closed on all ranks; MB = 10^6 bytes"
echo "of data written to the file by either way; ratio = parallel / gather."
echo
echo "| paths | width | MB | gather+serial write median s | parallel collective median s | ratio |"
echo "|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
printf '%s\n' "${notes[@]}"
