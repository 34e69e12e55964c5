#!/usr/bin/env bash
# The main job, on this machine: one polycsi driver with the three in-tree storage strategies
# side by side, each against a real peer on 127.0.0.1:
#   rds-nvme          rds_nvme          rds-sim (a simulated MikroTik RDS over SSH)
#   powerstore-iscsi  iscsi_powerstore  powerstore-sim (PowerStore REST over HTTPS) + its tgtd
#   nfs               nfs               nfs-ganesha (NFSv4, FSAL VFS)
# It plays a KubeVirt live migration on rds-nvme through the CSI calls the external-provisioner
# and external-attacher make, prints the timeline, the migration metrics and the events the
# driver posts (to a stand-in API server that records them), shows what the other two do with a
# second node, and ends with the comparison table the running driver answers
# (`polycsictl compare`), each verdict checked against what the calls above did.
# First, a short volume lifecycle with the sample plugin shows the node side (mkfs, mount,
# bind) on this machine's kernel.
#
# Leaves nothing running, mounted or attached; exits non-zero when any step fails.
#   BUILD_DIR=build-x ./scripts/demo.sh   # use that build directory
#   DEMO_NO_BUILD=1                        # fail instead of building when something is missing
#   DEMO_VERBOSE=1                         # also print each polycsictl command and its answer
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build_dir=${BUILD_DIR:-build}
case $build_dir in /*) ;; *) build_dir="$root/$build_dir" ;; esac
bin="$build_dir/bin"
plugin_dir="$build_dir/plugins"
# Built in two steps, so the first section shows as soon as what it runs is built: the driver,
# polycsictl and the sample plugin; then the simulators and the other plugins (a third of the
# build) before the second section.
first_targets="polycsi polycsictl polycsi_plugin_sample"
rest_targets="rds-sim powerstore-sim polycsi_plugin_rds_nvme polycsi_plugin_iscsi_powerstore
  polycsi_plugin_nfs"
# Builds the demo targets $1 unless every file named after it is there.
build_unless_present() {
  local targets=$1 missing=()
  shift
  for f in "$@"; do [ -e "$f" ] || missing+=("$f"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ -n "${DEMO_NO_BUILD:-}" ]; then
    echo "demo.sh: $build_dir is not fully built; missing: ${missing[*]}" >&2
    exit 1
  fi
  # Only what the demo runs: its packages, then its targets (not the tests, fuzzers and
  # benchmarks of scripts/test.sh).
  echo "demo.sh: building $(echo $targets) into $build_dir (a first build takes minutes)"
  BUILD_DIR="$build_dir" POLYCSI_DEMO_ONLY=1 POLYCSI_DEMO_TARGETS="$(echo $targets)" \
    ./scripts/build.sh
}
build_unless_present "$first_targets" "$bin/polycsi" "$bin/polycsictl" "$plugin_dir/polycsi_sample.so" \
  "$build_dir/lib/libpolycsi_attachment_store.so" "$build_dir/lib/libpolycsi_httplib.so"
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh must run as root: the node side attaches loop devices and mounts filesystems," >&2
  echo "and nfs-ganesha's VFS backend needs root" >&2
  exit 1
fi
for tool in ganesha.nfsd tgtd tgtadm ssh ssh-keygen openssl curl python3 losetup mountpoint; do
  command -v "$tool" >/dev/null ||
    { echo "demo.sh: $tool is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

# The system's interpreter when there is one: version-manager shims cost a second per call.
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

work=$(mktemp -d /tmp/polycsi-demo.XXXXXX)
source "$root/scripts/demo/output.sh"
source "$root/scripts/demo/peers.sh"

sample_driver_pid=""
driver_pid=""
sink_pid=""
cleanup() {
  local status=$?
  set +e
  if [ "$status" -eq 130 ]; then
    echo "demo: interrupted; cleaning up" >&2
  elif [ "$status" -ne 0 ] && [ -f "$work/polycsi.log" ]; then
    echo "demo: failed; the driver's log (last 30 lines):" >&2
    tail -n 30 "$work/polycsi.log" >&2
  fi
  [ -n "$driver_pid" ] && stop_pid "$driver_pid" 15
  [ -n "$sink_pid" ] && stop_pid "$sink_pid" 5
  stop_peers
  for t in "$work"/publish/*; do mountpoint -q "$t" 2>/dev/null && umount "$t"; done
  mountpoint -q "$work/staging/fs" 2>/dev/null && umount "$work/staging/fs"
  [ -n "$sample_driver_pid" ] && stop_pid "$sample_driver_pid" 15
  # Detach only loop devices backed by this demo's files.
  for dev in $(losetup -a | grep -F "$work/" | cut -d: -f1); do losetup -d "$dev"; done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts `polycsi serve` with config $1 on socket $2 and waits until Probe answers ready (a
# controller with a Kubernetes API is ready once it has read the cluster's VolumeAttachments).
# Extra arguments go to `serve`. Sets $started_pid.
start_driver() {
  local config=$1 socket=$2
  shift 2
  "$bin/polycsi" --log-level info serve --config "$config" --plugin-dir "$plugin_dir" \
    --endpoint "unix://$socket" "$@" >>"$work/polycsi.log" 2>&1 &
  started_pid=$!
  for _ in $(seq 1 100); do
    if [ -S "$socket" ] && "$bin/polycsictl" --endpoint "unix://$socket" --timeout 2s \
      identity probe 2>/dev/null | grep -q '^ready  true$'; then
      return 0
    fi
    running "$started_pid" || break
    sleep 0.1
  done
  echo "demo: polycsi did not start; its log:" >&2
  cat "$work/polycsi.log" >&2
  return 1
}

printf '%spolycsi demo%s: one CSI driver, three storage strategies, and which one lets a KubeVirt VM live-migrate\n' \
  "$c_bold" "$c_off"
note "NVMe/TCP and iSCSI node staging need kernel modules (nvme_tcp, iscsi_tcp) this machine lacks: for those backends this demo drives the control plane, as the controller's sidecars do."

# ---------------------------------------------------------------------------------------------
section "1. The node side on this kernel (sample plugin: a sparse file attached as a loop device)"
cat >"$work/config-sample.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/state-sample
backends:
  - name: local
    plugin: sample
    settings:
      directory: $work/volumes
YAML
start_driver "$work/config-sample.yaml" "$work/sample.sock" --node-id node-a
sample_driver_pid=$started_pid
endpoint="unix://$work/sample.sock"
fs=(--access-mode rwo --fs-type ext4)
csi external-provisioner "CreateVolume 64Mi RWO ext4" controller create pvc-demo-fs --size 64Mi "${fs[@]}"
vol=$(json 'r["volume"]["volume_id"]')
timeline external-provisioner "CreateVolume 64Mi RWO ext4" "OK  $vol" "$c_green"
ok external-attacher "ControllerPublishVolume -> node-a" "attached" controller publish "$vol" node-a "${fs[@]}"
ok kubelet "NodeStageVolume (mkfs.ext4 + mount)" "staged at $work/staging/fs" \
  node stage "$vol" "$work/staging/fs" "${fs[@]}"
ok kubelet "NodePublishVolume (bind mount)" "published at $work/publish/fs" \
  node publish "$vol" "$work/publish/fs" --staging "$work/staging/fs" "${fs[@]}"
echo "hello from polycsi" >"$work/publish/fs/hello.txt"
csi kubelet "NodeGetVolumeStats" node stats "$vol" "$work/publish/fs"
timeline kubelet "NodeGetVolumeStats" "OK  $(json '"%d of %d bytes used, file reads: %s" % (int(r["usage"][0]["used"]), int(r["usage"][0]["total"]), open("'"$work"'/publish/fs/hello.txt").read().strip())')" "$c_green"
ok kubelet "NodeUnpublishVolume" "unmounted" node unpublish "$vol" "$work/publish/fs"
ok kubelet "NodeUnstageVolume (umount + detach)" "loop device detached" node unstage "$vol" "$work/staging/fs"
ok external-attacher "ControllerUnpublishVolume node-a" "detached" controller unpublish "$vol" node-a
ok external-provisioner "DeleteVolume" "deleted" controller delete "$vol"
stop_pid "$sample_driver_pid" 15
sample_driver_pid=""

# ---------------------------------------------------------------------------------------------
build_unless_present "$rest_targets" "$bin/rds-sim" "$bin/powerstore-sim" \
  "$plugin_dir/polycsi_rds_nvme.so" "$build_dir/lib/libpolycsi_rds_nvme_ssh.so" \
  "$build_dir/lib/libpolycsi_rds_nvme_nvme.so" \
  "$plugin_dir/polycsi_iscsi_powerstore.so" "$build_dir/lib/libpolycsi_iscsi_powerstore_rest.so" \
  "$plugin_dir/polycsi_nfs.so"
section "2. The storage systems on 127.0.0.1 and one driver with three backends"
start_rds_sim
note "rds-sim         SSH 127.0.0.1:$rds_port, host key $rds_fingerprint (pinned in the config)"
powerstore_global_id=PS03455f439da7
start_powerstore_sim "$powerstore_global_id" demo-array-password
note "powerstore-sim  REST $powerstore_endpoint, iSCSI portal $powerstore_portal (tgtd)"
start_ganesha
note "nfs-ganesha     NFSv4 127.0.0.1:$nfs_port, export $nfs_share = $nfs_export"

# Kubernetes events go to a stand-in API server that records them.
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$work/kube-token"
"$python" "$root/scripts/demo/kube_event_sink.py" "$work/kube-token" "$work/events.jsonl" \
  >"$work/kube-event-sink.log" 2>&1 &
sink_pid=$!
sink_port=$(await_line "$sink_pid" "$work/kube-event-sink.log" \
  's/^kube-event-sink listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
note "events sink     http://127.0.0.1:$sink_port (records the Events polycsi posts to PVCs)"

cat >"$work/config.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/state
backends:
  - name: rds-nvme
    plugin: rds_nvme
    default: true
    settings:
      address: 127.0.0.1
      port: $rds_port
      user: admin
      private_key_file: $rds_key
      host_key_fingerprint: "$rds_fingerprint"
      base_path: /storage-pool/kubernetes-volumes
      orphan_scan_interval_seconds: 0
  - name: powerstore-iscsi
    plugin: iscsi_powerstore
    settings:
      ca_file: $powerstore_ca
      iscsi_port: ${powerstore_portal##*:}
      arrays:
        - endpoint: "$powerstore_endpoint"
          globalID: "$powerstore_global_id"
          username: admin
          password: demo-array-password
          isDefault: true
          blockProtocol: ISCSI
  - name: nfs
    plugin: nfs
    settings:
      server: 127.0.0.1
      share: $nfs_share
      nfs_port: $nfs_port
      sub_dir: "\${pvc.metadata.namespace}-\${pvc.metadata.name}"
      timeout_seconds: 10
YAML
metrics_port=$(free_port)
# The controller alone, as the controller Deployment runs it.
start_driver "$work/config.yaml" "$work/csi.sock" --mode controller --node-id controller-0 \
  --metrics-address "127.0.0.1:$metrics_port" \
  --kubernetes-api "http://127.0.0.1:$sink_port" --kubernetes-token-file "$work/kube-token" \
  --volume-attachment-resync 86400
driver_pid=$started_pid
endpoint="unix://$work/csi.sock"
note "polycsi serve --mode controller, backends: rds-nvme (default), powerstore-iscsi, nfs"

# Node ids as each node's driver reports them: the name, then each plugin's host identity
# (NVMe host NQN, iSCSI initiator IQN), which the controller puts on the storage's allow-lists.
nqn_a=nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4111-8111-000000000001
nqn_b=nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-2222-4222-8222-000000000002
nqn_c=nqn.2014-08.org.nvmexpress:uuid:cccccccc-3333-4333-8333-000000000003
node_a="node-a|rds_nvme=$nqn_a|iscsi_powerstore=iqn.1994-05.com.redhat:node-a"
node_b="node-b|rds_nvme=$nqn_b|iscsi_powerstore=iqn.1994-05.com.redhat:node-b"
node_c="node-c|rds_nvme=$nqn_c|iscsi_powerstore=iqn.1994-05.com.redhat:node-c"

# What kubelet records when node-driver-registrar registers each node's plugin: the node id
# its NodeGetInfo answered, in the node's CSINode. The controller publishes only to those.
register_csi_node() {
  "$python" - "$sink_port" "$work/kube-token" "$1" "$2" <<'PY'
import json, sys, urllib.request
port, token_file, name, node_id = sys.argv[1:]
token = open(token_file, encoding="utf-8").readline().strip()
body = {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": name},
        "spec": {"drivers": [{"name": "polycsi.csi.io", "nodeID": node_id}]}}
request = urllib.request.Request(
    "http://127.0.0.1:%s/apis/storage.k8s.io/v1/csinodes" % port, data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()
PY
}
register_csi_node node-a "$node_a"
register_csi_node node-b "$node_b"
register_csi_node node-c "$node_c"

# Fills the array named $1 with the volume_context of the CreateVolume answer in $reply as
# --context flags: the external-attacher passes the PV's volumeAttributes to ControllerPublish.
context_flags() {
  local -n flags=$1
  local line
  flags=()
  while IFS= read -r line; do
    if [ -n "$line" ]; then flags+=(--context "$line"); fi
  done < <(json '"\n".join("%s=%s" % kv for kv in sorted(r["volume"].get("volume_context", {}).items()))')
}

metric_lines() {
  curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
    grep -E "^$1" | grep -v '_bucket' | sed 's/^/            /' || true
}

# ---------------------------------------------------------------------------------------------
section "3. KubeVirt live migration on rds-nvme (RWX Block, bounded dual attach)"
note "PVC vms/fedora-disk: ReadWriteMany, volumeMode Block, StorageClass polycsi-rds-nvme, migrationTimeoutSeconds 120"
rwx_block=(--access-mode rwx --block)
csi external-provisioner "CreateVolume 1Gi RWX Block" controller create \
  pvc-0d15c0de-5eed-4a11-8b0b-00000000cafe --size 1Gi "${rwx_block[@]}" \
  --param backend=rds-nvme --param migrationTimeoutSeconds=120 \
  --param rdsAddress=127.0.0.1 --param rdsPort="$rds_port" \
  --param rdsBasePath=/storage-pool/kubernetes-volumes --param nvmePort=4420 \
  --param csi.storage.k8s.io/pvc/name=fedora-disk --param csi.storage.k8s.io/pvc/namespace=vms
mig=$(json 'r["volume"]["volume_id"]')
rds_context=()
context_flags rds_context
timeline external-provisioner "CreateVolume 1Gi RWX Block" "OK  $mig" "$c_green"
slot=${mig#rds-nvme:}
# The host NQNs the RDS lets connect to the disk, shown by node name where known.
allow_list() {
  local nqns
  nqns=$(routeros "/disk print detail where slot=\"$slot\"" | tr -d '\n' |
    grep -o 'nvme-tcp-server-allow-host-name="[^"]*"' | sed 's/^[^"]*"//;s/"$//' |
    sed "s/$nqn_a/node-a/;s/$nqn_b/node-b/;s/$nqn_c/node-c/;s/,/, /g" || true)
  detail "RDS allow-list (host NQNs): ${nqns:-(not exported)}"
}
allow_list
ok external-attacher "ControllerPublishVolume -> node-a" "source virt-launcher attached" \
  controller publish "$mig" "$node_a" "${rwx_block[@]}" "${rds_context[@]}"
allow_list
ok external-attacher "ControllerPublishVolume -> node-b" "target attached: migration started" \
  controller publish "$mig" "$node_b" "${rwx_block[@]}" "${rds_context[@]}"
allow_list
refused external-attacher "ControllerPublishVolume -> node-c" \
  controller publish "$mig" "$node_c" "${rwx_block[@]}" "${rds_context[@]}"
rds_third_refusal=$refusal
allow_list
detail "metrics during the migration (http://127.0.0.1:$metrics_port/metrics):"
metric_lines rds_csi_migration
ok external-attacher "ControllerUnpublishVolume node-a" "source detached: migration completed" \
  controller unpublish "$mig" "$node_a"
allow_list
csi external-attacher "ControllerGetVolume" controller get "$mig"
timeline external-attacher "ControllerGetVolume" "OK  published on: $(json '", ".join(r["status"]["published_node_ids"])' | sed 's/|[^,]*//g')" "$c_green"
detail "metrics after the migration:"
metric_lines rds_csi_migration
# Events are posted asynchronously: wait (bounded) for the last one.
for _ in $(seq 1 100); do
  grep '"MigrationCompleted"' "$work/events.jsonl" | grep -q '"fedora-disk"' && break
  sleep 0.1
