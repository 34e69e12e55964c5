#!/usr/bin/env bash
# Configures and builds polycsi with CMake + Ninja into build/ (executables in build/bin/,
# plugins in build/plugins/). Installs the Debian packages it needs first.
# Environment: BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo), JOBS (default
# all cores), CC/CXX (compiler; default the system's c++, i.e. g++), POLYCSI_SANITIZE
# ("address;undefined" or "thread"), POLYCSI_WERROR (default ON), POLYCSI_BUILD_BENCH (default ON;
# the sanitizer builds of scripts/test.sh leave the benchmarks out: no test runs them),
# POLYCSI_STATIC_GRPC (default ON; the TSan build links gRPC shared),
# POLYCSI_DEMO_ONLY=1 (install only the demo's packages and build only the demo's targets: the
# driver, polycsictl, the simulators and the in-tree plugins; a new build directory is then
# configured without tests and benchmarks), POLYCSI_DEMO_TARGETS (with POLYCSI_DEMO_ONLY: build
# only these of the demo's targets; scripts/demo.sh builds what its first section runs first).
#   BUILD_DIR=build-asan CC=clang-14 CXX=clang++-14 POLYCSI_SANITIZE="address;undefined" \
#     ./scripts/build.sh            # what ./scripts/test.sh builds
set -euo pipefail
cd "$(dirname "$0")/.."

demo_only=${POLYCSI_DEMO_ONLY:-}
echo "build.sh: [1/3] Debian packages"
if [ -n "$demo_only" ]; then
  ./scripts/install-deps.sh --demo
else
  ./scripts/install-deps.sh
fi

build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}

# ccache makes rebuilds in a second build directory (sanitizer builds, worktrees) nearly free.
# Paths are rewritten relative to the source tree, so every build directory shares one cache.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# A compiler named in CC/CXX is given to CMake explicitly, so it also applies to an existing
# build directory.
compilers=()
[ -n "${CC:-}" ] && compilers+=(-DCMAKE_C_COMPILER="$CC")
[ -n "${CXX:-}" ] && compilers+=(-DCMAKE_CXX_COMPILER="$CXX")
# The demo leaves tests and benchmarks out of a new build directory (their libraries are not
# installed for it); a directory configured before keeps what it has.
scope=(-DBUILD_TESTING=ON -DPOLYCSI_BUILD_BENCH="${POLYCSI_BUILD_BENCH:-ON}")
targets=()
if [ -n "$demo_only" ]; then
  scope=()
  [ -f "$build_dir/CMakeCache.txt" ] || scope=(-DBUILD_TESTING=OFF -DPOLYCSI_BUILD_BENCH=OFF)
  targets=(polycsi polycsictl rds-sim powerstore-sim polycsi_plugin_sample polycsi_plugin_rds_nvme
           polycsi_plugin_iscsi_powerstore polycsi_plugin_nfs)
  [ -z "${POLYCSI_DEMO_TARGETS:-}" ] || read -r -a targets <<<"$POLYCSI_DEMO_TARGETS"
fi
echo "build.sh: [2/3] configure $build_dir"
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" "${compilers[@]}" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DPOLYCSI_WERROR="${POLYCSI_WERROR:-ON}" \
  -DPOLYCSI_SANITIZE="${POLYCSI_SANITIZE:-}" \
  -DPOLYCSI_STATIC_GRPC="${POLYCSI_STATIC_GRPC:-ON}" \
  "${scope[@]}" >/dev/null
echo "build.sh: [3/3] build ${targets[*]:-every target} (ninja counts [done/total])"
# JOBS bounds the parallel compiles (default: one per core); lower it to keep memory free.
ninja -C "$build_dir" -j "${JOBS:-$(nproc)}" "${targets[@]}"
