"""Scenarios 1 and 2: rds_nvme through the kernel's NVMe/TCP initiator and target.

rds-sim runs in the target VM and exports each disk through the kernel NVMe target (nvmet over
configfs). The controller runs on the host and reaches rds-sim's SSH through a QEMU port
forward; node VMs reach the NVMe/TCP port through another one (the host is 10.0.2.2 there).
"""
import hashlib
import os
import shlex
import time
import uuid

from .host import CsiClient, HostProcess, run_checked
from .node import context_flags, nvme_controllers, require_connected, require_not_connected, \
    require_not_mounted
from .report import StepFailed
from .vm import SECOND_NIC_HOST

RDS_SSH_GUEST_PORT = 2222
BASE_PATH = "/storage-pool/kubernetes-volumes"
KUBELET = "/var/lib/kubelet"


class RdsTarget:
    """rds-sim inside the target VM, with its host key and the controller's key."""

    def __init__(self, vm, work_dir, ssh_port, nvme_port):
        self.vm = vm
        self.ssh_port = ssh_port
        self.nvme_port = nvme_port
        self._dir = os.path.join(work_dir, "rds")
        os.makedirs(self._dir, exist_ok=True)
        self.client_key = os.path.join(self._dir, "id_ed25519")
        self._host_key = os.path.join(self._dir, "ssh_host_ed25519_key")
        self.fingerprint = None

    def start(self):
        for key, comment in ((self.client_key, "polycsi-lab"), (self._host_key, "rds-sim-lab")):
            if not os.path.exists(key):
                run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                             "-f", key], what="ssh-keygen")
        self.fingerprint = run_checked(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", self._host_key + ".pub"]).split()[1]
        with open(self._host_key, "rb") as f:
            self.vm.write_file("/etc/rds-sim/ssh_host_ed25519_key", f.read(), 0o600)
        with open(self.client_key + ".pub", "rb") as f:
            self.vm.write_file("/etc/rds-sim/authorized_keys", f.read(), 0o644)
        self.vm.check("modprobe nvmet && modprobe nvmet-tcp", what="loading nvmet")
        # The pool lives on ext4, as on the appliance's disks: nvmet opens file-backed namespaces
        # with O_DIRECT, which the guest's RAM-backed root filesystem refuses.
        self.vm.check("truncate -s 1G /tmp/rds-pool.img && mkfs.ext4 -q -F /tmp/rds-pool.img && "
                      "mkdir -p /var/lib/rds-sim && mount -o loop /tmp/rds-pool.img /var/lib/rds-sim",
                      60, what="making the pool's filesystem")
        self.vm.check(
            "setsid /opt/polycsi/bin/rds-sim "
            f"--listen 0.0.0.0:{RDS_SSH_GUEST_PORT} --state-dir /var/lib/rds-sim "
            "--host-key /etc/rds-sim/ssh_host_ed25519_key "
            "--authorized-keys /etc/rds-sim/authorized_keys --pool-capacity 1G "
            "--nvmet-root /sys/kernel/config/nvmet --nvmet-address 0.0.0.0 "
            ">/var/log/rds-sim.log 2>&1 </dev/null &", what="starting rds-sim")
        waited = self.vm.run("i=0; until grep -q 'rds-sim listening' /var/log/rds-sim.log; do "
                             "[ $i -gt 300 ] && { cat /var/log/rds-sim.log; exit 1; }; "
                             "sleep 0.2; i=$((i+1)); done", 90)
        if not waited.ok:
            raise StepFailed(f"rds-sim did not start in {self.vm.name}: {waited.output}")

    def allowed_hosts(self, nqn):
        """The kernel target's allow-list of a subsystem, read from configfs."""
        out = self.vm.check(f"ls /sys/kernel/config/nvmet/subsystems/{shlex.quote(nqn)}/allowed_hosts"
                            f"; cat /sys/kernel/config/nvmet/subsystems/{shlex.quote(nqn)}"
                            "/attr_allow_any_host", 10)
        lines = out.split()
        return set(lines[:-1]), lines[-1] == "1"

    def refused_hosts(self):
        """Host NQNs the kernel target refused, from its log ("connect by host X ... not allowed")."""
        out = self.vm.run("dmesg", 10).output
        return [line for line in out.splitlines() if "not allowed" in line]


class RdsController:
    """`polycsi serve --mode controller` on the host with the rds_nvme backend."""

    def __init__(self, bin_dir, work_dir, target):
        self._dir = os.path.join(work_dir, "controller-rds")
        os.makedirs(self._dir, exist_ok=True)
        self._bin_dir = bin_dir
        self._target = target
        self.socket = os.path.join(self._dir, "csi.sock")
        self.csi = CsiClient(os.path.join(bin_dir, "polycsictl"), f"unix://{self.socket}")
        self._process = None

    def start(self):
        config = os.path.join(self._dir, "config.yaml")
        with open(config, "w") as f:
            f.write(f"driver_name: polycsi.csi.io\nstate_path: {self._dir}/state\nbackends:\n" +
                    rds_backend_yaml(self._target, "127.0.0.1", self._target.client_key, True))
        self._process = HostProcess(
            "polycsi controller (rds)",
            [os.path.join(self._bin_dir, "polycsi"), "--log-level", "info", "serve", "--mode",
             "controller", "--config", config, "--endpoint", f"unix://{self.socket}",
             "--node-id", "lab-controller"],
            os.path.join(self._dir, "polycsi.log"))
        self._process.wait_for_path(self.socket, 60)
        self.csi.call("identity", "probe", json_output=False)

    def stop(self):
        if self._process is not None:
            self._process.stop()

    def log_tail(self):
        return self._process.log_text()[-3000:] if self._process else ""


def rds_backend_yaml(target, address, key_file, default):
    """The rds backend entry: one configuration for the controller and the nodes, as a
    deployment shares it (polycsi checks the SSH settings in node mode too)."""
    return f"""  - name: rds
    plugin: rds_nvme
    default: {"true" if default else "false"}
    settings:
      address: {address}
      port: {target.ssh_port}
      user: admin
      private_key_file: {key_file}
      host_key_fingerprint: "{target.fingerprint}"
      base_path: {BASE_PATH}
      nvme_addresses: 10.0.2.2,{SECOND_NIC_HOST}
      nvme_port: {target.nvme_port}
      orphan_scan_interval_seconds: 0
      device_timeout_seconds: 60
"""


class Volume:
    """A volume created through the controller and the node-side paths the scenarios use."""

    def __init__(self, answer, capability):
        volume = answer["volume"]
        self.id = volume["volume_id"]
        self.context = volume.get("volume_context", {})
        self.nqn = self.context.get("nqn", "")
        self.capability = capability  # polycsictl flags
        digest = hashlib.sha256(self.id.encode()).hexdigest()[:16]
        self.staging = f"{KUBELET}/plugins/kubernetes.io/csi/polycsi.csi.io/{digest}/globalmount"
        pod = uuid.uuid4()
        if "--block" in capability:
            self.target = f"{KUBELET}/plugins/kubernetes.io/csi/volumeDevices/publish/{digest}/{pod}"
        else:
            self.target = f"{KUBELET}/pods/{pod}/volumes/kubernetes.io~csi/{digest}/mount"
        self.publish_context = {}


def controller_publish(controller, volume, node_id):
    answer = controller.csi.call("controller", "publish", volume.id, node_id, *volume.capability,
                                 *context_flags("--context", volume.context))
    volume.publish_context = answer.get("publish_context", {})


def node_stage_publish(driver, volume):
    flags = [*volume.capability, *context_flags("--context", volume.context),
             *context_flags("--publish-context", volume.publish_context)]
    driver.vm.check(f"mkdir -p {shlex.quote(os.path.dirname(volume.target))}", 10)
    driver.csi.call("node", "stage", volume.id, volume.staging, *flags, timeout_s=150)
    driver.csi.call("node", "publish", volume.id, volume.target, "--staging", volume.staging,
                    *flags, timeout_s=90)


def node_unpublish_unstage(driver, volume):
    driver.csi.call("node", "unpublish", volume.id, volume.target, timeout_s=90)
    driver.csi.call("node", "unstage", volume.id, volume.staging, timeout_s=150)


def guest_sha256(vm, path, count_blocks=None, direct=False):
    """sha256 of a file, or of the first count_blocks 4 KiB blocks of a device."""
    if count_blocks is None:
        return vm.check(f"sha256sum {shlex.quote(path)}", 30).split()[0]
    flag = "iflag=direct " if direct else ""
    return vm.check(f"dd if={shlex.quote(path)} bs=4096 count={count_blocks} {flag}2>/dev/null"
                    " | sha256sum", 60).split()[0]


def write_random(vm, path, count_blocks, seek_blocks=0, direct=True):
    """Writes random 4 KiB blocks to a file or device; returns their sha256."""
    oflag = "oflag=direct " if direct else ""
    out = vm.check(
        f"dd if=/dev/urandom of=/tmp/pattern bs=4096 count={count_blocks} 2>/dev/null && "
        f"dd if=/tmp/pattern of={shlex.quote(path)} bs=4096 seek={seek_blocks} {oflag}"
        "conv=notrunc,fsync 2>/dev/null && sha256sum /tmp/pattern", 60, what=f"writing {path}")
    return out.split()[0]


def read_blocks_sha(vm, path, count_blocks, skip_blocks=0):
    return vm.check(f"dd if={shlex.quote(path)} bs=4096 skip={skip_blocks} count={count_blocks} "
                    "iflag=direct 2>/dev/null | sha256sum", 60).split()[0]


def device_size(vm, device):
    return int(vm.check(f"blockdev --getsize64 {shlex.quote(device)}", 10).strip())


def require_grown(vm, device, mountpoint, before, expected, data_path, data_sha):
    """After an online expansion: the device has `expected` bytes, the filesystem mounted at
    `mountpoint` grew past the old size, and the file written before still has its checksum."""
    after = device_size(vm, device)
    if after != expected:
        raise StepFailed(f"{device} is {after} bytes after expansion (before {before}), "
                         f"expected {expected}")
    # -P: one line per filesystem, also for a source name as long as a LUKS mapping's.
    fs_bytes = int(vm.check(f"df -Pk {mountpoint} | awk 'NR==2 {{print $2}}'", 10)) * 1024
    if fs_bytes <= before:
        raise StepFailed(f"the filesystem is {fs_bytes} bytes after expansion; it did not grow "
                         f"past the {before} bytes of its device before")
    vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
    if guest_sha256(vm, data_path) != data_sha:
        raise StepFailed("data changed across the expansion")


def staged_device(vm, volume):
    """The block device behind a filesystem volume's staging mount."""
    out = vm.check(f"findmnt -n -o SOURCE --target {shlex.quote(volume.staging)}", 10).strip()
    if not out.startswith("/dev/nvme"):
        raise StepFailed(f"{volume.staging} is mounted from {out!r}, not an NVMe namespace")
    return out


def scenario_filesystem_and_block(steps, controller, target, node):
    """Scenario 1: a filesystem volume and a raw block volume on one node, through nvme-tcp."""
    vm = node.vm
    state = {}
    fs_caps = ["--access-mode", "rwo", "--fs-type", "ext4"]
    block_caps = ["--access-mode", "rwo", "--block"]

    def create_fs():
        state["node_id"] = node.node_id()
        if "rds_nvme=nqn." not in state["node_id"]:
            raise StepFailed(f"node id {state['node_id']!r} carries no NVMe host NQN")
        state["fs"] = Volume(controller.csi.call("controller", "create", f"pvc-{uuid.uuid4()}",
                                                 "--size", "64Mi", *fs_caps), fs_caps)
        if not state["fs"].nqn:
            raise StepFailed(f"volume context has no nqn: {state['fs'].context}")
        controller_publish(controller, state["fs"], state["node_id"])

    def stage_fs():
        volume = state["fs"]
        node_stage_publish(node, volume)
        require_connected(vm, volume.nqn)
        state["fs_device"] = staged_device(vm, volume)
        fstype = vm.check(f"findmnt -n -o FSTYPE --target {volume.target}", 10).strip()
        if fstype != "ext4":
            raise StepFailed(f"{volume.target} is {fstype!r}, expected ext4")

    def write_read_fs():
        volume = state["fs"]
        data = f"{volume.target}/data.bin"
        state["fs_sha"] = write_random(vm, data, 256, direct=False)
        vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
        if guest_sha256(vm, data) != state["fs_sha"]:
            raise StepFailed("data read back from the filesystem differs from what was written")

    def expand_fs():
        volume = state["fs"]
        before = device_size(vm, state["fs_device"])
        controller.csi.call("controller", "expand", volume.id, "--size", "96Mi")
        node.csi.call("node", "expand", volume.id, volume.target, "--size", "96Mi", "--staging",
                      volume.staging, *fs_caps, timeout_s=120)
        require_grown(vm, state["fs_device"], volume.target, before, 96 * 1024 * 1024,
                      f"{volume.target}/data.bin", state["fs_sha"])

    def teardown_fs():
        volume = state["fs"]
        node_unpublish_unstage(node, volume)
        require_not_mounted(vm, KUBELET)
        require_not_connected(vm, volume.nqn)
        controller.csi.call("controller", "unpublish", volume.id, state["node_id"])
        controller.csi.call("controller", "delete", volume.id)

    def block_write():
        # The StorageClass's connect tuning reaches the kernel's controller.
        volume = Volume(controller.csi.call("controller", "create", f"pvc-{uuid.uuid4()}",
                                            "--size", "32Mi", *block_caps,
                                            "--param", "ctrlLossTmo=120",
                                            "--param", "reconnectDelay=3"), block_caps)
        state["block"] = volume
        controller_publish(controller, volume, state["node_id"])
        node_stage_publish(node, volume)
        require_connected(vm, volume.nqn)
        ctrl = [c[0] for c in nvme_controllers(vm) if c[1] == volume.nqn][0]
        tuning = vm.check(f"cat /sys/class/nvme/{ctrl}/ctrl_loss_tmo "
                          f"/sys/class/nvme/{ctrl}/reconnect_delay", 10).split()
        if tuning != ["120", "3"]:
            raise StepFailed(f"{ctrl} has ctrl_loss_tmo, reconnect_delay {tuning}, "
                             "expected the StorageClass's 120, 3")
        if not vm.run(f"[ -b {volume.target} ]", 10).ok:
            raise StepFailed(f"{volume.target} is not a block device")
        size = device_size(vm, volume.target)
        if size != 32 * 1024 * 1024:
            raise StepFailed(f"the raw block volume is {size} bytes, expected {32 * 1024 * 1024}")
        state["block_sha"] = write_random(vm, volume.target, 512, seek_blocks=1024)
        if read_blocks_sha(vm, volume.target, 512, skip_blocks=1024) != state["block_sha"]:
            raise StepFailed("data read back from the raw block volume differs")

    def block_reattach():
        # Detaching disconnects; attaching again must find the data on the target, not in a cache.
        volume = state["block"]
        node_unpublish_unstage(node, volume)
        require_not_connected(vm, volume.nqn)
        node_stage_publish(node, volume)
        if read_blocks_sha(vm, volume.target, 512, skip_blocks=1024) != state["block_sha"]:
            raise StepFailed("the raw block volume lost its data across detach and attach")

    def block_teardown():
        volume = state["block"]
        node_unpublish_unstage(node, volume)
        require_not_mounted(vm, KUBELET)
        require_not_connected(vm)
        controller.csi.call("controller", "unpublish", volume.id, state["node_id"])
        controller.csi.call("controller", "delete", volume.id)

    return steps("rds_nvme", [
        ("create a filesystem volume and publish it to the node", create_fs),
        ("node stage+publish: nvme-tcp connect, mkfs.ext4, mount", stage_fs),
        ("write and read back 1 MiB through the filesystem", write_read_fs),
        ("expand 64Mi -> 96Mi: namespace and ext4 grow online, data kept", expand_fs),
        ("unpublish+unstage: unmounted, disconnected; delete", teardown_fs),
        ("raw block volume with ctrlLossTmo=120, reconnectDelay=3: the controller has them; "
         "stage+publish, write and read back 2 MiB (O_DIRECT)", block_write),
        ("raw block volume: detach and attach again, data still there", block_reattach),
        ("raw block volume: unpublish+unstage, nothing connected; delete", block_teardown),
    ] + multipath_steps(controller, node, state))


def subsystem_paths(vm, nqn):
    """The subsystem of `nqn` as the node's kernel shows it: (subsystem directory, head
    namespaces, [(controller, traddr, state)])."""
    out = vm.check(
        "for s in /sys/class/nvme-subsystem/nvme-subsys*; do "
        f"[ \"$(cat $s/subsysnqn)\" = {shlex.quote(nqn)} ] || continue; echo S $s; "
        "for e in $s/nvme*; do n=$(basename $e); case $n in "
        "*n[0-9]*) echo H $n;; *) echo C $n "
        "$(sed -n 's/.*traddr=\\([^,]*\\).*/\\1/p' /sys/class/nvme/$n/address) "
        "$(cat /sys/class/nvme/$n/state);; esac; done; done", 20)
    subsys, heads, controllers = None, [], []
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "S":
            subsys = rest.strip()
        elif kind == "H":
            heads.append(rest.strip())
        elif kind == "C" and len(rest.split()) == 3:
            controllers.append(tuple(rest.split()))
    return subsys, heads, controllers


def require_paths(vm, nqn, states, timeout_s=0):
    """Waits until the controllers of `nqn` are exactly {traddr: state} of `states`."""
    deadline = time.monotonic() + timeout_s
    while True:
        subsys, heads, controllers = subsystem_paths(vm, nqn)
        seen = {addr: state for _, addr, state in controllers}
        if seen == states:
            return subsys, heads, controllers
        if time.monotonic() >= deadline:
            raise StepFailed(f"{vm.name}: paths of {nqn} are {controllers} in {subsys}, "
                             f"expected {states}")
        time.sleep(1)


def multipath_steps(controller, node, state):
    """A raw block volume over two NVMe/TCP paths (the node's eth0 and eth1 both reach the
    target): one head device, a path cut and restored under a running writer, online growth,
    and an unstage that leaves no controller."""
    vm = node.vm
    caps = ["--access-mode", "rwo", "--block"]
    both_live = {"10.0.2.2": "live", SECOND_NIC_HOST: "live"}

    def stage_two_paths():
        state["node_id"] = state.get("node_id") or node.node_id()
        volume = Volume(controller.csi.call("controller", "create", f"pvc-{uuid.uuid4()}",
                                            "--size", "32Mi", *caps, "--param", "ctrlLossTmo=300",
                                            "--param", "reconnectDelay=2"), caps)
        state["mp"] = volume
        controller_publish(controller, volume, state["node_id"])
        published = volume.publish_context.get("nvmeAddresses")
        if published != f"10.0.2.2,{SECOND_NIC_HOST}":
            raise StepFailed(f"publish context nvmeAddresses is {published!r}")
        node_stage_publish(node, volume)
        subsys, heads, _ = require_paths(vm, volume.nqn, both_live, timeout_s=30)
        if len(heads) != 1:
            raise StepFailed(f"{subsys} has heads {heads}, expected one multipath namespace")
        head_dev = vm.check(f"cat /sys/block/{heads[0]}/dev", 10).strip()
        major, minor = vm.check(f"stat -L -c '%t %T' {shlex.quote(volume.target)}", 10).split()
        if f"{int(major, 16)}:{int(minor, 16)}" != head_dev:
            raise StepFailed(f"{volume.target} is device {major}:{minor} (hex), not the head "
                             f"{heads[0]} ({head_dev})")
        state["mp_subsys"], state["mp_head"] = subsys, heads[0]
        # Both paths carry I/O, so the cut below hits requests in flight on it.
        vm.check(f"echo round-robin > {subsys}/iopolicy", 10)

    def cut_one_path_mid_write():
        volume = state["mp"]
        target = shlex.quote(volume.target)
        vm.check("rm -f /tmp/mp-*; dd if=/dev/urandom of=/tmp/mp-pattern bs=1M count=8 "
                 "2>/dev/null && sha256sum /tmp/mp-pattern > /tmp/mp-pattern.sha", 60)
        pattern_sha = vm.check("cat /tmp/mp-pattern.sha", 10).split()[0]
        vm.check("setsid sh -c 'n=0; while [ ! -e /tmp/mp-stop ]; do "
                 f"dd if=/tmp/mp-pattern of={target} bs=1M oflag=direct conv=notrunc,fsync "
                 "2>/tmp/mp-dd.err || { echo $n > /tmp/mp-failed; break; }; "
                 "n=$((n+1)); echo $n > /tmp/mp-passes; done; touch /tmp/mp-done' "
                 "</dev/null >/dev/null 2>&1 &", 10)

        def passes():
            failed = vm.run("cat /tmp/mp-failed 2>/dev/null", 10).output.strip()
            if failed:
                raise StepFailed(f"the writer got an I/O error after {failed} passes: "
                                 f"{vm.run('cat /tmp/mp-dd.err', 10).output.strip()}")
            text = vm.run("cat /tmp/mp-passes 2>/dev/null", 10).output.strip()
            return int(text) if text.isdigit() else 0

        def wait_passes(at_least, timeout_s, what):
            deadline = time.monotonic() + timeout_s
            while passes() < at_least:
                if time.monotonic() > deadline:
                    raise StepFailed(f"the writer made {passes()} passes, not {at_least}, {what}")
                time.sleep(2)

        try:
            wait_passes(1, 180, "before the cut")
            # The node's route to the second path's address: unreachable. The connections on it
            # stall; the kernel's keep-alive notices and fails their I/O over to the other path.
            vm.check(f"ip route add unreachable {SECOND_NIC_HOST}/32", 10)
            cut = time.monotonic()
            deadline = cut + 90
            while True:
                _, _, controllers = subsystem_paths(vm, volume.nqn)
                down = [c for c in controllers if c[1] == SECOND_NIC_HOST and c[2] != "live"]
                if down:
                    break
                if time.monotonic() > deadline:
                    raise StepFailed(f"the cut path stayed live: {controllers}")
                time.sleep(1)
            before = passes()
            wait_passes(before + 2, 240, "while the second path was down")
            _, _, controllers = subsystem_paths(vm, volume.nqn)
            if not [c for c in controllers if c[1] == SECOND_NIC_HOST and c[2] != "live"]:
                raise StepFailed(f"the second path came back before the writes were checked: "
                                 f"{controllers}")
        finally:
            vm.run(f"ip route del unreachable {SECOND_NIC_HOST}/32", 10)
        require_paths(vm, volume.nqn, both_live, timeout_s=180)
        wait_passes(passes() + 1, 180, "after the path came back")
        vm.check("touch /tmp/mp-stop; i=0; until [ -e /tmp/mp-done ]; do "
                 "[ $i -gt 600 ] && exit 1; sleep 0.2; i=$((i+1)); done", 150,
                 what="stopping the writer")
        passes()  # raises when the last pass failed
        if read_blocks_sha(vm, volume.target, 2048) != pattern_sha:
            raise StepFailed("the volume does not hold what the writer wrote across the cut")

    def grow_two_paths():
        volume = state["mp"]
        before = device_size(vm, volume.target)
        controller.csi.call("controller", "expand", volume.id, "--size", "48Mi")
        node.csi.call("node", "expand", volume.id, volume.target, "--size", "48Mi", "--staging",
                      volume.staging, *caps, timeout_s=120)
        after = device_size(vm, volume.target)
        if after != 48 * 1024 * 1024:
            raise StepFailed(f"the head is {after} bytes after expansion (before {before})")
        require_paths(vm, volume.nqn, both_live)
        if read_blocks_sha(vm, volume.target, 2048) != vm.check(
                "cat /tmp/mp-pattern.sha", 10).split()[0]:
            raise StepFailed("data changed across the expansion")

    def unstage_two_paths():
        volume = state["mp"]
        node_unpublish_unstage(node, volume)
        require_not_connected(vm, volume.nqn)
        controller.csi.call("controller", "unpublish", volume.id, state["node_id"])
        controller.csi.call("controller", "delete", volume.id)

    return [
        ("two paths: stage connects both (10.0.2.2 and 10.0.3.2 live in one nvme-subsystem), "
         "the volume is its multipath head", stage_two_paths),
        ("two paths: one cut mid-write (route to 10.0.3.2 unreachable): no I/O error, data "
         "verified by checksum, the path reconnects when restored", cut_one_path_mid_write),
        ("two paths: online growth 32Mi -> 48Mi through both, the head grows, data kept",
         grow_two_paths),
        ("two paths: unstage leaves no controller of the NQN", unstage_two_paths),
    ]


def scenario_live_migration(steps, controller, target, node_a, node_b, node_c, nested=None):
    """Scenario 2: an RWX block volume moves from node A to node B; node C is fenced.
    `nested(device_of)`: the steps of a VM migrated on the volume while both nodes have it and
    after A is fenced (vm_migration.nested_migration_steps), or None."""
    state = {}
    caps = ["--access-mode", "rwx", "--block"]
    vm_during, vm_after = nested(lambda node: state["volume"].target) if nested else ([], [])

    def publish_to_a():
        state["ids"] = {n.vm.name: n.node_id() for n in (node_a, node_b, node_c)}
        volume = Volume(controller.csi.call("controller", "create", f"pvc-{uuid.uuid4()}",
                                            "--size", "32Mi", *caps,
                                            "--param", "migrationTimeoutSeconds=300"), caps)
        state["volume"] = volume
        controller_publish(controller, volume, state["ids"][node_a.vm.name])
        allowed, any_host = target.allowed_hosts(volume.nqn)
        nqn_a = host_nqn(state["ids"][node_a.vm.name])
        if any_host or allowed != {nqn_a}:
            raise StepFailed(f"target allow-list is {sorted(allowed)} (any host: {any_host}), "
                             f"expected only node A's {nqn_a}")
        node_stage_publish(node_a, volume)
        state["a_sha"] = write_random(node_a.vm, volume.target, 64)

    def publish_to_b():
        volume = state["volume"]
        controller_publish(controller, volume, state["ids"][node_b.vm.name])
        allowed, _ = target.allowed_hosts(volume.nqn)
        expected = {host_nqn(state["ids"][n.vm.name]) for n in (node_a, node_b)}
        if allowed != expected:
            raise StepFailed(f"target allow-list is {sorted(allowed)}, expected A and B "
                             f"{sorted(expected)}")
        node_stage_publish(node_b, volume)
        require_connected(node_a.vm, volume.nqn)
        require_connected(node_b.vm, volume.nqn)

    def b_reads_a():
        volume = state["volume"]
        if read_blocks_sha(node_b.vm, volume.target, 64) != state["a_sha"]:
            raise StepFailed("node B does not read what node A wrote")
        b_sha = write_random(node_b.vm, volume.target, 16, seek_blocks=2048)
        if read_blocks_sha(node_a.vm, volume.target, 16, skip_blocks=2048) != b_sha:
            raise StepFailed("node A does not read what node B wrote while both are attached")

    def third_node_refused_by_controller():
        volume = state["volume"]
        status, output = controller.csi.try_call(
            "controller", "publish", volume.id, state["ids"][node_c.vm.name], *caps,
            *context_flags("--context", volume.context))
        if status == 0:
            raise StepFailed("the controller published to a third node during a migration")
        if "FAILED_PRECONDITION" not in output or "already attached to 2 nodes" not in output:
            raise StepFailed(f"unexpected refusal: {output.strip()}")

    def third_node_fenced_at_target():
        volume = state["volume"]
        nqn_c = host_nqn(state["ids"][node_c.vm.name])
        attempt = node_c.vm.run(
            f"nvme connect -t tcp -a 10.0.2.2 -s {target.nvme_port} -n {shlex.quote(volume.nqn)} "
            f"--hostnqn={shlex.quote(nqn_c)} 2>&1", 60)
        if attempt.ok:
            raise StepFailed(f"node C connected directly to {volume.nqn}: {attempt.output}")
        require_not_connected(node_c.vm, volume.nqn, timeout_s=5)
        refusals = [line for line in target.refused_hosts() if nqn_c in line]
        if not refusals:
            raise StepFailed("nvme connect failed but the target logged no refusal of node C's "
                             f"host NQN {nqn_c}: {attempt.output.strip()}")

    def a_detaches():
        volume = state["volume"]
        node_unpublish_unstage(node_a, volume)
        require_not_connected(node_a.vm, volume.nqn)
        controller.csi.call("controller", "unpublish", volume.id, state["ids"][node_a.vm.name])
        got = controller.csi.call("controller", "get", volume.id)
        published = got.get("status", {}).get("published_node_ids", [])
        if published != [state["ids"][node_b.vm.name]]:
            raise StepFailed(f"after the source detached the volume is published to {published}")
        allowed, _ = target.allowed_hosts(volume.nqn)
        if allowed != {host_nqn(state["ids"][node_b.vm.name])}:
            raise StepFailed(f"target allow-list after migration is {sorted(allowed)}")
        if read_blocks_sha(node_b.vm, volume.target, 64) != state["a_sha"]:
            raise StepFailed("node B lost node A's data when A detached")

    def stale_node_fenced():
        volume = state["volume"]
        nqn_a = host_nqn(state["ids"][node_a.vm.name])
        attempt = node_a.vm.run(
            f"nvme connect -t tcp -a 10.0.2.2 -s {target.nvme_port} -n {shlex.quote(volume.nqn)} "
            f"--hostnqn={shlex.quote(nqn_a)} 2>&1", 60)
        if attempt.ok:
            node_a.vm.run(f"nvme disconnect -n {shlex.quote(volume.nqn)}", 30)
            raise StepFailed("node A could still connect after it was unpublished")
        require_not_connected(node_a.vm, volume.nqn, timeout_s=5)

    def b_detaches():
        volume = state["volume"]
        node_unpublish_unstage(node_b, volume)
        controller.csi.call("controller", "unpublish", volume.id, state["ids"][node_b.vm.name])
        controller.csi.call("controller", "delete", volume.id)
        for n in (node_a, node_b, node_c):
            require_not_connected(n.vm)
            require_not_mounted(n.vm, KUBELET)

    return steps("live migration", [
        ("RWX block volume published to node A (allow-list: A only), A writes", publish_to_a),
        ("published to node B while A stays attached: both connected", publish_to_b),
        ("B reads A's data and A reads B's, both attached", b_reads_a),
        ("third node refused by the controller (2-node migration limit)",
         third_node_refused_by_controller),
        ("third node's direct nvme connect refused by the kernel target (fencing)",
         third_node_fenced_at_target),
        *vm_during,
        ("A unpublishes: migration complete, B alone on the allow-list, data intact", a_detaches),
        ("A (now unpublished) cannot reconnect directly (fencing)", stale_node_fenced),
        *vm_after,
        ("B unpublishes, volume deleted, no node connected or mounted", b_detaches),
    ])


def host_nqn(node_id):
    """The NVMe host NQN in a polycsi node id (`name|rds_nvme=<nqn>|...`)."""
    for part in node_id.split("|")[1:]:
        key, _, value = part.partition("=")
        if key == "rds_nvme":
            return value
    raise StepFailed(f"node id {node_id!r} carries no rds_nvme host NQN")
