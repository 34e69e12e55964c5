#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need.
# Idempotent: packages already present are skipped; `apt-get update` runs only when
# something is missing. Safe to run as root on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang-format ccache
  # the test build (scripts/test.sh): clang with its sanitizer and libFuzzer runtimes
  # (libclang-rt-14-dev) and llvm-symbolizer for the reports (llvm-14)
  clang-14 libclang-rt-14-dev llvm-14
  # gRPC / protobuf (CSI)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # core libraries
  libboost-dev libboost-filesystem-dev libyaml-cpp-dev libsqlite3-dev libspdlog-dev
  libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev prometheus-cpp-dev libssl-dev
  # plugin libraries
  libssh-dev libnvme-dev libjson-c-dev libiscsi-dev libnfs-dev libcpp-httplib-dev
  # tests
  libgtest-dev libgmock-dev
  # bench/: Google Benchmark programs (built by default, run by bench/run.sh)
  libbenchmark-dev
  # powerstore-sim: its iSCSI target (tgtd) and the tests' certificates (openssl)
  tgt openssl
  # nfs plugin tests: a real NFS server (NFSv4 on loopback, FSAL VFS)
  nfs-ganesha nfs-ganesha-vfs
  # reliability tests: network namespaces with veth pairs, and nftables rules that drop traffic
  iproute2 nftables
  # node side: filesystems and block devices
  e2fsprogs xfsprogs util-linux mount
  # node side: mount.nfs for the nfs plugin's volumes
  nfs-common
  # demo (ssh and ssh-keygen talk to rds-sim)
  python3 curl openssh-client
  # VM lab (tests/lab): software-emulated guests and the busybox initramfs they boot; the guest
  # kernel and storage tools are downloaded by tests/lab/build-guest-image.sh, not installed
  qemu-system-x86 busybox-static cpio kmod
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Deploy tests (tests/deploy): node and npm run the manifest validators. Checked by command, not
# by package, because Node.js may come from another repository (NodeSource ships npm inside
# its nodejs package, which conflicts with Debian's npm).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# kubectl (rendering deploy/ with `kubectl kustomize`) is not packaged by Debian 12; without it
# the deploy tests are skipped and say so. It comes from https://pkgs.k8s.io.
command -v kubectl >/dev/null ||
  echo "install-deps: kubectl not found: the deploy tests will be skipped (see docs/install.md)"