done
detail "events posted to PersistentVolumeClaim vms/fedora-disk:"
"$python" - "$work/events.jsonl" fedora-disk <<'PY' | sed 's/^/            /'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
rows = [e for e in rows if e["involvedObject"]["name"] == sys.argv[2]]
if not rows:
    sys.exit("no events were posted for PVC " + sys.argv[2])
print("%-8s %-20s %s" % ("TYPE", "REASON", "MESSAGE"))
for e in rows:
    print("%-8s %-20s %s" % (e["type"], e["reason"], e["message"]))
PY
ok external-attacher "ControllerUnpublishVolume node-b" "detached" controller unpublish "$mig" "$node_b"
ok external-provisioner "DeleteVolume" "disk and file removed from the RDS" controller delete "$mig"
detail "disks left on the RDS with this slot: $(routeros "/disk print count-only where slot=\"$slot\"")"

# ---------------------------------------------------------------------------------------------
section "4. PowerStore over iSCSI (RWO only: fast block, one node at a time)"
refused external-provisioner "CreateVolume 1Gi RWX Block" controller create pvc-ps-rwx --size 1Gi \
  "${rwx_block[@]}" --param backend=powerstore-iscsi --param arrayID="$powerstore_global_id"
rwo_block=(--access-mode rwo --block)
csi external-provisioner "CreateVolume 1Gi RWO Block" controller create \
  pvc-5a11d0c5-0000-4000-8000-00000000beef --size 1Gi "${rwo_block[@]}" \
  --param backend=powerstore-iscsi --param arrayID="$powerstore_global_id" \
  --param csi.storage.k8s.io/pvc/name=db-disk --param csi.storage.k8s.io/pvc/namespace=vms
