#!/usr/bin/env bash
# Proves that a third party can build a plugin from the installed SDK alone:
#   1. installs only the "sdk" component of a configured polycsi build into <work>/prefix and
#      checks that nothing of the core came along (the SDK is headers, its CMake and pkg-config
#      files, docs, and the process runner library libpolycsi_process.a);
#   2. copies the example plugin out of the source tree into <work>/src, so it cannot reach
#      the core's sources, then configures and builds it against the installed package
#      (find_package(polycsi-sdk)) and runs its own unit tests (FakeHost);
#   3. checks the plugin exports exactly one symbol, and that `pkg-config --cflags polycsi-sdk`
#      is enough to compile against the SDK;
#   4. puts the plugin into <work>/plugins for the tests that load it into polycsi.
#
# usage: install_and_build_example.sh BUILD_DIR EXAMPLE_DIR WORK_DIR GENERATOR CXX CMAKE CTEST
# Environment: SDK_TEST_JOBS (parallel compile jobs, default 2).
set -euo pipefail

if [[ $# -ne 7 ]]; then
  echo "usage: $0 BUILD_DIR EXAMPLE_DIR WORK_DIR GENERATOR CXX CMAKE CTEST" >&2
  exit 2
fi
build_dir=$1 example_dir=$2 work=$3 generator=$4 cxx=$5 cmake=$6 ctest=$7
jobs=${SDK_TEST_JOBS:-2}
example=$(basename "$example_dir")

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

case "$work" in
  /*/*) ;;
  *) fail "work directory '$work' must be an absolute path below /" ;;
esac
rm -rf -- "$work"
mkdir -p -- "$work/src" "$work/plugins"
prefix=$work/prefix

step "install the sdk component into $prefix"
"$cmake" --install "$build_dir" --component sdk --prefix "$prefix"
[[ -f $prefix/include/polycsi/plugin_abi.h ]] || fail "plugin_abi.h was not installed"
[[ -f $prefix/include/polycsi/testing/fake_host.hpp ]] || fail "the fake host was not installed"
[[ -n $(find "$prefix" -name libpolycsi_process.a) ]] || fail "libpolycsi_process.a was not installed"
unexpected=$(cd "$prefix" && find . -type f | grep -Ev \
  '^\./(include/polycsi/|lib[^/]*(/[^/]+)?/libpolycsi_process\.a$|share/cmake/polycsi-sdk/|share/pkgconfig/polycsi-sdk\.pc$|share/doc/polycsi-sdk/)' \
  || true)
[[ -z $unexpected ]] || fail "the sdk component installed files outside the SDK: $unexpected"

step "build $example out of tree against the installed SDK"
cp -R -- "$example_dir" "$work/src/$example"
rm -rf -- "$work/src/$example/build"
"$cmake" -S "$work/src/$example" -B "$work/build" -G "$generator" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug \
  -DSCRATCH_WERROR=ON
"$cmake" --build "$work/build" --parallel "$jobs"

step "run the example's own unit tests"
"$ctest" --test-dir "$work/build" --output-on-failure --timeout 120

plugin=$(find "$work/build" -maxdepth 1 -name 'polycsi_*.so' -print -quit)
[[ -n $plugin ]] || fail "the build produced no polycsi_<name>.so"
exported=$(nm -D --defined-only "$plugin" | awk '{print $NF}' | sort -u)
[[ $exported == polycsi_plugin_entry ]] ||
  fail "$plugin must export only polycsi_plugin_entry, it exports: $exported"

step "pkg-config --cflags polycsi-sdk"
cflags=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags polycsi-sdk)
include_dir=
for flag in $cflags; do
  [[ $flag == -I* ]] && include_dir=${flag#-I}
done
[[ -n $include_dir && -d $include_dir &&
   $(cd "$include_dir" && pwd -P) == "$(cd "$prefix/include" && pwd -P)" ]] ||
  fail "pkg-config --cflags gave '$cflags', not the installed include directory"
[[ $cflags == *-std=c++20* ]] || fail "pkg-config --cflags gave '$cflags' without -std=c++20"
printf '%s\n' '#include "polycsi/plugin.hpp"' '#include "polycsi/testing/fake_host.hpp"' \
  'static_assert(POLYCSI_ABI_VERSION_MAJOR >= 1);' > "$work/pkgconfig_check.cc"
# shellcheck disable=SC2086  # cflags is a list of flags
"$cxx" $cflags -fsyntax-only -Wall -Wextra -Werror "$work/pkgconfig_check.cc"

cp -- "$plugin" "$work/plugins/"
step "ok: $(basename "$plugin") built from the installed SDK alone"
