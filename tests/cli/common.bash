# Shared by the command-line tests (sourced, not a test itself: ctest runs
# tests/cli/*.sh). Sets bin and src from the arguments (BINARY SOURCE_DIR),
# a temporary folder $tmp removed at exit, fail=0, and:
#   die MESSAGE                      stop the test now
#   flunk MESSAGE                    a failure; the test goes on
#   expect CODE PATTERN -- COMMAND   the exit code and a pattern in stdout+stderr
#   no_output                        nothing (not even a temporary) in $tmp/out
#   stand_in NAME SOURCE             builds tests/tools/SOURCE into $tmp/NAME.so for
#                                    LD_PRELOAD; ends the test (passed, said) under a
#                                    sanitizer, whose runtime must be loaded first
bin=$1 src=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
die() { echo "FAIL: $*"; exit 1; }
flunk() { echo "FAIL: $*"; fail=1; }
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
stand_in() {
  local name=$1 source=$2
  if grep -q 'libasan\|libtsan' <<<"$(ldd "$bin" 2>/dev/null || true)"; then
    echo "$(basename "$0" .sh): skipped under a sanitizer (no LD_PRELOAD before its runtime)"
    exit 0
  fi
  local cc=${CC:-cc}
  command -v "$cc" >/dev/null || cc=gcc
  "$cc" -shared -fPIC -O1 -o "$tmp/$name.so" "$src/tests/tools/$source" -ldl || die "build the stand-in $source"
}
