"""LUKS2 encryption (StorageClass parameter `encrypted: "true"`, docs/encryption.md) through the
kernel's dm-crypt and NVMe/TCP, with rds_nvme: a filesystem volume on one node (first stage
formats, a restage opens, a wrong passphrase changes nothing, online expansion under a writer)
and an RWX block volume live-migrated between two nodes that both open the same LUKS header.
"""
import shlex
import uuid

from .node import context_flags, require_connected, require_not_connected, require_not_mounted
from .rds import KUBELET, Volume, controller_publish, device_size, guest_sha256, read_blocks_sha, \
    write_random
from .report import StepFailed

KEY = "encryptionPassphrase"
PASSPHRASE = "lab-Luks-Passphrase-4b1d9e2f"
WRONG_PASSPHRASE = "lab-Wrong-Passphrase-0c7a"
# LUKS2's header and key slot area at the start of the device (cryptsetup's default).
LUKS2_HEADER_BYTES = 16 * 1024 * 1024


def mapping_name(volume_id):
    """What polycsi names the volume's dm-crypt mapping (core/node/luks_devices.hpp)."""
    return "polycsi-" + volume_id.replace(":", "+")


def stage(driver, volume, passphrase=PASSPHRASE):
    flags = [*volume.capability, *context_flags("--context", volume.context),
             *context_flags("--publish-context", volume.publish_context)]
    return driver.csi.try_call("node", "stage", volume.id, volume.staging, *flags,
                               f"--secret={KEY}={passphrase}", timeout_s=150)


def stage_publish(driver, volume, passphrase=PASSPHRASE):
    status, output = stage(driver, volume, passphrase)
    if status != 0:
        raise StepFailed(f"node stage of encrypted volume {volume.id} failed: {output.strip()}")
    flags = [*volume.capability, *context_flags("--context", volume.context),
             *context_flags("--publish-context", volume.publish_context)]
    driver.vm.check(f"mkdir -p {shlex.quote(volume.target.rsplit('/', 1)[0])}", 10)
    driver.csi.call("node", "publish", volume.id, volume.target, "--staging", volume.staging,
                    *flags, timeout_s=90)


def unpublish_unstage(driver, volume):
    driver.csi.call("node", "unpublish", volume.id, volume.target, timeout_s=90)
    driver.csi.call("node", "unstage", volume.id, volume.staging, timeout_s=150)


def mapping_device(vm, volume):
    """The device under the volume's open mapping (`cryptsetup status`), or None."""
    result = vm.run(f"cryptsetup status {shlex.quote(mapping_name(volume.id))}", 30)
    if not result.ok:
        return None
    for line in result.output.splitlines():
        if line.strip().startswith("device:"):
            return line.split(":", 1)[1].strip()
    raise StepFailed(f"cryptsetup status names no device: {result.output}")


def require_mapping_closed(vm, volume):
    if mapping_device(vm, volume) is not None or vm.run(
            f"[ -e /dev/mapper/{shlex.quote(mapping_name(volume.id))} ]", 10).ok:
        raise StepFailed(f"{vm.name} still has the mapping {mapping_name(volume.id)}")


def require_luks(vm, device):
    if not vm.run(f"cryptsetup isLuks {shlex.quote(device)}", 30).ok:
        raise StepFailed(f"{device} carries no LUKS header")


def luks_uuid(vm, device):
    return vm.check(f"cryptsetup luksUUID {shlex.quote(device)}", 30).strip()


def create_encrypted(controller, size, caps, extra=()):
    answer = controller.csi.call("controller", "create", f"pvc-{uuid.uuid4()}", "--size", size,
                                 *caps, "--param", "encrypted=true", *extra)
    volume = Volume(answer, caps)
    if volume.context.get("polycsi.io/encrypted") != "true":
        raise StepFailed(f"the volume context does not carry polycsi.io/encrypted=true: "
                         f"{volume.context}")
    return volume


