#!/usr/bin/env bash
# Builds the VM lab's guest: Debian's own kernel and a busybox initramfs holding that kernel's
# storage modules, the storage tools a node needs (nvme-cli, open-iscsi, multipath-tools,
# cryptsetup with dm-crypt and dmsetup, NFS client and server, udev, e2fsprogs) and polycsi,
# polycsictl, rds-sim and the plugins from a build directory,
# each with the shared libraries ldd lists.
#
#   tests/lab/build-guest-image.sh --build-dir build [--out build/lab] [--with-qemu]
#
# Everything lands in the output directory (default <build-dir>/lab):
#   debs/        downloaded .deb files (kept: a second run downloads nothing)
#   vmlinuz      the kernel to boot
#   base.cpio.gz kernel modules and tools; rebuilt only when its inputs change
#   initramfs.img base.cpio.gz followed by a fresh archive of polycsi and the guest init
#                (the kernel unpacks concatenated archives in order)
#   initramfs-qemu.img (--with-qemu) initramfs.img followed by qemu.cpio.gz: the host's QEMU
#                with its libraries and seq-writer.bin, the inner VM of the nested migration
# The kernel is whatever linux-image-amd64 depends on in the apt lists, never a fixed version.
set -euo pipefail

lab_src=$(cd "$(dirname "$0")" && pwd)
build_dir=""
out=""
with_qemu=no
while (($#)); do
  case $1 in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --with-qemu) with_qemu=yes; shift ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "build-guest-image: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$build_dir" ] || { echo "build-guest-image: --build-dir is required" >&2; exit 2; }
