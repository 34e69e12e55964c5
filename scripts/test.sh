#!/usr/bin/env bash
# Builds if needed and runs every test through ctest.
#   ./scripts/test.sh            the default suite (what CI runs)
#   ./scripts/test.sh -R regex   extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/build.sh
build_dir=${BUILD_DIR:-build}

# Tests that need root (loop devices, mounts) run as root here; the suite says so if not.
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: warning: not root; tests that mount or use loop devices will fail" >&2
fi
ctest --test-dir "$build_dir" --output-on-failure -j "${JOBS:-2}" --timeout 600 "$@"