def scenario_encrypted_filesystem(steps, controller, node):
    """An encrypted ext4 volume on one node."""
    vm = node.vm
    caps = ["--access-mode", "rwo", "--fs-type", "ext4"]
    state = {}

    def create_and_stage():
        state["node_id"] = node.node_id()
        volume = create_encrypted(controller, "64Mi", caps)
        state["volume"] = volume
        controller_publish(controller, volume, state["node_id"])
        stage_publish(node, volume)
        require_connected(vm, volume.nqn)
        source = vm.check(f"findmnt -n -o SOURCE --target {shlex.quote(volume.staging)}",
                          10).strip()
        mapper = f"/dev/mapper/{mapping_name(volume.id)}"
        if source != mapper and not vm.run(
                f"[ {shlex.quote(source)} -ef {shlex.quote(mapper)} ]", 10).ok:
            raise StepFailed(f"{volume.staging} is mounted from {source!r}, not {mapper}")
        device = mapping_device(vm, volume)
        if device is None or not device.startswith("/dev/nvme"):
            raise StepFailed(f"the mapping sits on {device!r}, not an NVMe namespace")
        state["device"] = device
        require_luks(vm, device)
        state["uuid"] = luks_uuid(vm, device)
        # The namespace itself holds only ciphertext: no ext4 signature is visible on it.
        found = vm.run(f"blkid -p -o value -s TYPE {shlex.quote(device)}", 20).output.strip()
        if found != "crypto_LUKS":
            raise StepFailed(f"blkid sees {found!r} on {device}, expected crypto_LUKS")

    def write_read():
        volume = state["volume"]
        data = f"{volume.target}/data.bin"
        state["sha"] = write_random(vm, data, 256, direct=False)
        vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
        if guest_sha256(vm, data) != state["sha"]:
            raise StepFailed("data read back through the encrypted filesystem differs")
        # A known plaintext written through the filesystem is on the mapping and nowhere on
        # the raw namespace (the first search shows the search can find it).
        marker = "POLYCSI-LAB-PLAINTEXT-MARKER"
        vm.check(f"yes {marker} | head -c 65536 > {shlex.quote(volume.target)}/marker.txt && "
                 "sync && echo 3 > /proc/sys/vm/drop_caches", 30)
        mapper = f"/dev/mapper/{mapping_name(volume.id)}"
        for device, expect_found in ((mapper, True), (state["device"], False)):
            found = vm.run(f"dd if={shlex.quote(device)} bs=1M iflag=direct 2>/dev/null | "
                           f"grep -c -F {marker}", 180).output.strip()
            if (found not in ("", "0")) != expect_found:
                raise StepFailed(f"the plaintext marker is {'not ' if expect_found else ''}"
                                 f"readable on {device} ({found!r} matching lines)")

    def restage():
        volume = state["volume"]
        unpublish_unstage(node, volume)
        require_mapping_closed(vm, volume)
        require_not_connected(vm, volume.nqn)
        stage_publish(node, volume)
        if luks_uuid(vm, mapping_device(vm, volume)) != state["uuid"]:
            raise StepFailed("the LUKS header changed across unstage and stage (formatted again)")
        vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
        if guest_sha256(vm, f"{volume.target}/data.bin") != state["sha"]:
            raise StepFailed("the data did not survive unstage and stage")

    def wrong_key():
        volume = state["volume"]
        unpublish_unstage(node, volume)
        status, output = stage(node, volume, WRONG_PASSPHRASE)
        if status == 0:
            raise StepFailed("a stage with the wrong passphrase succeeded")
        if "PERMISSION_DENIED" not in output or "does not open the LUKS header" not in output:
            raise StepFailed(f"unexpected refusal: {output.strip()}")
        if WRONG_PASSPHRASE in output or WRONG_PASSPHRASE in node.log_tail(200):
            raise StepFailed("the passphrase appears in the answer or the driver's log")
        # Nothing touched: no mapping, nothing mounted, the plugin's attach undone.
        require_mapping_closed(vm, volume)
        require_not_mounted(vm, KUBELET)
        require_not_connected(vm, volume.nqn)
        stage_publish(node, volume)
        if luks_uuid(vm, mapping_device(vm, volume)) != state["uuid"]:
            raise StepFailed("the LUKS header changed after the refused stage")
        if guest_sha256(vm, f"{volume.target}/data.bin") != state["sha"]:
            raise StepFailed("the data changed after the refused stage")

    def expand_under_writer():
        volume = state["volume"]
        mapper = f"/dev/mapper/{mapping_name(volume.id)}"
        before = device_size(vm, mapper)
        if before != 64 * 1024 * 1024 - LUKS2_HEADER_BYTES:
            raise StepFailed(f"the mapping is {before} bytes, expected 64 MiB less the header")
        writer = f"{volume.target}/writer.bin"
        vm.check("rm -f /tmp/writer.stop /tmp/writer.rc; "
                 f"(i=0; while [ ! -e /tmp/writer.stop ]; do "
                 f"dd if=/dev/urandom of={shlex.quote(writer)} bs=4096 count=256 "
                 f"conv=notrunc,fsync 2>/dev/null || exit 1; i=$((i+1)); done; "
                 f"echo $i) >/tmp/writer.rc 2>&1 </dev/null & echo started", 20)
        vm.check(f"i=0; until [ -s {shlex.quote(writer)} ]; do [ $i -gt 100 ] && exit 1; "
                 "sleep 0.2; i=$((i+1)); done", 60, what="waiting for the writer")
        controller.csi.call("controller", "expand", volume.id, "--size", "96Mi")
        node.csi.call("node", "expand", volume.id, volume.target, "--size", "96Mi", "--staging",
                      volume.staging, *caps, f"--secret={KEY}={PASSPHRASE}", timeout_s=120)
        vm.check("touch /tmp/writer.stop; i=0; until grep -q . /tmp/writer.rc 2>/dev/null; do "
                 "[ $i -gt 300 ] && exit 1; sleep 0.2; i=$((i+1)); done", 90,
                 what="stopping the writer")
        rounds = vm.check("cat /tmp/writer.rc", 10).strip()
        if not rounds.isdigit() or int(rounds) < 1:
            raise StepFailed(f"the writer failed during the expansion: {rounds!r}")
        after = device_size(vm, mapper)
        if after != 96 * 1024 * 1024 - LUKS2_HEADER_BYTES:
            raise StepFailed(f"the mapping is {after} bytes after expansion, expected 96 MiB "
                             "less the header")
        # -P: one line per filesystem, also for a source name as long as the mapping's.
        fs_bytes = int(vm.check(f"df -Pk {volume.target} | awk 'NR==2 {{print $2}}'",
                                10).strip()) * 1024
        if fs_bytes <= before:
            raise StepFailed(f"ext4 is {fs_bytes} bytes after expansion, not past the mapping's "
                             f"{before} before")
        vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
        if guest_sha256(vm, f"{volume.target}/data.bin") != state["sha"]:
            raise StepFailed("data changed across the expansion")
        state["writer_rounds"] = rounds

    def teardown():
        volume = state["volume"]
        unpublish_unstage(node, volume)
        require_mapping_closed(vm, volume)
        require_not_mounted(vm, KUBELET)
        require_not_connected(vm, volume.nqn)
        controller.csi.call("controller", "unpublish", volume.id, state["node_id"])
        controller.csi.call("controller", "delete", volume.id)

    return steps("rds_nvme encrypted", [
        ("encrypted=true: create, publish, stage formats LUKS2 on the namespace, ext4 on "
         "/dev/mapper", create_and_stage),
        ("write and read back 1 MiB; no plaintext on the raw namespace", write_read),
        ("unstage closes the mapping and disconnects; stage again opens the same header, "
         "data intact", restage),
        ("stage with a wrong passphrase: PERMISSION_DENIED, no mapping, no mount, "
         "disconnected; the right one still opens, data intact", wrong_key),
        ("expand 64Mi -> 96Mi online under a writer: namespace, mapping and ext4 grow, "
         "data kept", expand_under_writer),
        ("unpublish+unstage: mapping closed, unmounted, disconnected; delete", teardown),
    ])