build_dir=$(cd "$build_dir" && pwd)
out=${out:-$build_dir/lab}
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() { echo "build-guest-image: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip busybox ldd strip sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (scripts/install-deps.sh installs what the lab needs)"
done
busybox_bin=$(command -v busybox)
file_type=$(LC_ALL=C od -An -c -N4 "$busybox_bin" | tr -d ' ')
[ "$file_type" = '177ELF' ] || die "$busybox_bin is not an ELF binary"
if ldd "$busybox_bin" >/dev/null 2>&1; then
  die "$busybox_bin is dynamically linked; the guest needs busybox-static"
fi

# ---- which packages ---------------------------------------------------------------------------
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
  awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ {print $2; exit}')
[ -n "$kernel_pkg" ] || die "apt-cache cannot resolve linux-image-amd64 to a kernel package (run apt-get update)"

# Tools the guest runs. Their binaries come from these packages, unpacked beside the host's
# files, so nothing is installed on the host for the guest's sake.
tool_pkgs=(nvme-cli open-iscsi multipath-tools dmsetup cryptsetup-bin nfs-kernel-server nfs-common
           rpcbind udev)
# Libraries those tools need that the host lacks: their direct lib* dependencies that are not
# installed. The ldd check below fails loudly if this misses one.
lib_pkgs=()
for pkg in "${tool_pkgs[@]}"; do
  while read -r dep; do
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" || lib_pkgs+=("$dep")
  done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$pkg" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^lib[^<]*$/ {print $2}')
done
mapfile -t lib_pkgs < <(printf '%s\n' "${lib_pkgs[@]}" | sort -u | sed '/^$/d')

# ---- download (cached) ------------------------------------------------------------------------
mkdir -p "$out/debs"
download() { # $1: package; skipped when a .deb of it is already here
  local pkg=$1
  compgen -G "$out/debs/${pkg}_*.deb" >/dev/null && return 0
  echo "build-guest-image: downloading $pkg"
  (cd "$out/debs" && timeout 300 apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null) ||
    die "apt-get download $pkg failed (network, or run apt-get update)"
}
for pkg in "$kernel_pkg" "${tool_pkgs[@]}" "${lib_pkgs[@]}"; do download "$pkg"; done
deb_of() { compgen -G "$out/debs/${1}_*.deb" | sort | tail -n1; }

# ---- base archive: modules, tools, libraries (cached by a stamp of its inputs) ----------------
stamp=$( {
  # This script up to the payload section (editing the payload part keeps the base).
  sed '/^# ---- payload archive/,$d' "$0" | sha256sum
  sha256sum "$busybox_bin"
  for pkg in "$kernel_pkg" "${tool_pkgs[@]}" "${lib_pkgs[@]}"; do basename "$(deb_of "$pkg")"; done
  dpkg-query -W e2fsprogs util-linux mount libc6
} | sha256sum | cut -d' ' -f1)

if [ ! -f "$out/base.cpio.gz" ] || [ "$(cat "$out/base.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "build-guest-image: building the base archive (kernel package $kernel_pkg)"
  rm -rf "$out/kernel" "$out/stage" "$out/base-root" "$out/base.cpio.gz" "$out/base.stamp"
  dpkg-deb -x "$(deb_of "$kernel_pkg")" "$out/kernel"
  kv=$(ls "$out/kernel/lib/modules")
  [ "$(echo "$kv" | wc -l)" -eq 1 ] || die "expected one kernel in $kernel_pkg, found: $kv"
  depmod -b "$out/kernel" "$kv"
  mkdir -p "$out/stage"
  for pkg in "${tool_pkgs[@]}" "${lib_pkgs[@]}"; do dpkg-deb -x "$(deb_of "$pkg")" "$out/stage"; done

  R=$out/base-root
  mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,proc,sys,dev,run,tmp,mnt,root}
  ln -s usr/lib "$R/lib"
  ln -s usr/lib64 "$R/lib64"
  cp "$busybox_bin" "$R/bin/busybox"

  # Kernel modules with everything they depend on.
  # dm_crypt with the cipher LUKS2 defaults to (aes-xts-plain64; aes itself is built in) and the
  # kernel crypto API for user space, which cryptsetup uses for the key slots.
  modules="virtio_pci virtio_net virtio_console crc32c_generic configfs loop ext4
           nvme-tcp nvmet nvmet-tcp iscsi_tcp sd_mod dm_multipath dm_round_robin dm_service_time
           dm_queue_length dm_mod dm_crypt xts ecb algif_skcipher algif_hash
           nfs nfsv3 nfsv4 nfsd"
  for m in $modules; do
    modprobe -d "$out/kernel" -S "$kv" --show-depends "$m" | awk '$1 == "insmod" {print $2}' ||
      die "module $m is not in $kernel_pkg"
  done | sort -u >"$out/modules.txt"
  while read -r f; do
    rel=${f#"$out/kernel"}
    rel=/usr${rel#/usr}
    mkdir -p "$R$(dirname "$rel")"
    cp "$f" "$R$rel"
  done <"$out/modules.txt"
  cp "$out/kernel/lib/modules/$kv"/modules.{order,builtin,builtin.modinfo} "$R/usr/lib/modules/$kv/"
  depmod -b "$R" "$kv"

  # Binaries from the unpacked tool packages and from the host, with their libraries.
  S=$out/stage
  # multipath-tools keeps its libraries in /lib itself.
  stage_libs="$S/lib/x86_64-linux-gnu:$S/usr/lib/x86_64-linux-gnu:$S/lib"
  copy_libs() { # $1: an ELF file; copies what ldd lists into the guest's /usr/lib
    local missing
    missing=$(LD_LIBRARY_PATH=$stage_libs ldd "$1" | awk '/not found/ {print $1}')
    [ -z "$missing" ] || die "$1 needs $missing, which neither the host nor the downloaded packages have"
    LD_LIBRARY_PATH=$stage_libs ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' |
      while read -r lib; do
        local rel=${lib#"$S"}
        rel=/usr${rel#/usr}
        [ -e "$R$rel" ] && continue
        mkdir -p "$R$(dirname "$rel")"
        cp -L "$lib" "$R$rel"
      done
  }
  put() { # $1: source file, $2: path in the guest
    [ -f "$1" ] || die "$1 is missing"
    mkdir -p "$R$(dirname "$2")"
    cp -L "$1" "$R$2"
    copy_libs "$1"
  }
  stage_bin() { # $1: program name, $2: its path in the guest; copies it from the unpacked packages
    local dir
    for dir in usr/sbin sbin usr/bin bin; do
      if [ -f "$S/$dir/$1" ] && [ ! -L "$S/$dir/$1" ]; then
        put "$S/$dir/$1" "$2"
        return 0
      fi
    done
    die "$1 is not in the unpacked packages (${tool_pkgs[*]})"
  }
  for b in nvme iscsiadm iscsid iscsi-iname rpc.statd showmount sm-notify rpc.nfsd rpc.mountd \
    exportfs rpcbind rpcinfo udevadm multipath multipathd dmsetup cryptsetup; do
    stage_bin "$b" "/usr/sbin/$b"
  done
  # udev's device-mapper and multipath rules run them as /sbin/... (dmsetup's udevcomplete too)
  for b in multipath multipathd dmsetup; do ln -s "../usr/sbin/$b" "$R/sbin/$b"; done
  # multipathd's path checkers and prioritizers, loaded with dlopen from its plugin directory.
  [ -d "$S/lib/multipath" ] || die "multipath-tools' plugin directory /lib/multipath is missing"
  for so in "$S"/lib/multipath/*.so; do put "$so" "/usr/lib/multipath/$(basename "$so")"; done
  # udevadm is also the daemon when called as systemd-udevd.
  ln -s udevadm "$R/usr/sbin/systemd-udevd"
  stage_bin mount.nfs /sbin/mount.nfs
  ln -s mount.nfs "$R/sbin/mount.nfs4"
  mkdir -p "$R/usr/lib/udev"
  for rules in "$S/usr/lib/udev/rules.d" "$S/lib/udev/rules.d"; do
    [ -d "$rules" ] && cp -a "$rules" "$R/usr/lib/udev/"
  done
  [ -f "$R/usr/lib/udev/rules.d/60-persistent-storage.rules" ] || die "udev's persistent-storage rules are missing"
  # scsi_id gives a SCSI disk its ID_SERIAL (the WWID multipathd groups paths by).
  for dir in lib/udev usr/lib/udev; do
    [ -f "$S/$dir/scsi_id" ] && put "$S/$dir/scsi_id" /usr/lib/udev/scsi_id && break
  done
  [ -f "$R/usr/lib/udev/scsi_id" ] || die "udev's scsi_id is missing"
  for b in mke2fs e2fsck resize2fs blkid blockdev; do put "$(command -v "$b")" "/usr/sbin/$b"; done
  ln -s mke2fs "$R/usr/sbin/mkfs.ext4"
  for b in mount umount findmnt lsblk; do put "$(command -v "$b")" "/usr/bin/$b"; done

  # Configuration the tools read.
  printf 'root:x:0:0:root:/root:/bin/sh\n_rpc:x:100:65534::/run/rpcbind:/bin/false\nstatd:x:101:65534::/var/lib/nfs:/bin/false\nnobody:x:65534:65534::/:/bin/false\n' >"$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
  printf 'hosts: files\nservices: files\nprotocols: files\nrpc: files\npasswd: files\ngroup: files\n' >"$R/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n' >"$R/etc/hosts"
  cp /etc/services /etc/protocols "$R/etc/"
  cp "$S/etc/netconfig" "$R/etc/netconfig" 2>/dev/null || cp /etc/netconfig "$R/etc/netconfig"
  printf 'rpc\t100000\tportmap sunrpc rpcbind\nnfs\t100003\tnfsprogram\nmountd\t100005\tmount showmount\nstatus\t100024\nnlockmgr\t100021\n' >"$R/etc/rpc"
  mkdir -p "$R/etc/iscsi" "$R/etc/nvme" "$R/var/lib/nfs" "$R/var/lib/iscsi" "$R/etc/multipath"
  cp -a "$S/etc/iscsi/." "$R/etc/iscsi/"
  rm -f "$R/etc/iscsi/initiatorname.iscsi"
  touch "$R/etc/fstab" "$R/etc/exports"

  (cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$out/base.cpio.gz.tmp")
  mv "$out/base.cpio.gz.tmp" "$out/base.cpio.gz"
  ln -sfn "kernel/boot/vmlinuz-$kv" "$out/vmlinuz"
  echo "$stamp" >"$out/base.stamp"
fi
[ -f "$out/vmlinuz" ] || die "$out/vmlinuz is missing; remove $out/base.stamp and run again"

# ---- payload archive: polycsi from the build directory and the guest init (every run) ---------
P=$out/payload-root
rm -rf "$P"
mkdir -p "$P/bin" "$P/opt/polycsi/bin" "$P/opt/polycsi/plugins" "$P/usr/lib/x86_64-linux-gnu"
gzip -dc "$out/base.cpio.gz" | cpio -t --quiet >"$out/base.list"
copy_host_libs() { # $1: an ELF file of the host; $2: the archive root (default the payload's)
  local missing root=${2:-$P}
  missing=$(ldd "$1" | awk '/not found/ {print $1}')
  [ -z "$missing" ] || die "$1 needs $missing, which the host does not have"
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
    local rel=/usr${lib#/usr}
    grep -qxF ".$rel" "$out/base.list" && continue
    [ -e "$root$rel" ] && continue
    mkdir -p "$root$(dirname "$rel")"
    cp -L "$lib" "$root$rel"
  done
}
for b in polycsi polycsictl rds-sim; do
  [ -x "$build_dir/bin/$b" ] || die "$build_dir/bin/$b is missing: build it first (ninja -C $build_dir $b)"
  strip --strip-debug -o "$P/opt/polycsi/bin/$b" "$build_dir/bin/$b"
  copy_host_libs "$build_dir/bin/$b"
done
shopt -s nullglob
plugins=("$build_dir"/plugins/polycsi_*.so)
shopt -u nullglob
((${#plugins[@]})) || die "no plugins in $build_dir/plugins: build them first"
for so in "${plugins[@]}"; do
  strip --strip-debug -o "$P/opt/polycsi/plugins/$(basename "$so")" "$so"
  copy_host_libs "$so"
done
# What polycsi and the plugins load on demand, from ../lib beside bin/ and plugins/: core/http's
# module; the rds_nvme plugin's NVMe library (libnvme), which a node loads to connect a volume
# or generate its host NQN; and the attachment store (SQLite), which the nfs scenario's
# controller in node-c opens. The SSH and REST clients stay out: no guest's controller uses them.
mkdir -p "$P/opt/polycsi/lib"
for target in polycsi_httplib polycsi_rds_nvme_nvme polycsi_attachment_store; do
  module=$build_dir/lib/lib$target.so
  [ -f "$module" ] || die "$module is missing: build it first (ninja -C $build_dir $target)"
  strip --strip-debug -o "$P/opt/polycsi/lib/$(basename "$module")" "$module"
  copy_host_libs "$module"
done
install -m 0755 "$lab_src/guest/init" "$P/init"
install -m 0755 "$lab_src/guest/agent.sh" "$P/bin/lab-agent"
(cd "$P" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$out/payload.cpio.gz")
cat "$out/base.cpio.gz" "$out/payload.cpio.gz" >"$out/initramfs.img.tmp"
mv "$out/initramfs.img.tmp" "$out/initramfs.img"
echo "build-guest-image: $out/initramfs.img ($(du -h "$out/initramfs.img" | cut -f1)), kernel $(readlink "$out/vmlinuz")"

# ---- inner VM archive (--with-qemu): the nested live migration's QEMU and guest ----------------
# The node guests run the host's own qemu-system-x86_64 (Debian's qemu-system-x86, which the lab
# needs anyway) with its TCG module and libraries, and seq-writer.bin assembled here from
# guest/seq-writer.S; util-linux's losetup (busybox's cannot set a sector size) for the control
# migration on a loop device of the guest's own, and coreutils' dd, which aligns its buffer to a
# page for O_DIRECT (busybox's mallocs it, which a loop device's 512-byte DMA alignment refuses). Rebuilt only when one of those changes.
[ "$with_qemu" = yes ] || exit 0
for tool in as objcopy qemu-system-x86_64 losetup dd; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (binutils, qemu-system-x86, util-linux, coreutils)"
done
qemu_bin=$(command -v qemu-system-x86_64)
losetup_bin=$(command -v losetup)
dd_bin=$(command -v dd)
# QEMU loads its accelerator from its module directory, which Debian puts here.
tcg_module=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
[ -f "$tcg_module" ] || die "$tcg_module is missing (package qemu-system-x86)"
as --32 -o "$out/seq-writer.o" "$lab_src/guest/seq-writer.S" || die "assembling seq-writer.S failed"
objcopy -O binary -j .text "$out/seq-writer.o" "$out/seq-writer.bin.tmp"
# QEMU maps a firmware image of a whole number of 64 KiB blocks; seq-writer is exactly one.
[ "$(stat -c %s "$out/seq-writer.bin.tmp")" -eq 65536 ] || die "seq-writer.bin is not 64 KiB"
mv "$out/seq-writer.bin.tmp" "$out/seq-writer.bin"
qemu_stamp=$( {
  sha256sum "$qemu_bin" "$tcg_module" "$losetup_bin" "$dd_bin" "$out/seq-writer.bin" "$out/base.stamp"
  sed -n '/^# ---- inner VM archive/,$p' "$0" | sha256sum
} | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/qemu.cpio.gz" ] || [ "$(cat "$out/qemu.stamp" 2>/dev/null)" != "$qemu_stamp" ]; then
  Q=$out/qemu-root
  rm -rf "$Q"
  mkdir -p "$Q/usr/bin" "$Q/usr/sbin" "$Q/usr/share/polycsi-lab" "$Q$(dirname "$tcg_module")"
  cp -L "$qemu_bin" "$Q/usr/bin/qemu-system-x86_64"
  cp -L "$tcg_module" "$Q$tcg_module"
  copy_host_libs "$qemu_bin" "$Q"
  copy_host_libs "$tcg_module" "$Q"
  cp -L "$losetup_bin" "$Q/usr/sbin/losetup"
  copy_host_libs "$losetup_bin" "$Q"
  cp -L "$dd_bin" "$Q/usr/share/polycsi-lab/dd"
  copy_host_libs "$dd_bin" "$Q"
  cp "$out/seq-writer.bin" "$Q/usr/share/polycsi-lab/seq-writer.bin"
  (cd "$Q" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$out/qemu.cpio.gz.tmp")
  mv "$out/qemu.cpio.gz.tmp" "$out/qemu.cpio.gz"
  echo "$qemu_stamp" >"$out/qemu.stamp"
fi
cat "$out/initramfs.img" "$out/qemu.cpio.gz" >"$out/initramfs-qemu.img.tmp"
mv "$out/initramfs-qemu.img.tmp" "$out/initramfs-qemu.img"
echo "build-guest-image: $out/initramfs-qemu.img ($(du -h "$out/initramfs-qemu.img" | cut -f1)) with QEMU and seq-writer for the nested migration"