ps_vol=$(json 'r["volume"]["volume_id"]')
ps_context=()
context_flags ps_context
timeline external-provisioner "CreateVolume 1Gi RWO Block" "OK  $ps_vol" "$c_green"
ps_volume_uuid=${ps_vol##*.}
csi external-attacher "ControllerPublishVolume -> node-a" controller publish "$ps_vol" "$node_a" "${rwo_block[@]}" "${ps_context[@]}"
timeline external-attacher "ControllerPublishVolume -> node-a" "OK  $(json '"portal %s, LUN %s" % (r["publish_context"]["portal"], r["publish_context"]["lun"])')" "$c_green"
detail "iSCSI initiators tgtd lets in: $(tgtd_acl "$ps_volume_uuid" | paste -sd' ')"
refused external-attacher "ControllerPublishVolume -> node-b" \
  controller publish "$ps_vol" "$node_b" "${rwo_block[@]}" "${ps_context[@]}"
ps_second_refusal=$refusal
detail "iSCSI initiators tgtd lets in: $(tgtd_acl "$ps_volume_uuid" | paste -sd' ')"
ok external-attacher "ControllerUnpublishVolume node-a" "detached" controller unpublish "$ps_vol" "$node_a"
ok external-provisioner "DeleteVolume" "deleted on the array" controller delete "$ps_vol"

# ---------------------------------------------------------------------------------------------
section "5. NFS (RWX Filesystem: every node mounts the same directory)"
refused external-provisioner "CreateVolume 1Gi RWX Block" controller create pvc-nfs-block --size 1Gi \
  "${rwx_block[@]}" --param backend=nfs
rwx_fs=(--access-mode rwx --fs-type nfs)
csi external-provisioner "CreateVolume 1Gi RWX Filesystem" controller create \
  pvc-0f5f0000-1111-4222-8333-000000000444 --size 1Gi "${rwx_fs[@]}" --param backend=nfs \
  --param csi.storage.k8s.io/pvc/name=shared-disk --param csi.storage.k8s.io/pvc/namespace=vms
nfs_vol=$(json 'r["volume"]["volume_id"]')
nfs_context=()
context_flags nfs_context
timeline external-provisioner "CreateVolume 1Gi RWX Filesystem" "OK  $nfs_vol" "$c_green"
detail "on the export: $(cd "$nfs_export" && find . -mindepth 1 -maxdepth 1 -not -name '.*' | sed 's|^\./||' | paste -sd' ')"
ok external-attacher "ControllerPublishVolume -> node-a" "attached" \
  controller publish "$nfs_vol" "$node_a" "${rwx_fs[@]}" "${nfs_context[@]}"
ok external-attacher "ControllerPublishVolume -> node-b" "attached too: shared" \
  controller publish "$nfs_vol" "$node_b" "${rwx_fs[@]}" "${nfs_context[@]}"
csi external-attacher "ControllerGetVolume" controller get "$nfs_vol"
nfs_published=$(json 'len(r["status"]["published_node_ids"])')
timeline external-attacher "ControllerGetVolume" "OK  published on $nfs_published nodes" "$c_green"
ok external-attacher "ControllerUnpublishVolume node-a" "detached" controller unpublish "$nfs_vol" "$node_a"
ok external-attacher "ControllerUnpublishVolume node-b" "detached" controller unpublish "$nfs_vol" "$node_b"
ok external-provisioner "DeleteVolume" "directory removed" controller delete "$nfs_vol"

# ---------------------------------------------------------------------------------------------
section "6. Which StorageClass can live-migrate a KubeVirt VM: the running driver's answer"
note "\$ polycsictl compare   (from the driver's GetPluginInfo, not a static table)"
"$bin/polycsictl" --endpoint "$endpoint" compare | sed 's/^/  /'
"$bin/polycsictl" --endpoint "$endpoint" --json compare >"$work/compare.json"

# Each verdict against what this run saw a second (and third) node get.
printf '\n  checked against the calls above:\n'
"$python" - "$work/compare.json" "$rds_third_refusal" "$ps_second_refusal" "$nfs_published" <<'PY'
import json, sys
table = {row["backend"]: row for row in json.load(open(sys.argv[1], encoding="utf-8"))["backends"]}
rds_third, ps_second, nfs_published = sys.argv[2], sys.argv[3], int(sys.argv[4])
seen = {
    # backend: (what a second node got, a third node refused?, the line to print)
    "rds-nvme": ("during migration window",
                 "migration limit" in rds_third,
                 "node-b attached beside node-a, node-c refused (migration limit)"),
    "powerstore-iscsi": ("refused", ps_second.startswith("FAILED_PRECONDITION"),
                         "node-b refused while node-a held the volume"),
    "nfs": ("allowed", nfs_published == 2, "node-a and node-b attached at once"),
}
failed = False
for backend, (second, observed, text) in seen.items():
    row = table.get(backend)
    agrees = row is not None and row["secondNode"] == second and observed and \
        row["liveMigration"] == (second != "refused")
    failed |= not agrees
    verdict = "yes" if row and row["liveMigration"] else "no"
    print("  %-17s live migration %-3s  seen: %-64s %s" %
          (backend, verdict, text, "agrees" if agrees else "DISAGREES"))
sys.exit(1 if failed else 0)
PY

section "done"
note "every volume deleted; stopping the driver, the simulators, tgtd and nfs-ganesha"
