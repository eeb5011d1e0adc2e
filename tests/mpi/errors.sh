#!/usr/bin/env bash
# Under mpirun, an error on any rank ends the run on every rank, soon, with
# a non-zero exit code on each, one message (rank 0's print of the first
# failing rank's error) and no output file (nor temporary): a bad scenario, a bad CSV book
# (rank 0 reads it, every rank parses it), an output that cannot be written
# (found before anything is simulated), and a rank short of memory while
# rank 0 is not (a memory limit on rank 1 alone), a full disk while rank 0
# writes (a file-size limit on rank 0 alone). Each rank's exit code is
# recorded by a wrapper that itself exits 0, so that mpirun does not kill
# the others first.
set -uo pipefail
source "$(dirname "$0")/common.bash"
mkdir -p "$tmp/out"
B=$src/scenarios/baseline.yaml

expect_all() {   # code pattern -- cascade-args... ; rank 0 and 1 may run under prefixes $rank0, $rank1
  local code=$1 pattern=$2; shift 3
  rm -f "$tmp"/rc.* "$tmp/log"
  local start=$SECONDS
  mpirun_np 1 bash -c "${rank0:-}"'"$@" > "'"$tmp"'/log.0" 2>&1; echo $? > "'"$tmp"'/rc.0"' _ "$mbin" "$@" : \
            -np 1 bash -c "${rank1:-}"'"$@" > "'"$tmp"'/log.1" 2>&1; echo $? > "'"$tmp"'/rc.1"' _ "$mbin" "$@"
  local took=$((SECONDS - start))
  for r in 0 1; do
    [ -f "$tmp/rc.$r" ] || { echo "FAIL: rank $r did not finish: $*"; fail=1; continue; }
    [ "$(cat "$tmp/rc.$r")" = "$code" ] || { echo "FAIL: rank $r exit $(cat "$tmp/rc.$r"), expected $code: $*"; cat "$tmp/log.$r"; fail=1; }
  done
  grep -qE -- "$pattern" "$tmp/log.0" || { echo "FAIL: rank 0 does not say '$pattern': $*"; cat "$tmp/log.0"; fail=1; }
  [ "$(grep -c 'cascade:' "$tmp/log.0")" = 1 ] || { echo "FAIL: rank 0 printed $(grep -c 'cascade:' "$tmp/log.0") messages"; cat "$tmp/log.0"; fail=1; }
  [ -s "$tmp/log.1" ] && { echo "FAIL: rank 1 printed something"; cat "$tmp/log.1"; fail=1; }
  [ -z "$(ls -A "$tmp/out")" ] || { echo "FAIL: files left: $(ls "$tmp/out")"; fail=1; }
  echo "exit $code on both ranks in ${took} s: $(head -c 160 "$tmp/log.0")"
}

printf 'name: bad\npaths: -3\n' > "$tmp/bad.yaml"
expect_all 3 "bad.yaml:2:8: paths" -- run "$tmp/bad.yaml" -o "$tmp/out/r.h5"
printf 'id,region,sector,ead,pd,lgd\na,north,mining,1,0.02,0.5\nb,north,mining,x,0.02,0.5\n' > "$tmp/book.csv"
printf 'name: book\npaths: 200\nportfolio: {file: book.csv}\n' > "$tmp/book.yaml"
expect_all 3 "book.csv:3:16: ead" -- run "$tmp/book.yaml" -o "$tmp/out/r.h5"
printf 'name: nobook\npaths: 200\nportfolio: {file: missing.csv}\n' > "$tmp/nobook.yaml"
expect_all 3 "missing.csv" -- run "$tmp/nobook.yaml" -o "$tmp/out/r.h5"
expect_all 4 "$tmp/none/r.h5: cannot create \(folder" -- run "$B" --loans 2000 --paths 200 -o "$tmp/none/r.h5"
mkdir -p "$tmp/dir.h5"
expect_all 4 "$tmp/dir.h5: cannot create \(it is a directory" -- run "$B" --loans 2000 --paths 200 -o "$tmp/dir.h5"
# 8 million paths: 4 GB of results per rank, allocated (not touched) before
# any path runs; rank 1 may have 2 GB of address space.
rank1='ulimit -v 2000000; ' expect_all 5 "rank 1 of 2: out of memory" -- \
  run "$B" --loans 2000 --paths 8000000 -q -o "$tmp/out/r.h5"
# a full disk while rank 0 writes the file (a file-size limit on rank 0)
rank0='trap "" XFSZ; ulimit -f 16; ' expect_all 4 "r.h5: cannot write \(File too large" -- \
  run "$B" --loans 2000 --paths 20000 -q -o "$tmp/out/r.h5"
expect_all 2 "only 'cascade run' runs on 2 MPI ranks" -- validate "$B"

# SIGTERM to mpirun while rank 0 writes the file: mpirun passes it on, rank
# 0 removes its temporary, the job ends non-zero, nothing is left.
rm -rf "$tmp/out"; mkdir -p "$tmp/out"
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
"$mpiexec" --oversubscribe "${root[@]}" -np 2 "$mbin" run "$B" --loans 2000 --paths 150000 -q \
  -o "$tmp/out/r.h5" > /dev/null 2>&1 & job=$!
waited=0
until ls "$tmp/out" | grep -q '\.tmp\.'; do
  sleep 0.1; waited=$((waited + 1))
  [ $waited -lt 1800 ] || { echo "FAIL: no temporary file appeared under mpirun"; kill -9 $job; fail=1; break; }
done
kill -TERM $job
wait $job && { echo "FAIL: mpirun exited 0 after SIGTERM"; fail=1; }
sleep 1
[ -z "$(ls -A "$tmp/out")" ] || { echo "FAIL: SIGTERM under mpirun left: $(ls "$tmp/out")"; fail=1; }
[ $fail = 0 ] && echo "MPI errors: ok"
exit $fail
