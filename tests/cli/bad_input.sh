#!/usr/bin/env bash
# Bad input: a clear message naming the file, the documented exit code, and
# no output file left behind (not even a temporary one).
set -uo pipefail
source "$(dirname "$0")/common.bash"
mkdir -p "$tmp/out"

printf 'name: broken\npaths: lots\n' > "$tmp/bad.yaml"
expect 3 "bad.yaml:2:8: .*paths" -- "$bin" run "$tmp/bad.yaml" -o "$tmp/out/r.h5"; no_output
printf 'name: typo\npathz: 100\n' > "$tmp/typo.yaml"
expect 3 "typo.yaml:2:1: .*pathz.*expected one of" -- "$bin" run "$tmp/typo.yaml" -o "$tmp/out/r.h5"; no_output
printf 'id,region,sector,ead,pd,lgd\nA,jiangsu,green,100,1.5,0.4\n' > "$tmp/bad.csv"
printf 'name: badcsv\nportfolio: {file: bad.csv}\n' > "$tmp/badcsv.yaml"
expect 3 "bad.csv:2:.*" -- "$bin" run "$tmp/badcsv.yaml" -o "$tmp/out/r.h5"; no_output
expect 3 "missing.yaml" -- "$bin" run "$tmp/missing.yaml" -o "$tmp/out/r.h5"; no_output
# A bad links file is caught by validate as well as by run.
printf 'id,region,sector,ead,pd,lgd\nA,jiangsu,green,100,0.01,0.4\nB,anhui,green,100,0.01,0.4\n' > "$tmp/two.csv"
printf 'from,to,type,weight\nA,B,supply_chain,0.5\nA,C,supply_chain,0.5\n' > "$tmp/links.csv"
printf 'name: badlinks\nportfolio: {file: two.csv}\nnetwork: {file: links.csv}\ncontagion: {enabled: true}\n' > "$tmp/badlinks.yaml"
expect 3 "links.csv:3:.*C" -- "$bin" validate "$tmp/badlinks.yaml"
expect 3 "links.csv:3:.*C" -- "$bin" run "$tmp/badlinks.yaml" -o "$tmp/out/r.h5"; no_output
expect 3 "typo.yaml:2:1" -- "$bin" validate "$tmp/typo.yaml"
expect 2 "--paths" -- "$bin" run "$src/scenarios/baseline.yaml" --paths -5 -o "$tmp/out/r.h5"; no_output
expect 2 "--threads" -- "$bin" run "$src/scenarios/baseline.yaml" --threads 0 -o "$tmp/out/r.h5"; no_output
expect 2 "unknown option" -- "$bin" run "$src/scenarios/baseline.yaml" --bogus; no_output
expect 2 "unknown kernel" -- "$bin" run "$src/scenarios/baseline.yaml" --kernel nope -o "$tmp/out/r.h5"; no_output
expect 2 "unknown command" -- "$bin" frobnicate
expect 4 "cannot create" -- "$bin" run "$src/scenarios/baseline.yaml" --loans 1000 --paths 100 -q -o "$tmp/no/such/dir/r.h5"
# An output that cannot be written is found before anything is simulated:
# 10^8 paths would take hours and allocate gigabytes first.
mkdir -p "$tmp/dir.h5"
expect 4 "dir.h5: cannot create \(it is a directory" -- "$bin" run "$src/scenarios/baseline.yaml" --loans 1000 --paths 100000000 -q -o "$tmp/dir.h5"
expect 4 "/no/such/dir/r.h5: cannot create \(folder .*: No such file" -- "$bin" run "$src/scenarios/baseline.yaml" --loans 1000 --paths 100000000 -q -o "$tmp/no/such/dir/r.h5"
expect 3 "not an HDF5 file|cannot read" -- "$bin" compare "$tmp/bad.yaml"
expect 0 "usage: cascade run" -- "$bin" run --help
expect 0 "usage: cascade validate" -- "$bin" validate --help
expect 0 "usage: cascade portfolio" -- "$bin" portfolio --help
expect 0 "usage: cascade compare" -- "$bin" compare --help
expect 0 "^cascade [0-9]" -- "$bin" --version

