# Shared by the command-line tests (sourced, not a test itself: ctest runs
# tests/cli/*.sh). Sets bin and src from the arguments (BINARY SOURCE_DIR),
# a temporary folder $tmp removed at exit, fail=0, and:
#   die MESSAGE                      stop the test now
#   expect CODE PATTERN -- COMMAND   the exit code and a pattern in stdout+stderr
#   no_output                        nothing (not even a temporary) in $tmp/out
bin=$1 src=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
die() { echo "FAIL: $*"; exit 1; }
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$code" ]; then echo "FAIL: exit $rc, expected $code: $*"; echo "$out"; fail=1; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then echo "FAIL: message does not match '$pattern': $*"; echo "$out"; fail=1; fi
}
no_output() {
  if [ -n "$(ls -A "$tmp/out" 2>/dev/null)" ]; then echo "FAIL: files left in output folder: $(ls "$tmp/out")"; fail=1; fi
}
