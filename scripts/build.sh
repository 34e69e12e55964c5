#!/usr/bin/env bash
# Configures and builds polycsi with CMake + Ninja into build/ (executables in build/bin/,
# plugins in build/plugins/). Installs the Debian packages it needs first.
#   BUILD_DIR=build-asan POLYCSI_SANITIZE="address;undefined" ./scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DPOLYCSI_WERROR="${POLYCSI_WERROR:-ON}" \
  -DPOLYCSI_SANITIZE="${POLYCSI_SANITIZE:-}" \
  -DBUILD_TESTING=ON >/dev/null
# Two cores: keep memory and the machine responsive.
ninja -C "$build_dir" -j "${JOBS:-$(nproc)}"
