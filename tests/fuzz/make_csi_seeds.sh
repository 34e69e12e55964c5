#!/usr/bin/env bash
# Writes the seed corpus of csi_validation_fuzz: each seed is one selector byte (the request
# type, see csi_validation_fuzz.cc) followed by a CSI request in protobuf wire format, encoded
# by protoc from the text-format requests below. Run again after changing them; the output is
# committed.
#   usage: tests/fuzz/make_csi_seeds.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
proto_dir=$here/../../proto
out=$here/corpus/csi_validation_fuzz
command -v protoc >/dev/null || { echo "make_csi_seeds.sh: protoc not found (protobuf-compiler)" >&2; exit 1; }
mkdir -p -- "$out"

# seed NAME SELECTOR MESSAGE TEXT
seed() {
  local name=$1 selector=$2 message=$3 text=$4
  {
    printf '%b' "\\x$(printf %02x "$selector")"
    printf '%s\n' "$text" | protoc --proto_path="$proto_dir" --proto_path=/usr/include \
      --encode="csi.v1.$message" "$proto_dir/csi.proto"
  } > "$out/$name"
}

seed create_block_rwx 0 CreateVolumeRequest '
name: "pvc-5c2a9f0e"
capacity_range { required_bytes: 1073741824 limit_bytes: 2147483648 }
volume_capabilities { block {} access_mode { mode: MULTI_NODE_MULTI_WRITER } }
parameters { key: "backend" value: "rds" }
parameters { key: "migrationTimeoutSeconds" value: "600" }
parameters { key: "csi.storage.k8s.io/pvc/name" value: "vm-disk" }'
seed create_mount_xfs 0 CreateVolumeRequest '
name: "pvc-1"
volume_capabilities { mount { fs_type: "xfs" mount_flags: "noatime" } access_mode { mode: SINGLE_NODE_WRITER } }
parameters { key: "migrationTimeoutSeconds" value: "0030" }'
seed stage_mount 1 NodeStageVolumeRequest '
volume_id: "rds:pvc-1"
staging_target_path: "/var/lib/kubelet/plugins/kubernetes.io/csi/polycsi.csi.io/abc/globalmount"
volume_capability { mount { fs_type: "ext4" } access_mode { mode: SINGLE_NODE_MULTI_WRITER } }
publish_context { key: "portal" value: "10.0.0.1:3260" }'
seed publish_block 2 NodePublishVolumeRequest '
volume_id: "rds:pvc-1"
staging_target_path: "/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/staging/pvc-1"
target_path: "/var/lib/kubelet/pods/uid/volumeDevices/kubernetes.io~csi/pvc-1/dev"
volume_capability { block {} access_mode { mode: MULTI_NODE_MULTI_WRITER } }
readonly: false'
seed expand 3 NodeExpandVolumeRequest '
volume_id: "sample:vol-1"
volume_path: "/var/lib/kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-1/mount"
capacity_range { required_bytes: 4294967296 }'
seed controller_publish 4 ControllerPublishVolumeRequest '
volume_id: "rds:pvc-1"
node_id: "worker-1|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:4c4c4544"
volume_capability { block {} access_mode { mode: MULTI_NODE_MULTI_WRITER } }'
seed validate 5 ValidateVolumeCapabilitiesRequest '
volume_id: "rds:pvc-1"
volume_capabilities { mount {} access_mode { mode: SINGLE_NODE_READER_ONLY } }
parameters { key: "migrationTimeoutSeconds" value: "3601" }'
echo "wrote $(find "$out" -type f | wc -l) seeds to $out"
