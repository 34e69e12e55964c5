"""Scenario 4: the nfs plugin against the kernel's NFS server, mounted by a node VM's kernel client.

knfsd runs in the server VM (the same guest as rds-sim), reached through a QEMU port forward:
the host's 127.0.0.1:PORT is the server's 2049, and guests reach it as 10.0.2.2:PORT. The nfs
controller (libnfs) runs in the node VM too, because only guests can reach the server at the
address the node mounts.
"""
import shlex
import time
import uuid

from .node import GuestDriver, require_not_mounted
from .rds import KUBELET, Volume, guest_sha256, node_stage_publish, node_unpublish_unstage, \
    write_random
from .report import StepFailed

EXPORT = "/srv/nfs"
# knfsd's NFSv4 grace and lease time (seconds). During the grace period after the start every
# open for writing is NFS4ERR_GRACE, so the scenario starts only after it.
GRACE_SECONDS = 10


def start_nfs_server(vm):
    """Kernel nfsd exporting a tmpfs at /srv/nfs; started early: NFSv4's grace period must pass
    before the first open for writing succeeds."""
    vm.check(
        "set -e\n"
        "modprobe nfsd\n"
        "mount -t nfsd nfsd /proc/fs/nfsd\n"
        f"echo {GRACE_SECONDS} > /proc/fs/nfsd/nfsv4gracetime\n"
        f"echo {GRACE_SECONDS} > /proc/fs/nfsd/nfsv4leasetime\n"
        "mkdir -p /var/lib/nfs/v4recovery /var/lib/nfs/rpc_pipefs " + EXPORT + "\n"
        "touch /var/lib/nfs/etab /var/lib/nfs/rmtab\n"
        "mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs\n"
        "mount -t tmpfs -o size=96m tmpfs " + EXPORT + "\n"
        "mkdir -p /run/rpcbind && rpcbind -w\n"
        "echo '" + EXPORT + " *(rw,no_root_squash,insecure,no_subtree_check,fsid=1)' > /etc/exports\n"
        "exportfs -ra\n"
        "rpc.mountd\n"
        "rpc.nfsd 4\n"
        "grep -q . /proc/fs/nfsd/versions\n", 90, what="starting knfsd")
    # One second more than the grace period, counted from when rpc.nfsd has returned.
    vm.nfs_grace_ends = time.monotonic() + GRACE_SECONDS + 1


def wait_for_grace_end(server_vm):
    """Sleeps until knfsd's grace period is over (at most GRACE_SECONDS + 1 seconds): when the
    nfs scenario runs alone it comes right after the server's start."""
    remaining = getattr(server_vm, "nfs_grace_ends", 0) - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def scenario_nfs(steps, server_vm, node, nfs_port):
    """Scenario 4: a volume directory created over NFS, mounted by the node, written, unmounted."""
    vm = node.vm
    state = {}
    wait_for_grace_end(server_vm)
    # StorageClass mountOptions: NFSv4.2 at the forwarded port.
    caps = ["--access-mode", "rwx", "--fs-type", "nfs", "--mount-flag", "nfsvers=4.2",
            "--mount-flag", f"port={nfs_port}"]

    def controller_creates():
        controller = GuestDriver(vm, "nfs-controller", "controller", "nfs-controller",
                                 f"""driver_name: polycsi.csi.io
state_path: /var/lib/polycsi-nfs-controller
backends:
  - name: nfs
    plugin: nfs
    default: true
    settings:
      server: 10.0.2.2
      share: {EXPORT}
      nfs_version: "4"
      nfs_port: {nfs_port}
      timeout_seconds: 20
""")
        controller.start()
        state["controller"] = controller
        name = f"pvc-{uuid.uuid4()}"
        volume = Volume(controller.csi.call("controller", "create", name, "--size", "32Mi",
                                            *caps, timeout_s=120), caps)
        state["volume"] = volume
        listing = server_vm.check(f"ls {EXPORT}", 10).split()
        dirs = [d for d in listing if not d.startswith(".")]
        if len(dirs) != 1:
            raise StepFailed(f"expected one volume directory in the server's {EXPORT}: {listing}")
        state["dir"] = f"{EXPORT}/{dirs[0]}"
        state["node_id"] = node.node_id()
        controller.csi.call("controller", "publish", volume.id, state["node_id"], *caps)

    def mount_write():
        volume = state["volume"]
        vm.check("modprobe nfs && modprobe nfsv4", 30, what="loading the NFS client")
        node_stage_publish(node, volume)
        mounted = vm.check(f"findmnt -n -o SOURCE,FSTYPE --target {volume.target}", 10).split()
        if len(mounted) != 2 or mounted[0] != f"10.0.2.2:{state['dir']}" or \
                not mounted[1].startswith("nfs"):
            raise StepFailed(f"{volume.target} is mounted from {mounted}, expected "
                             f"10.0.2.2:{state['dir']} over NFS")
        state["sha"] = write_random(vm, f"{volume.target}/data.bin", 64, direct=False)
        vm.check("sync", 60)
        on_server = guest_sha256(server_vm, f"{state['dir']}/data.bin")
        if on_server != state["sha"]:
            raise StepFailed("the file on the server differs from what the node wrote")

    def unmount_delete():
        volume = state["volume"]
        node_unpublish_unstage(node, volume)
        require_not_mounted(vm, KUBELET)
        controller = state["controller"]
        controller.csi.call("controller", "unpublish", volume.id, state["node_id"])
        controller.csi.call("controller", "delete", volume.id, timeout_s=120)
        if server_vm.run(f"[ -e {shlex.quote(state['dir'])} ]", 10).ok:
            raise StepFailed(f"{state['dir']} is still on the server after DeleteVolume")

    return steps("nfs", [
        ("controller (libnfs) creates the volume's directory on knfsd", controller_creates),
        ("node mounts server:/export/subdir (NFSv4.2), writes; the server has the data",
         mount_write),
        ("unpublish+unstage: unmounted; delete removes the directory", unmount_delete),
    ])
