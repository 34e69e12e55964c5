#!/usr/bin/env bash
# The main job: builds polycsi if needed, starts the driver with the sample plugin on a
# temporary socket and walks a whole volume lifecycle through the same CSI calls kubelet and
# the sidecars make; then starts rds-sim (a simulated MikroTik RDS reachable over SSH on
# loopback, never exporting over the kernel's NVMe target) and a controller with the rds_nvme
# backend, and walks a KubeVirt-style live migration on it, showing the disk's NVMe/TCP
# allow-list on the RDS between the steps. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build_dir=${BUILD_DIR:-build}
bin="$root/$build_dir/bin"
if [ ! -x "$bin/polycsi" ] || [ ! -x "$bin/polycsictl" ] || [ ! -x "$bin/rds-sim" ] ||
  [ ! -f "$build_dir/plugins/polycsi_sample.so" ] || [ ! -f "$build_dir/plugins/polycsi_rds_nvme.so" ]; then
  ./scripts/build.sh
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh must run as root: the node side attaches loop devices and mounts filesystems" >&2
  exit 1
fi

work=$(mktemp -d /tmp/polycsi-demo.XXXXXX)
driver_pid=""
rds_driver_pid=""
rds_sim_pid=""
cleanup() {
  set +e
  if [ -n "$rds_driver_pid" ]; then kill "$rds_driver_pid" 2>/dev/null; wait "$rds_driver_pid" 2>/dev/null; fi
  if [ -n "$rds_sim_pid" ]; then kill "$rds_sim_pid" 2>/dev/null; wait "$rds_sim_pid" 2>/dev/null; fi
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
rds_metrics_port=$(( metrics_port + 1 ))
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
# CTL_ENDPOINT picks the driver (the sample one unless set).
ctl() {
  printf '$ polycsictl %s\n' "$*" >&2
  "$bin/polycsictl" --endpoint "${CTL_ENDPOINT:-unix://$work/csi.sock}" "$@"
}
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

echo "-- an RWO volume is never on two nodes"
rwo=$(ctl_field '["volume"]["volume_id"]' controller create pvc-rwo --size 16Mi --access-mode rwo --block)
ctl controller publish "$rwo" node-a --access-mode rwo --block
expect_failure controller publish "$rwo" node-b --access-mode rwo --block
ctl controller unpublish "$rwo" node-a
ctl controller delete "$rwo"

step "start rds-sim (a simulated MikroTik RDS over SSH) and a controller with the rds_nvme backend"
rds="$work/rds"
mkdir -p "$rds"
ssh-keygen -q -t ed25519 -N '' -C rds-sim-host -f "$rds/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C polycsi-demo -f "$rds/id_ed25519"
cp "$rds/id_ed25519.pub" "$rds/authorized_keys"
# --no-nvmet: the simulator never touches this machine's kernel NVMe target.
"$bin/rds-sim" --listen 127.0.0.1:0 --state-dir "$rds/state" --host-key "$rds/ssh_host_ed25519_key" \
  --authorized-keys "$rds/authorized_keys" --pool-capacity 100G --no-nvmet --log-level warn \
  >"$rds/rds-sim.log" 2>&1 &
rds_sim_pid=$!
rds_port=""
for _ in $(seq 1 100); do
  rds_port=$(sed -n 's/^rds-sim listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$rds/rds-sim.log")
  [ -n "$rds_port" ] && break
  sleep 0.1
done
if [ -z "$rds_port" ]; then echo "demo: rds-sim did not start:" >&2; cat "$rds/rds-sim.log" >&2; exit 1; fi
# The host key is pinned, as an operator pins the RDS's key: `ssh-keygen -lf` of its key.
fingerprint=$(ssh-keygen -l -E sha256 -f "$rds/ssh_host_ed25519_key.pub" | awk '{print $2}')
echo "rds-sim on 127.0.0.1:$rds_port, host key $fingerprint"
echo "[127.0.0.1]:$rds_port $(cut -d' ' -f1,2 "$rds/ssh_host_ed25519_key.pub")" >"$rds/known_hosts"
# Runs a RouterOS command on the simulated RDS, as an operator would over SSH.
routeros() {
  printf '[admin@rds] > %s\n' "$*" >&2
  ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$rds/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -i "$rds/id_ed25519" -p "$rds_port" admin@127.0.0.1 "$*" | tr -d '\r'
}
cat >"$work/config-rds.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/state-rds
backends:
  - name: rds
    plugin: rds_nvme
    default: true
    settings:
      address: 127.0.0.1
      port: $rds_port
      user: admin
      private_key_file: $rds/id_ed25519
      host_key_fingerprint: "$fingerprint"
      base_path: /storage-pool/kubernetes-volumes
      orphan_scan_interval_seconds: 0
YAML
# The controller alone (as the controller Deployment runs it): the node half of rds_nvme
# connects NVMe/TCP and would read this machine's host NQN.
"$bin/polycsi" --log-level warn serve --mode controller --config "$work/config-rds.yaml" \
  --endpoint "unix://$work/rds.sock" --node-id controller-0 \
  --metrics-address "127.0.0.1:$rds_metrics_port" &
rds_driver_pid=$!
for _ in $(seq 1 100); do [ -S "$work/rds.sock" ] && break; sleep 0.1; done
ctl_rds() { CTL_ENDPOINT="unix://$work/rds.sock" ctl "$@"; }
ctl_rds identity probe

step "KubeVirt live migration on an RWX block volume on the RDS (migration_window)"
# Node ids carry each node's NVMe host NQN, which fencing puts on the disk's allow-list.
node_a="node-a|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4111-8111-000000000001"
node_b="node-b|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-2222-4222-8222-000000000002"
node_c="node-c|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:cccccccc-3333-4333-8333-000000000003"
mig=$(CTL_ENDPOINT="unix://$work/rds.sock" ctl_field '["volume"]["volume_id"]' controller create \
  pvc-0d15c0de-5eed-4a11-8b0b-00000000cafe --size 1Gi --access-mode rwx --block \
  --param migrationTimeoutSeconds=120 --param rdsAddress=127.0.0.1 --param rdsPort="$rds_port" \
  --param rdsBasePath=/storage-pool/kubernetes-volumes --param nvmePort=4420)
slot=${mig#rds:}
allow_list() { routeros "/disk print detail where slot=\"$slot\""; }
echo "-- a new export is closed: the allow-list holds only a placeholder NQN"
allow_list
echo "-- source virt-launcher on node-a"
ctl_rds controller publish "$mig" "$node_a" --access-mode rwx --block --context polycsi.io/migration-timeout-seconds=120
allow_list
echo "-- target virt-launcher on node-b: dual attach, the migration window opens"
ctl_rds controller publish "$mig" "$node_b" --access-mode rwx --block --context polycsi.io/migration-timeout-seconds=120
allow_list
echo "-- a third node is refused and never reaches the allow-list"
printf '$ polycsictl controller publish %s %s ...\n' "$mig" "$node_c" >&2
if "$bin/polycsictl" --endpoint "unix://$work/rds.sock" controller publish "$mig" "$node_c" \
  --access-mode rwx --block --context polycsi.io/migration-timeout-seconds=120; then
  echo "demo: expected this call to be refused" >&2; exit 1
fi
allow_list
step "migration metrics (rds backend, migration in progress)"
curl -fsS "http://127.0.0.1:$rds_metrics_port/metrics" | grep -E '^rds_csi_migration' | grep -v _bucket || true
echo "-- source detaches after the handoff: migration completed, only node-b may connect"
ctl_rds controller unpublish "$mig" "$node_a"
allow_list
ctl_rds controller get "$mig"
step "migration metrics (rds backend, migration completed)"
curl -fsS "http://127.0.0.1:$rds_metrics_port/metrics" | grep -E '^rds_csi_migration' | grep -v _bucket || true

ctl_rds controller unpublish "$mig" "$node_b"
ctl_rds controller delete "$mig"
echo "-- the disk and its file are gone from the RDS"
routeros "/disk print count-only where slot=\"$slot\""
routeros "/file print count-only where name~\"$slot\""
step "done: every volume deleted, the driver stops and nothing is left running"