# A good run writes exactly one file, no temporaries.
expect 0 "result: " -- "$bin" run "$src/scenarios/baseline.yaml" --loans 2000 --paths 200 -o "$tmp/out/good.h5"
[ "$(ls "$tmp/out")" = "good.h5" ] || { echo "FAIL: expected only good.h5, got: $(ls "$tmp/out")"; fail=1; }
# ... and a later bad run does not touch it.
before=$(sha256sum "$tmp/out/good.h5")
expect 3 "typo.yaml" -- "$bin" run "$tmp/typo.yaml" -o "$tmp/out/good.h5"
[ "$before" = "$(sha256sum "$tmp/out/good.h5")" ] || { echo "FAIL: a failed run changed an existing result"; fail=1; }

# OMP_NUM_THREADS beyond what a run may use: libgomp crashed creating
# 100,000 threads (SIGSEGV), whatever --threads said; now a usage error
# for every command, before any work
OMP_NUM_THREADS=100000 expect 2 "OMP_NUM_THREADS: got '100000', expected at most 1024 threads" -- "$bin" run "$src/scenarios/baseline.yaml" --paths 200 --loans 1000 --threads 2 -o "$tmp/omp.h5"
OMP_NUM_THREADS=100000 expect 2 "OMP_NUM_THREADS: got '100000'" -- "$bin" portfolio --loans 1000 --export "$tmp/omp.csv"
# values libgomp only warns about (and then ignores): refused too
for v in 0 -1 abc '' 1e3 2,0 18446744073709551616; do
  OMP_NUM_THREADS=$v expect 2 "OMP_NUM_THREADS: got '$v', expected a positive number of threads" -- "$bin" run "$src/scenarios/baseline.yaml" --paths 200 --loans 1000 -o "$tmp/omp.h5"
done
for v in 1 4k 10B abc 100G 5G ''; do
  OMP_STACKSIZE=$v expect 2 "OMP_STACKSIZE: got '$v', expected a stack size per thread from 16K to 4G" -- "$bin" portfolio --loans 1000 --export "$tmp/omp.csv"
done
OMP_STACKSIZE=' 64 k ' expect 0 "" -- "$bin" portfolio --loans 100 -q
OMP_STACKSIZE=4G expect 0 "" -- "$bin" portfolio --loans 100 -q
OMP_THREAD_LIMIT=2,2 expect 2 "OMP_THREAD_LIMIT: got '2,2', expected a positive number of threads" -- "$bin" portfolio --loans 1000 --export "$tmp/omp.csv"
OMP_NUM_THREADS=' 2,1 ' expect 0 "" -- "$bin" portfolio --loans 1000 --export "$tmp/omp_ok.csv"
[ ! -e "$tmp/omp.h5" ] && [ ! -e "$tmp/omp.csv" ] || { echo "FAIL: output written despite OMP_NUM_THREADS"; fail=1; }

# --loans sizes the built-in book only: with a scenario that reads a CSV
# book, a usage error naming the CSV (the message read the name from the
# scenario after freeing it, and printed garbage)
"$bin" portfolio --loans 50 --export "$tmp/book50.csv" -q || die "export"
printf 'portfolio:\n  file: book50.csv\n' > "$tmp/csvbook.yaml"
msg="csvbook.yaml reads the portfolio from $tmp/book50.csv\$"
expect 2 "$msg" -- "$bin" validate "$tmp/csvbook.yaml" --loans 1000
expect 2 "$msg" -- "$bin" run "$tmp/csvbook.yaml" --loans 1000 -o "$tmp/out/x.h5"
expect 2 "$msg" -- "$bin" reverse "$tmp/csvbook.yaml" --loans 1000 --loss 100 -o "$tmp/out/x.h5"
[ ! -e "$tmp/out/x.h5" ] || { echo "FAIL: a result despite the usage error"; fail=1; }
# (a batch records the scenario as failed, with the same message)
expect 7 "failed: usage error: --loans sizes the built-in portfolio, but .*$msg" -- "$bin" batch "$tmp/csvbook.yaml" --loans 1000 --out "$tmp/b"

