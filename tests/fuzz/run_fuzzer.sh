#!/usr/bin/env bash
# Runs one libFuzzer target for ctest (registered by polycsi_add_fuzzer, cmake/Fuzzing.cmake).
#
# usage: run_fuzzer.sh short FUZZER SEED_DIR WORK_DIR MAX_LEN SECONDS
#        run_fuzzer.sh long  FUZZER SEED_DIR WORK_DIR MAX_LEN
#   short  runs every seed, then fuzzes for SECONDS on a scratch corpus that is removed after.
#   long   fuzzes for $POLYCSI_FUZZ_LONG_SECONDS (default 600) on WORK_DIR/corpus/<name>, which
#          is kept between runs so that each long run starts where the last one stopped.
# Seeds are read only; inputs that crash or break an invariant are written to
# WORK_DIR/artifacts/<name>/ (reproduce with: FUZZER <artifact>). Exit status: libFuzzer's
# (0 when nothing was found).
set -euo pipefail

fail() { echo "run_fuzzer.sh: $*" >&2; exit 2; }

mode=${1:-}
case "$mode" in
  short) [[ $# -eq 6 ]] || fail "usage: $0 short FUZZER SEED_DIR WORK_DIR MAX_LEN SECONDS" ;;
  long) [[ $# -eq 5 ]] || fail "usage: $0 long FUZZER SEED_DIR WORK_DIR MAX_LEN" ;;
  *) fail "mode must be 'short' or 'long', got '$mode'" ;;
esac
fuzzer=$2 seeds=$3 work=$4 max_len=$5
if [[ $mode == short ]]; then
  seconds=$6
else
  seconds=${POLYCSI_FUZZ_LONG_SECONDS:-600}
fi
[[ -x $fuzzer ]] || fail "fuzzer '$fuzzer' is not an executable"
[[ -d $seeds ]] || fail "seed corpus '$seeds' is not a directory"
[[ -n $(find "$seeds" -maxdepth 1 -type f -print -quit) ]] || fail "seed corpus '$seeds' is empty"
[[ $seconds =~ ^[1-9][0-9]{0,6}$ ]] || fail "seconds must be a positive integer, got '$seconds'"
[[ $max_len =~ ^[1-9][0-9]{0,7}$ ]] || fail "max_len must be a positive integer, got '$max_len'"
case "$work" in
  /*/*) ;;
  *) fail "work directory '$work' must be an absolute path below /" ;;
esac

name=$(basename "$fuzzer")
artifacts=$work/artifacts/$name
mkdir -p -- "$artifacts"

if [[ $mode == short ]]; then
  corpus=$(mktemp -d "${TMPDIR:-/tmp}/polycsi-fuzz-$name.XXXXXX")
  trap 'rm -rf -- "$corpus"' EXIT
else
  corpus=$work/corpus/$name
  mkdir -p -- "$corpus"
fi

# The first directory receives new inputs; the seeds are only read.
# -timeout: one input that runs this long is a hang (a finding); -rss_limit_mb: the same for
# memory. Leak detection stays on (LeakSanitizer).
echo "fuzzing $name for ${seconds}s (max_len $max_len); artifacts in $artifacts"
status=0
"$fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=25 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run_fuzzer.sh: $name found a problem (exit $status); inputs in $artifacts:" >&2
  ls -1 -- "$artifacts" >&2 || true
fi
exit "$status"