def scenario_encrypted_migration(steps, controller, node_a, node_b, nested=None):
    """An encrypted RWX block volume moves from node A to node B: A formats, B only opens.
    `nested(device_of)`: the steps of a VM migrated on the LUKS mappings while both nodes have
    them and after A left (vm_migration.nested_migration_steps), or None."""
    caps = ["--access-mode", "rwx", "--block"]
    state = {}
    vm_during, vm_after = nested(lambda node: state["volume"].target) if nested else ([], [])

    def a_formats_and_writes():
        state["ids"] = {n.vm.name: n.node_id() for n in (node_a, node_b)}
        volume = create_encrypted(controller, "48Mi", caps,
                                  ("--param", "migrationTimeoutSeconds=300"))
        state["volume"] = volume
        controller_publish(controller, volume, state["ids"][node_a.vm.name])
        stage_publish(node_a, volume)
        device = mapping_device(node_a.vm, volume)
        require_luks(node_a.vm, device)
        state["uuid"] = luks_uuid(node_a.vm, device)
        if not node_a.vm.run(f"[ {shlex.quote(volume.target)} -ef "
                             f"/dev/mapper/{shlex.quote(mapping_name(volume.id))} ]", 10).ok:
            raise StepFailed(f"{volume.target} is not the mapping /dev/mapper/"
                             f"{mapping_name(volume.id)}")
        state["sha"] = write_random(node_a.vm, volume.target, 512, seek_blocks=256)

    def b_opens_same_header():
        volume = state["volume"]
        controller_publish(controller, volume, state["ids"][node_b.vm.name])
        stage_publish(node_b, volume)
        require_connected(node_a.vm, volume.nqn)
        require_connected(node_b.vm, volume.nqn)
        device = mapping_device(node_b.vm, volume)
        if device is None:
            raise StepFailed("node B has no mapping after stage")
        if luks_uuid(node_b.vm, device) != state["uuid"]:
            raise StepFailed("node B sees another LUKS header: it formatted the volume again")
        if read_blocks_sha(node_b.vm, volume.target, 512, skip_blocks=256) != state["sha"]:
            raise StepFailed("node B does not read the checksum node A wrote")

    def a_leaves():
        volume = state["volume"]
        unpublish_unstage(node_a, volume)
        require_mapping_closed(node_a.vm, volume)
        require_not_connected(node_a.vm, volume.nqn)
        controller.csi.call("controller", "unpublish", volume.id, state["ids"][node_a.vm.name])
        if read_blocks_sha(node_b.vm, volume.target, 512, skip_blocks=256) != state["sha"]:
            raise StepFailed("node B lost node A's data when A detached")

    def b_leaves():
        volume = state["volume"]
        unpublish_unstage(node_b, volume)
        require_mapping_closed(node_b.vm, volume)
        controller.csi.call("controller", "unpublish", volume.id, state["ids"][node_b.vm.name])
        controller.csi.call("controller", "delete", volume.id)
        for n in (node_a, node_b):
            require_not_connected(n.vm, volume.nqn)
            require_not_mounted(n.vm, KUBELET)

    return steps("live migration encrypted", [
        ("encrypted RWX block volume on node A: LUKS2 formatted, /dev/mapper published, "
         "A writes 2 MiB", a_formats_and_writes),
        ("node B stages while A is attached: opens the same LUKS header (no format), reads "
         "A's checksum", b_opens_same_header),
        *vm_during,
        ("A unpublishes: its mapping closed, disconnected; B still reads the data", a_leaves),
        *vm_after,
        ("B unpublishes: mapping closed; volume deleted", b_leaves),
    ])
