#!/usr/bin/env bash
# Builds if needed and runs the test suite through ctest, under sanitizers.
#   ./scripts/test.sh              the default suite (what CI runs): one clang build with
#                                  AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
#                                  on) in build-asan/, every test in it, the VM lab and a short
#                                  run of every fuzz target included; long fuzz runs excluded
#   ./scripts/test.sh --no-lab     the same without the VM lab (ctest label `lab`)
#   ./scripts/test.sh --tsan       ThreadSanitizer build in build-tsan/: the unit and
#                                  integration suites (no lab, fuzzers or deploy manifests)
#   ./scripts/test.sh --fuzz-long  only the long fuzz runs (label fuzz-long) in the ASan build,
#                                  POLYCSI_FUZZ_LONG_SECONDS each (default 600)
#   ./scripts/test.sh --soak       only the full soak and fault sweeps (label soak) in the ASan
#                                  build (docs/reliability.md); left out of the default run
#   ./scripts/test.sh --vm-migration  only the VM lab with a real VM live migration (label
#                                  vm-migration, docs/lab.md) in the ASan build; left out of the
#                                  default run
#   ./scripts/test.sh --plain      the default suite in the plain g++ RelWithDebInfo build/
#                                  (no sanitizers, no fuzzers): quicker for local runs
#   ./scripts/test.sh -R regex     arguments after the flags go to ctest
# Environment: BUILD_DIR (build directory), JOBS (parallel compile jobs and tests, default 2).
# The demo keeps the plain g++ RelWithDebInfo build in build/ (./scripts/demo.sh).
# docs/testing.md explains the builds, the sanitizer options and the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=asan
lab=yes
while (($#)); do
  case "$1" in
    --no-lab) lab=no ;;
    --tsan) mode=tsan ;;
    --fuzz-long) mode=fuzz-long ;;
    --soak) mode=soak ;;
    --vm-migration) mode=vm-migration ;;
    --plain) mode=plain ;;
    --) shift; break ;;
    *) break ;;
  esac
  shift
done

if [ "$mode" = tsan ]; then
  # gRPC stays in its shared libraries, where tests/sanitizers/tsan.supp can name it.
  export BUILD_DIR=${BUILD_DIR:-build-tsan} POLYCSI_SANITIZE=thread POLYCSI_STATIC_GRPC=OFF
elif [ "$mode" = plain ]; then
  export BUILD_DIR=${BUILD_DIR:-build} POLYCSI_SANITIZE=""
else
  export BUILD_DIR=${BUILD_DIR:-build-asan} POLYCSI_SANITIZE="address;undefined"
fi
[ "$mode" = plain ] || export CC=${CC:-clang-14} CXX=${CXX:-clang++-14}
# No test runs the benchmarks (bench/run.sh does, in the plain build): not built under sanitizers.
[ "$mode" = plain ] || export POLYCSI_BUILD_BENCH=${POLYCSI_BUILD_BENCH:-OFF}
./scripts/build.sh
build_dir=$BUILD_DIR

# Sanitizer run time options, inherited by every test and every process a test starts.
# Findings abort the process (a test with one fails); reports carry symbolized stacks.
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] || { echo "test.sh: $symbolizer missing (package llvm-14)" >&2; exit 1; }
export ASAN_SYMBOLIZER_PATH=$symbolizer TSAN_SYMBOLIZER_PATH=$symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1}

# Labels left out of this run (one regex: ctest keeps only the last -LE).
case "$mode" in
  asan | plain)
    excluded='^(fuzz-long|soak|vm-migration)$'
    [ "$lab" = no ] && excluded='^(fuzz-long|soak|vm-migration|lab)$' ;;
  tsan) excluded='^(fuzz|fuzz-long|soak|lab|vm-migration|deploy)$' ;;
  fuzz-long | soak | vm-migration) excluded='' ;;
esac
selection=(-LE "$excluded")
[ "$mode" = fuzz-long ] && selection=(-L '^fuzz-long$')
[ "$mode" = soak ] && selection=(-L '^soak$')
[ "$mode" = vm-migration ] && selection=(-L '^vm-migration$')

# Tests that need root (loop devices, mounts) run as root here; the suite says so if not.
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: warning: not root; tests that mount or use loop devices will fail" >&2
fi
ctest --test-dir "$build_dir" --output-on-failure -j "${JOBS:-2}" --timeout 600 \
  "${selection[@]}" "$@"