# a batch folder whose manifest, log or lock is a FIFO or a device: the
# batch held for ever on a FIFO and filled its memory from /dev/zero; now
# an I/O error (4) naming the file, in no time
for f in manifest.json batch.log .manifest.json.lock; do
  rm -rf "$tmp/fifo" && mkdir "$tmp/fifo" && mkfifo "$tmp/fifo/$f"
  expect 4 "fifo/$f.*(FIFO|not a regular file)" -- timeout 30 "$bin" batch "$src/scenarios/baseline.yaml" --paths 100 --loans 1000 -q --out "$tmp/fifo"
done
rm -rf "$tmp/dev" && mkdir "$tmp/dev" && ln -s /dev/zero "$tmp/dev/manifest.json"
expect 4 "dev/manifest.json: cannot create \(it is a character device" -- timeout 30 "$bin" batch "$src/scenarios/baseline.yaml" --paths 100 --loans 1000 -q --out "$tmp/dev"
rm -f "$tmp/dev/manifest.json" "$tmp/dev/batch.log" && ln -s /dev/full "$tmp/dev/batch.log"
expect 4 "dev/batch.log: not a regular file" -- timeout 30 "$bin" batch "$src/scenarios/baseline.yaml" --paths 100 --loans 1000 -q --out "$tmp/dev"

# standard output that cannot be written (a full disk): an I/O error, not
# a success with the output lost; the guarded commands' child too
"$bin" run "$src/scenarios/baseline.yaml" --paths 200 --loans 1000 -q -o "$tmp/small.h5" || die "small run"
expect 4 "writing to standard output: No space left on device" -- sh -c "\"$bin\" compare \"$tmp/small.h5\" > /dev/full"
expect 4 "writing to standard output" -- sh -c "\"$bin\" validate \"$src/scenarios/baseline.yaml\" > /dev/full"
expect 4 "writing to standard output" -- sh -c "\"$bin\" --help > /dev/full"
# compare takes no options: a mistyped one is a usage error, not a file
expect 2 "unknown option '-q'" -- "$bin" compare "$tmp/small.h5" -q
# money and levels are decimal numbers: no hexadecimal, inf or spaces
for v in 0x10 inf ' 5' 1e400; do
  expect 2 "--loss: got '$v', expected a loss in CNY above 0" -- "$bin" reverse "$src/scenarios/baseline.yaml" --loss "$v"
  expect 2 "--importance-sampling: got 'loss=$v'" -- "$bin" run "$src/scenarios/baseline.yaml" --importance-sampling "loss=$v"
done
# errors found after the scenario was read still say where the value is
"$bin" portfolio --loans 50 --export "$tmp/other.csv" -q || die "export"
sed -i 's/zhejiang/zz/' "$tmp/other.csv"
printf 'name: bn\npaths: 200\nportfolio: {file: other.csv}\nnetwork: {builtin: yrd}\n' > "$tmp/bn.yaml"
expect 3 "bn.yaml:4:20: network.builtin: built-in network: it is drawn for the delta's classification" -- "$bin" run "$tmp/bn.yaml" -q -o "$tmp/out/bn.h5"
# control bytes quoted from an input (an escape sequence in a CSV header)
# are shown as \xNN, not sent to the terminal
printf 'id,region,sector,ead,pd,lgd,col\033]0;owned\007or\n1,shanghai,green,1,0.01,0.4,x\n' > "$tmp/esc.csv"
out=$("$bin" portfolio --from "$tmp/esc.csv" 2>&1)
grep -q 'col\\x1b\]0;owned\\x07or' <<<"$out" || { echo "FAIL: control bytes not escaped: $(od -c <<<"$out" | head -5)"; fail=1; }
! grep -q $'\033' <<<"$out" || { echo "FAIL: a raw escape byte reached the terminal"; fail=1; }
# --classification belongs to a CSV book
expect 2 "--classification is that of a CSV book: it needs --from" -- "$bin" portfolio --classification yrd
# help COMMAND is the command's help
expect 0 "^usage: cascade run SCENARIO" -- "$bin" help run
expect 2 "unknown command 'bogus'" -- "$bin" help bogus
# a message naming a path of 5,000 characters still says what went wrong
long=$(printf 'x%.0s' $(seq 5000))
expect 3 "File name too long" -- "$bin" run "$tmp/$long.yaml"
expect 2 "expected one of: sparse, dense" -- "$bin" run "$src/scenarios/baseline.yaml" --kernel "$long"

[ $fail = 0 ] && echo "bad input: all cases pass"

exit $fail
