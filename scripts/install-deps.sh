#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need.
#   scripts/install-deps.sh          everything: the test build, benchmarks, the VM lab, the demo
#   scripts/install-deps.sh --demo   only what scripts/demo.sh builds and runs (g++, the libraries
#                                    of the driver, its plugins and simulators, and their peers)
# Idempotent: packages already present are skipped; `apt-get update` runs only when
# something is missing. Safe to run as root on a fresh Debian 12 machine. INSTALL_DEPS_SAFE_IO=1
# makes dpkg sync every file it writes (slower; see below).
set -euo pipefail

demo_only=0
case "${1:-}" in
  --demo) demo_only=1 ;;
  "") ;;
  *) echo "install-deps: unknown argument '$1' (known: --demo)" >&2; exit 2 ;;
esac

# What the demo needs: the release build of the driver, polycsictl, the plugins and the
# simulators, and the peers it starts on 127.0.0.1.
demo_packages=(
  # toolchain (g++ from build-essential)
  build-essential cmake ninja-build pkg-config ccache
  # gRPC / protobuf (CSI)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # core libraries
  libboost-dev libboost-filesystem-dev libyaml-cpp-dev libsqlite3-dev libspdlog-dev
  libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev prometheus-cpp-dev libssl-dev
  # plugin libraries
  libssh-dev libnvme-dev libjson-c-dev libiscsi-dev libnfs-dev libcpp-httplib-dev
  # powerstore-sim: its iSCSI target (tgtd) and the demo's certificates (openssl)
  tgt openssl
  # the nfs backend's server: NFSv4 on loopback, FSAL VFS
  nfs-ganesha nfs-ganesha-vfs
  # the sample plugin's node side: mkfs.ext4, losetup, mount
  e2fsprogs util-linux mount
  # the API stand-in (python3), health checks (curl), rds-sim's SSH keys and client
  python3 curl openssh-client
)

# On top of the demo's: the tests, benchmarks and the VM lab.
test_packages=(
  git clang-format
  # the test build (scripts/test.sh): clang with its sanitizer and libFuzzer runtimes
  # (libclang-rt-14-dev) and llvm-symbolizer for the reports (llvm-14)
  clang-14 libclang-rt-14-dev llvm-14
  # tests
  libgtest-dev libgmock-dev
  # bench/: Google Benchmark programs (built by default, run by bench/run.sh)
  libbenchmark-dev
  # reliability tests: network namespaces with veth pairs, and nftables rules that drop traffic
  iproute2 nftables
  # node side: the other filesystem the tests format
  xfsprogs
  # node side: mount.nfs for the nfs plugin's volumes
  nfs-common
  # node side: cryptsetup for encrypted volumes (the LUKS tests on loop devices, where the
  # kernel has device-mapper; the VM lab downloads its own for the guests)
  cryptsetup-bin
  # VM lab (tests/lab): software-emulated guests and the busybox initramfs they boot; the guest
  # kernel and storage tools are downloaded by tests/lab/build-guest-image.sh, not installed
  qemu-system-x86 busybox-static cpio kmod
)

packages=("${demo_packages[@]}")
((demo_only)) || packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Deploy tests (tests/deploy): node and npm run the manifest validators. Checked by command, not
# by package, because Node.js may come from another repository (NodeSource ships npm inside
# its nodejs package, which conflicts with Debian's npm).
if ((!demo_only)); then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  # dpkg syncs every file it unpacks; on a fresh Debian 12 machine that was most of the time:
  # the demo's 151 packages took 285 s, and 129 s without the syncs (measured in two fresh
  # debootstrap roots, same load; the download itself took 24 s). Without them, a power loss
  # during the install may leave empty files in the packages being installed (`apt-get install
  # --reinstall <package>` repairs them); Debian's own container images install the same way.
  # INSTALL_DEPS_SAFE_IO=1 keeps dpkg's syncs.
  io_options=(-o Dpkg::Options::=--force-unsafe-io)
  [ -z "${INSTALL_DEPS_SAFE_IO:-}" ] || io_options=()
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${io_options[@]}" "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# kubectl (rendering deploy/ with `kubectl kustomize`) is not packaged by Debian 12; without it
# the deploy tests are skipped and say so. It comes from https://pkgs.k8s.io.
((demo_only)) || command -v kubectl >/dev/null ||
  echo "install-deps: kubectl not found: the deploy tests will be skipped (see docs/install.md)"
