#!/usr/bin/env bash
# The example job scripts of docs/cluster (docs/CLUSTER.md) are valid: bash
# parses them; their #SBATCH lines come before the first command (Slurm
# reads no further) and each is one known sbatch option in --name=value
# form; every option they give cascade is one `cascade run --help` or
# `cascade batch --help` lists, and every mpirun option one Open MPI's
# `mpirun --help all` lists (when mpirun is installed).
set -uo pipefail
source "$(dirname "$0")/common.bash"
dir=$src/docs/cluster
sbatch_known=" job-name nodes ntasks ntasks-per-node cpus-per-task mem time output array "
n=0
for f in "$dir"/*; do
  n=$((n + 1))
  name=$(basename "$f")
  bash -n "$f" || { echo "FAIL: $name: bash cannot parse it"; fail=1; }
  head -1 "$f" | grep -q '^#!' || { echo "FAIL: $name: no #! line"; fail=1; }
  # directives only before the first command
  first_cmd=$(grep -n -v -E '^[[:space:]]*(#|$)' "$f" | head -1 | cut -d: -f1)
  while IFS=: read -r line text; do
    [ "$line" -lt "${first_cmd:-999999}" ] || { echo "FAIL: $name:$line: #SBATCH after the first command (Slurm ignores it)"; fail=1; }
    opt=$(sed -E -n 's/^#SBATCH --([a-z-]+)=[^ ]+$/\1/p' <<<"$text")
    [ -n "$opt" ] || { echo "FAIL: $name:$line: expected '#SBATCH --option=value', got '$text'"; fail=1; continue; }
    [[ $sbatch_known == *" $opt "* ]] || { echo "FAIL: $name:$line: unknown sbatch option --$opt"; fail=1; }
  done < <(grep -n '^#SBATCH' "$f")
  # the cascade commands, continuation lines joined
  joined=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$f" | grep -v '^[[:space:]]*#')
  while read -r cmd rest; do
    help=$("$bin" "$cmd" --help 2>&1)
    for opt in $(grep -oE '(^| )--[a-z][a-z-]*' <<<"$rest" | tr -d ' '); do
      grep -qE -- "$opt\b" <<<"$help" || { echo "FAIL: $name: cascade $cmd has no option $opt"; fail=1; }
    done
  done < <(grep -oE 'cascade (run|batch)( [^;|&]*)?' <<<"$joined" | sed 's/^cascade //')
  if command -v mpirun > /dev/null && grep -q '^[[:space:]]*mpirun ' <<<"$joined"; then
    root=()
    [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)   # else mpirun refuses even --help
    mhelp=$(mpirun "${root[@]}" --help all 2>&1)
    for opt in $(grep -E '^[[:space:]]*mpirun ' <<<"$joined" | sed 's/cascade.*//' | grep -oE ' --?[a-z][a-z-]*' | tr -d ' '); do
      grep -qE -- "(^|[ ,|])$opt([ ,|=]|$)" <<<"$mhelp" || { echo "FAIL: $name: mpirun has no option $opt"; fail=1; }
    done
  fi
done
[ "$n" -ge 3 ] || { echo "FAIL: expected the 3 example job scripts in docs/cluster, found $n"; fail=1; }
[ $fail = 0 ] && echo "job scripts: $n checked"
exit $fail
