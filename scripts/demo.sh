#!/usr/bin/env bash
# The main job: builds polycsi if needed, starts the driver with the sample plugin on a
# temporary socket, and walks a whole volume lifecycle and a KubeVirt-style live migration
# through the same CSI calls kubelet and the sidecars make. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build_dir=${BUILD_DIR:-build}
bin="$root/$build_dir/bin"
if [ ! -x "$bin/polycsi" ] || [ ! -x "$bin/polycsictl" ] || [ ! -f "$build_dir/plugins/polycsi_sample.so" ]; then
  ./scripts/build.sh
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh must run as root: the node side attaches loop devices and mounts filesystems" >&2
  exit 1
fi

work=$(mktemp -d /tmp/polycsi-demo.XXXXXX)
driver_pid=""
cleanup() {
  set +e
  for t in "$work"/publish/*; do mountpoint -q "$t" 2>/dev/null && umount "$t"; done
  mountpoint -q "$work/staging/fs" && umount "$work/staging/fs"
  if [ -n "$driver_pid" ]; then kill "$driver_pid" 2>/dev/null; wait "$driver_pid" 2>/dev/null; fi
  # Detach only loop devices backed by this demo's files.
  losetup -j "$work/volumes" 2>/dev/null | cut -d: -f1 | xargs -r -n1 losetup -d
  for dev in $(losetup -a | grep "$work" | cut -d: -f1); do losetup -d "$dev"; done
  rm -rf "$work"
}
trap cleanup EXIT

metrics_port=$(( 20000 + RANDOM % 20000 ))
cat >"$work/config.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/state
backends:
  - name: local
    plugin: sample
    default: true
    settings:
      directory: $work/volumes
YAML

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() { printf '$ polycsictl %s\n' "$*" >&2; "$bin/polycsictl" --endpoint "unix://$work/csi.sock" "$@"; }
# Runs a polycsictl call with --json, shows its answer and prints one field of it (a Python
# subscript path such as ["volume"]["volume_id"]).
ctl_field() {
  local path=$1; shift
  local answer
  answer=$(ctl --json "$@")
  printf '%s\n' "$answer" >&2
  printf '%s' "$answer" | python3 -c "import json,sys; print(json.load(sys.stdin)$path)"
}
expect_failure() {
  printf '$ polycsictl %s\n' "$*" >&2
  if "$bin/polycsictl" --endpoint "unix://$work/csi.sock" "$@"; then
    echo "demo: expected this call to be refused" >&2; exit 1
  fi
}

step "start polycsi (sample plugin: sparse files attached as loop devices)"
"$bin/polycsi" --log-level warn serve --config "$work/config.yaml" \
  --endpoint "unix://$work/csi.sock" --node-id node-a \
  --metrics-address "127.0.0.1:$metrics_port" &
driver_pid=$!
for _ in $(seq 1 100); do [ -S "$work/csi.sock" ] && break; sleep 0.1; done
ctl identity info
ctl identity probe
ctl controller capabilities

step "filesystem volume: create, attach, stage (mkfs + mount), publish (bind)"
vol=$(ctl_field '["volume"]["volume_id"]' controller create pvc-demo-fs --size 320Mi --access-mode rwo --fs-type xfs)
node_id=$(ctl_field '["node_id"]' node info)
ctl controller publish "$vol" "$node_id" --access-mode rwo --fs-type xfs
ctl node stage "$vol" "$work/staging/fs" --access-mode rwo --fs-type xfs
ctl node publish "$vol" "$work/publish/fs" --staging "$work/staging/fs" --access-mode rwo --fs-type xfs
echo "hello from polycsi" >"$work/publish/fs/hello.txt"
ctl node stats "$vol" "$work/publish/fs"

step "expand online: controller grows the file, node grows the loop device and xfs"
ctl controller expand "$vol" --size 400Mi
ctl node expand "$vol" "$work/publish/fs" --size 400Mi --staging "$work/staging/fs" --access-mode rwo --fs-type xfs
ctl node stats "$vol" "$work/publish/fs"

step "snapshot and restore"
snap=$(ctl_field '["snapshot"]["snapshot_id"]' snapshot create snap-demo "$vol")
ctl snapshot list
restored=$(ctl_field '["volume"]["volume_id"]' controller create pvc-demo-restored --size 400Mi --access-mode rwo --fs-type xfs --from-snapshot "$snap")

step "tear down: unpublish, unstage (umount + detach), controller unpublish, delete"
ctl node unpublish "$vol" "$work/publish/fs"
ctl node unstage "$vol" "$work/staging/fs"
ctl controller unpublish "$vol" "$node_id"
ctl snapshot delete "$snap"
ctl controller delete "$restored"
ctl controller delete "$vol"

step "KubeVirt live migration on an RWX block volume (migration_window)"
mig=$(ctl_field '["volume"]["volume_id"]' controller create pvc-vm-disk --size 64Mi --access-mode rwx --block --param migrationTimeoutSeconds=120)
echo "-- source virt-launcher on node-a"
ctl controller publish "$mig" node-a --access-mode rwx --block --context polycsi.io/migration-timeout-seconds=120
echo "-- target virt-launcher on node-b: dual attach, the migration window opens"
ctl controller publish "$mig" node-b --access-mode rwx --block --context polycsi.io/migration-timeout-seconds=120
echo "-- a third node is refused"
expect_failure controller publish "$mig" node-c --access-mode rwx --block --context polycsi.io/migration-timeout-seconds=120
echo "-- source detaches after the handoff: migration completed"
ctl controller unpublish "$mig" node-a
ctl controller get "$mig"
echo "-- an RWO volume is never on two nodes"
rwo=$(ctl_field '["volume"]["volume_id"]' controller create pvc-rwo --size 16Mi --access-mode rwo --block)
ctl controller publish "$rwo" node-a --access-mode rwo --block
expect_failure controller publish "$rwo" node-b --access-mode rwo --block
step "migration metrics"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" | grep -E '^(sample_csi_migration|polycsi_attachments)' || true

ctl controller unpublish "$rwo" node-a
ctl controller unpublish "$mig" node-b
ctl controller delete "$rwo"
ctl controller delete "$mig"
step "done: every volume deleted, the driver stops and nothing is left running"
