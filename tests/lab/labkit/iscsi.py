"""Scenario 3: iscsi_powerstore with the kernel's iSCSI initiator in a node VM.

powerstore-sim (REST over HTTPS) and its tgtd run on the host; the controller runs on the host
too. The node VM reaches tgtd's portal on the host's loopback as 10.0.2.2, so the portal the
controller publishes (127.0.0.1:PORT, as the simulator's ip_pool_address says) is rewritten to
10.0.2.2:PORT for the node: the address translation QEMU's user networking puts between them.
"""
import os
import re
import shlex
import uuid

from .host import CsiClient, HostProcess, free_tcp_port, run_checked
from .node import GuestDriver, context_flags, require_not_mounted
from .rds import KUBELET, Volume, device_size, guest_sha256, node_stage_publish, \
    node_unpublish_unstage, require_grown, write_random
from . import encryption
from .report import StepFailed

GLOBAL_ID = "PS03455f439da7"
PASSWORD = "lab-secret"
# The simulated array's CHAP mode is Mutual (chap_config mode): the controller sets both pairs on
# the node's initiator at publish, the array's targets require the node's pair (CHAP_USER,
# CHAP_SECRET) and answer the node's challenge with the mutual pair (MUTUAL_USER,
# MUTUAL_SECRET). The node logs in with the kernel initiator, the secrets written by the
# plugin into open-iscsi's node record (0600), never on iscsiadm's command line.
CHAP_USER = "labchap"
CHAP_SECRET = "lab-chap-4711x"
MULTIPATH_CONF = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins",
                              "iscsi_powerstore", "multipath.conf")
MUTUAL_USER = "labarray"
MUTUAL_SECRET = "lab-array-0815y"


def make_pki(directory):
    """A CA and a server certificate for 127.0.0.1, as an operator's PKI issues for an array."""
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca-key.pem")
    key, csr = os.path.join(directory, "server-key.pem"), os.path.join(directory, "server.csr")
    cert, ext = os.path.join(directory, "server.pem"), os.path.join(directory, "server.ext")
    run_checked(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                 "/CN=polycsi lab CA", "-keyout", ca_key, "-out", ca], what="openssl CA")
    run_checked(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr],
                what="openssl server key")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run_checked(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                 "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert],
                what="openssl server certificate")
    return ca, cert, key


def chap_yaml(password=CHAP_SECRET, mutual_password=MUTUAL_SECRET):
    """The backend's CHAP settings: the node's pair and the array's (mutual) pair."""
    return (f'      chap_user: "{CHAP_USER}"\n      chap_password: "{password}"\n'
            f'      chap_mutual_user: "{MUTUAL_USER}"\n'
            f'      chap_mutual_password: "{mutual_password}"')


def free_tgtd_control_port():
    """tgtd's management socket is /var/run/tgtd/socket.N: an N no other tgtd uses now
    (tgtd accepts N up to 32767)."""
    for n in range(20000 + os.getpid() % 10000, 32768):
        if not os.path.exists(f"/var/run/tgtd/socket.{n}"):
            return n
    raise StepFailed("no free tgtd control port")


class PowerStoreLab:
    """powerstore-sim and a controller with the iscsi_powerstore backend, both on the host."""

    def __init__(self, bin_dir, work_dir, iscsi_port):
        self._bin_dir = bin_dir
        self._dir = os.path.join(work_dir, "powerstore")
        os.makedirs(self._dir, exist_ok=True)
        self.iscsi_port = iscsi_port
        self.socket = os.path.join(self._dir, "csi.sock")
        self.csi = CsiClient(os.path.join(bin_dir, "polycsictl"), f"unix://{self.socket}")
        self.sim = None
        self.controller = None
        self.endpoint = None
        self.ca = None
        self.tgtd_control_port = None

    def start(self):
        self.ca, cert, key = make_pki(self._dir)
        self.tgtd_control_port = free_tgtd_control_port()
        self.sim = HostProcess(
            "powerstore-sim",
            [os.path.join(self._bin_dir, "powerstore-sim"), "--listen", "127.0.0.1:0",
             "--iscsi-port", str(self.iscsi_port), "--cert", cert, "--key", key,
             "--state-dir", os.path.join(self._dir, "state"), "--username", "admin",
             "--password", PASSWORD, "--global-id", GLOBAL_ID,
             "--chap-mode", "Mutual",
             "--tgtd-control-port", str(self.tgtd_control_port)],
            os.path.join(self._dir, "powerstore-sim.log"))
        started = self.sim.wait_for_line(r"^powerstore-sim listening on (\S+) iscsi (\S+)$", 60)
        self.endpoint = f"https://{started.group(1)}/api/rest"
        config = os.path.join(self._dir, "config.yaml")
        with open(config, "w") as f:
            f.write(f"""driver_name: polycsi.csi.io
state_path: {self._dir}/controller-state
backends:
  - name: ps
    plugin: iscsi_powerstore
    default: true
    settings:
{chap_yaml()}
{self.arrays_yaml(self.ca)}""")
        self.controller = HostProcess(
            "polycsi controller (iscsi_powerstore)",
            [os.path.join(self._bin_dir, "polycsi"), "--log-level", "info", "serve", "--mode",
             "controller", "--config", config, "--endpoint", f"unix://{self.socket}",
             "--node-id", "lab-controller"],
            os.path.join(self._dir, "polycsi.log"))
        self.controller.wait_for_path(self.socket, 60)
        self.csi.call("identity", "probe", json_output=False)

    def arrays_yaml(self, ca_path):
        # The REST API names portal addresses only (arrays listen on 3260); the simulator's
        # tgtd listens on iscsi_port.
        return f"""      ca_file: {ca_path}
      iscsi_port: {self.iscsi_port}
      arrays:
        - endpoint: "{self.endpoint}"
          globalID: "{GLOBAL_ID}"
          username: "admin"
          password: "{PASSWORD}"
          skipCertificateValidation: false
          isDefault: true
          blockProtocol: "ISCSI"
"""

    def add_portal(self, port):
        """Makes the simulator's tgtd listen on 127.0.0.1:port too: a second way to every
        target that the node VM reaches (it reaches the host's loopback only, as 10.0.2.2)."""
        run_checked(["tgtadm", "--lld", "iscsi", "-C", str(self.tgtd_control_port), "--op", "new",
                     "--mode", "portal", "--param", f"portal=127.0.0.1:{port}"],
                    what="adding a tgtd portal")

    def stop(self):
        # The controller first: the simulator then removes its targets and its tgtd.
        if self.controller is not None:
            self.controller.stop()
        if self.sim is not None:
            self.sim.stop(timeout_s=30)
            # tgtd leaves its management socket behind; this run chose a number nobody used.
            for suffix in ("", ".lock"):
                path = f"/var/run/tgtd/socket.{self.tgtd_control_port}{suffix}"
                if os.path.exists(path):
                    os.unlink(path)


def scenario_iscsi(steps, lab, vm):
    """Scenario 3: create, attach with the kernel initiator, format, mount, write, log out."""
    state = {}
    caps = ["--access-mode", "rwo", "--fs-type", "ext4"]
    iqn = f"iqn.2024-01.io.polycsi.lab:{vm.name}"

    def node_ready():
        lab.start()
        with open(lab.ca, "rb") as f:
            vm.write_file("/etc/polycsi/powerstore-ca.pem", f.read())
        vm.write_file("/etc/iscsi/initiatorname.iscsi", f"InitiatorName={iqn}\n")
        # What a node's init system runs: iscsid, and udev for /dev/disk/by-path links.
        vm.check("modprobe iscsi_tcp && modprobe sd_mod && mkdir -p /run/lock/iscsi && iscsid",
                 30, what="starting iscsid")
        vm.check("systemd-udevd --daemon && udevadm trigger --action=add && "
                 "udevadm settle --timeout=60", 90, what="starting udev")
        # The node pod's view of its host (deploy/overlays/powerstore-iscsi): the host's / at
        # /host and iscsi_host_root: /host, so the plugin runs `chroot /host iscsiadm`.
        vm.check("mkdir -p /host && mount -o rbind / /host", 10, what="mounting / at /host")
        driver = GuestDriver(vm, "iscsi", "node", vm.name, f"""driver_name: polycsi.csi.io
state_path: /var/lib/polycsi-iscsi
backends:
  - name: ps
    plugin: iscsi_powerstore
    settings:
      iscsi_host_root: /host
{chap_yaml()}
      replacement_timeout_seconds: 30
{lab.arrays_yaml("/etc/polycsi/powerstore-ca.pem")}
  - name: psbadchap
    plugin: iscsi_powerstore
    settings:
      iscsi_host_root: /host
{chap_yaml(password=CHAP_SECRET[::-1])}
{lab.arrays_yaml("/etc/polycsi/powerstore-ca.pem")}
  - name: psbadmutual
    plugin: iscsi_powerstore
    settings:
      iscsi_host_root: /host
{chap_yaml(mutual_password=MUTUAL_SECRET[::-1])}
{lab.arrays_yaml("/etc/polycsi/powerstore-ca.pem")}
  - name: psmp
    plugin: iscsi_powerstore
    settings:
      iscsi_host_root: /host
      multipath: "true"
{chap_yaml()}
{lab.arrays_yaml("/etc/polycsi/powerstore-ca.pem")}""")
        driver.start()
        state["driver"] = driver
        state["node_id"] = driver.node_id()
        if f"iscsi_powerstore={iqn}" not in state["node_id"]:
            raise StepFailed(f"node id {state['node_id']!r} does not carry the IQN {iqn}")

    def create_publish():
        volume = Volume(lab.csi.call("controller", "create", f"pvc-{uuid.uuid4()}", "--size",
                                     "64Mi", *caps, "--param", f"arrayID={GLOBAL_ID}"), caps)
        answer = lab.csi.call("controller", "publish", volume.id, state["node_id"], *caps,
                              *context_flags("--context", volume.context))
        context = dict(answer.get("publish_context", {}))
        portal = context.get("portal", "")
        if not re.fullmatch(r"127\.0\.0\.1:\d+", portal):
            raise StepFailed(f"unexpected portal in the publish context: {context}")
        context["portal"] = "10.0.2.2:" + portal.split(":")[1]
        # The guest reaches the host's 127.0.0.1 only, through 10.0.2.2: the other IP ports'
        # portals (127.0.0.2, ...) are not paths from there.
        context["portals"] = context["portal"]
        context["targetIqns"] = context["targetIqn"]
        volume.publish_context = context
        state["volume"] = volume

    def refused(backend, what, words):
        # The same LUN through a backend whose node holds a wrong secret: the login is
        # refused, the node says so, and nothing is logged in or mounted.
        volume = state["volume"]
        wrong = Volume({"volume": {"volume_id": backend + ":" + volume.id.split(":", 1)[1],
                                   "volume_context": volume.context}}, caps)
        wrong.publish_context = volume.publish_context
        flags = [*caps, *context_flags("--context", wrong.context),
                 *context_flags("--publish-context", wrong.publish_context)]
        vm.check(f"mkdir -p {wrong.staging}", 10)
        status, output = state["driver"].csi.try_call("node", "stage", wrong.id, wrong.staging,
                                                      *flags, timeout_s=150)
        if status == 0:
            raise StepFailed(f"stage with {what} succeeded")
        if "PERMISSION_DENIED" not in output or any(w not in output for w in words):
            raise StepFailed(f"{what} is not reported as such: {output.strip()}")
        sessions = vm.run("iscsiadm -m session 2>&1", 30).output
        if volume.publish_context["targetIqn"] in sessions:
            raise StepFailed(f"a session is left after the refused login: {sessions}")
        require_not_mounted(vm, wrong.staging)

    def wrong_chap_refused():
        refused("psbadchap", "a wrong CHAP secret", ["CHAP"])

    def wrong_mutual_refused():
        # The node's probe challenges the target first and refuses its answer.
        refused("psbadmutual", "a wrong mutual CHAP secret", ["CHAP", "chap_mutual_password"])
        # The kernel initiator refuses such a target too: a node record whose inbound secret
        # is not the array's (set with iscsiadm here: a test, not the plugin's way), and the
        # login fails, leaving no session. open-iscsi reports the initiator's own refusal as
        # ISCSI_ERR_FATAL_LOGIN (19: usr/initiator.c, __login_response_status) and a target's
        # refusal as ISCSI_ERR_LOGIN_AUTH_FAILED (24).
        context = state["volume"].publish_context
        node = f"iscsiadm -m node -T {context['targetIqn']} -p {context['portal']}"
        vm.check(f"{node} -o new >/dev/null", 30)
        try:
            for name, value in (("authmethod", "CHAP"), ("username", CHAP_USER),
                                ("password", CHAP_SECRET), ("username_in", MUTUAL_USER),
                                ("password_in", MUTUAL_SECRET[::-1])):
                vm.check(f"{node} -o update -n node.session.auth.{name} -v '{value}'", 30)
            login = vm.run(f"{node} --login 2>&1", 120)
            if login.ok:
                raise StepFailed("the kernel initiator logged in to a target that does not know "
                                 f"the mutual secret: {login.output}")
            if login.status not in (19, 24):
                raise StepFailed(f"the kernel initiator's refusal is exit {login.status}, "
                                 f"expected 19 or 24 (a refused login): {login.output}")
            sessions = vm.run("iscsiadm -m session 2>&1", 30).output
            if context["targetIqn"] in sessions:
                raise StepFailed(f"a session is left after the refused login: {sessions}")
        finally:
            vm.run(f"{node} -o delete", 30)

    def stage_write():
        volume = state["volume"]
        node_stage_publish(state["driver"], volume)
        target = volume.publish_context["targetIqn"]
        sessions = vm.check("iscsiadm -m session", 30)
        if target not in sessions:
            raise StepFailed(f"no iSCSI session to {target}: {sessions}")
        # The target requires CHAP, so the login proves the secret reached the kernel initiator;
        # it came from the node record the plugin wrote, readable by root only, in the host's
        # /etc/iscsi/nodes (the plugin wrote it under /host).
        records = vm.check(f"find /etc/iscsi/nodes/{target} -type f | xargs stat -c '%a %n'", 10)
        if not records.strip() or any(not line.startswith("600 ")
                                      for line in records.strip().splitlines()):
            raise StepFailed(f"node records of {target} are not all mode 0600: {records}")
        auth = vm.check(f"iscsiadm -m node -T {target} | grep '^node.session.auth.username'", 10)
        if f"node.session.auth.username = {CHAP_USER}" not in auth or \
                f"node.session.auth.username_in = {MUTUAL_USER}" not in auth:
            raise StepFailed(f"the node record of {target} lacks the CHAP users: {auth}")
        # replacement_timeout_seconds: 30 reached the kernel's session (its recovery_tmo).
        recovery = vm.check("cat /sys/class/iscsi_session/session*/recovery_tmo", 10).split()
        if not recovery or any(value != "30" for value in recovery):
            raise StepFailed(f"iSCSI session recovery_tmo is {recovery}, expected 30 "
                             "(replacement_timeout_seconds)")
        mounted = vm.check(f"findmnt -n -o SOURCE,FSTYPE --target {volume.target}", 10).split()
        if len(mounted) != 2 or not mounted[0].startswith("/dev/sd") or mounted[1] != "ext4":
            raise StepFailed(f"{volume.target} is mounted from {mounted}, expected ext4 on /dev/sd*")
        state["sha"] = write_random(vm, f"{volume.target}/data.bin", 256, direct=False)
        vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
        if guest_sha256(vm, f"{volume.target}/data.bin") != state["sha"]:
            raise StepFailed("data read back from the iSCSI volume differs")

    def expand_under_load():
        # The kernel's SCSI disk keeps its old capacity until it is rescanned: NodeExpandVolume
        # must rescan before resize2fs, or the filesystem cannot grow. A writer runs in the
        # guest throughout; any failed write is recorded and fails the step.
        volume = state["volume"]
        device = vm.check(f"findmnt -n -o SOURCE --target {volume.target}", 10).strip()
        before = device_size(vm, device)
        load = f"{volume.target}/load.bin"
        vm.check("rm -f /tmp/writer.err; (while [ ! -e /tmp/writer.stop ]; do "
                 f"dd if=/dev/urandom of={load} bs=64k count=32 conv=fsync 2>/dev/null "
                 "|| echo failed >> /tmp/writer.err; done; touch /tmp/writer.done) "
                 ">/dev/null 2>&1 &", 10, what="starting the writer")
        lab.csi.call("controller", "expand", volume.id, "--size", "96Mi")
        state["driver"].csi.call("node", "expand", volume.id, volume.target, "--size", "96Mi",
                                 "--staging", volume.staging, *caps, timeout_s=120)
        vm.check("touch /tmp/writer.stop; for i in $(seq 100); do [ -e /tmp/writer.done ] && "
                 "exit 0; sleep 0.2; done; exit 1", 30, what="stopping the writer")
        errors = vm.run("cat /tmp/writer.err 2>/dev/null", 10).output.strip()
        if errors:
            raise StepFailed(f"writes failed during the expansion: {errors.count('failed')}")
        require_grown(vm, device, volume.target, before, 96 * 1024 * 1024,
                      f"{volume.target}/data.bin", state["sha"])

    def logout():
        volume = state["volume"]
        node_unpublish_unstage(state["driver"], volume)
        require_not_mounted(vm, KUBELET)
        sessions = vm.run("iscsiadm -m session", 30)
        if volume.publish_context["targetIqn"] in sessions.output:
            raise StepFailed(f"still logged in after unstage: {sessions.output}")
        lab.csi.call("controller", "unpublish", volume.id, state["node_id"])
        lab.csi.call("controller", "delete", volume.id)

    def multipath_ready():
        # A second portal of the same targets, and the host side of dm-multipath: the kernel's
        # modules and multipathd with the configuration the plugin ships.
        state["mp_port"] = free_tcp_port()
        lab.add_portal(state["mp_port"])
        with open(MULTIPATH_CONF, "rb") as f:
            vm.write_file("/etc/multipath.conf", f.read())
        # The lab's array is tgtd, not a PowerStore: both its paths active (multibus), so the
        # path cut below hits a path that carries I/O, whichever it is.
        vm.write_file("/etc/multipath/conf.d/lab-tgtd.conf",
                      b'devices {\n\tdevice {\n\t\tvendor "IET"\n\t\tproduct "VIRTUAL-DISK"\n'
                      b'\t\tpath_grouping_policy multibus\n\t\tpath_checker tur\n'
                      b'\t\tno_path_retry 12\n\t}\n}\n')
        # The path selectors: round-robin, service-time (multipath-tools' default) and
        # queue-length (its PowerStore entry's).
        vm.check("modprobe dm_multipath && modprobe dm_round_robin && modprobe dm_service_time "
                 "&& modprobe dm_queue_length", 30, what="loading dm_multipath")
        vm.check("mkdir -p /etc/multipath /run/multipath && multipathd 2>&1", 30,
                 what="starting multipathd")
        # multipathd answers on its socket once it has read its configuration ("idle" or
        # "running" in `show daemon`).
        daemon = vm.run("for i in $(seq 100); do multipathd show daemon 2>&1 | grep -Eq "
                        "'idle|running' && exit 0; sleep 0.2; done; multipathd show daemon 2>&1; "
                        "exit 1", 60)
        if not daemon.ok:
            raise StepFailed(f"multipathd does not answer: {daemon.output}")

    def multipath_stage():
        # Encrypted too (StorageClass parameter encrypted: "true"): LUKS2 on the map, ext4 on
        # the LUKS mapping, so growth below goes through every layer.
        volume = Volume(lab.csi.call("controller", "create", f"pvc-{uuid.uuid4()}", "--size",
                                     "64Mi", *caps, "--param", f"arrayID={GLOBAL_ID}",
                                     "--param", "encrypted=true"), caps)
        answer = lab.csi.call("controller", "publish", volume.id, state["node_id"], *caps,
                              *context_flags("--context", volume.context))
        context = dict(answer.get("publish_context", {}))
        targets = context.get("targetIqns", "").split(",")
        if len(targets) < 2:
            raise StepFailed(f"the publish context names fewer than two targets: {context}")
        port = context["portal"].split(":")[1]
        # Both IP ports' targets, each through a portal the guest reaches.
        context["portal"] = f"10.0.2.2:{port}"
        context["portals"] = f"10.0.2.2:{port},10.0.2.2:{state['mp_port']}"
        context["targetIqns"] = ",".join(targets[:2])
        volume.publish_context = context
        volume.id = "psmp:" + volume.id.split(":", 1)[1]
        state["mp"] = volume
        try:
            encryption.stage_publish(state["driver"], volume)
        except StepFailed as e:
            paths = vm.run("multipathd show paths 2>&1; multipathd show maps 2>&1; "
                           "for d in /sys/block/sd*; do udevadm info -q property -n "
                           "${d##*/} | grep -E '^(ID_SERIAL|DM_MULTIPATH|SYSTEMD_READY)'; done; "
                           "dmesg | tail -15; multipath -v3 2>&1 | grep -vE '^ *$' | tail -40",
                           60).output
            raise StepFailed(f"{e}; multipathd and udev: {paths}") from e
        sessions = vm.check("iscsiadm -m session", 30)
        for target in targets[:2]:
            if target not in sessions:
                raise StepFailed(f"no iSCSI session to {target}: {sessions}")
        source = vm.check(f"findmnt -n -o SOURCE --target {volume.target}", 10).strip()
        if source != f"/dev/mapper/{encryption.mapping_name(volume.id)}":
            raise StepFailed(f"{volume.target} is mounted from {source}, not the volume's LUKS "
                             "mapping")
        crypt = os.path.basename(vm.check(f"readlink -f {shlex.quote(source)}", 10).strip())
        under = vm.check(f"ls /sys/block/{crypt}/slaves", 10).split()
        if len(under) != 1 or not under[0].startswith("dm-"):
            raise StepFailed(f"the LUKS mapping {crypt} is not on a multipath map: {under}")
        kernel = under[0]
        encryption.require_luks(vm, f"/dev/{kernel}")
        slaves = vm.check(f"ls /sys/block/{kernel}/slaves", 10).split()
        uuid_ = vm.check(f"cat /sys/block/{kernel}/dm/uuid", 10).strip()
        if len(slaves) != 2 or not uuid_.startswith("mpath-"):
            raise StepFailed(f"{kernel} is not a multipath map of two paths: uuid {uuid_}, "
                             f"paths {slaves}")
        state["mp_map"] = kernel
        state["mp_device"] = source

    def multipath_path_cut():
        # A writer copies 16 MiB of random data onto the volume with direct I/O while the second
        # portal's path is cut (its SCSI disk taken offline, so every I/O on it fails): the map
        # must carry on through the first path without an error, and the data must read back.
        volume, kernel = state["mp"], state["mp_map"]
        link = (f"/dev/disk/by-path/ip-10.0.2.2:{state['mp_port']}-iscsi-"
                f"{volume.publish_context['targetIqns'].split(',')[1]}-lun-"
                f"{volume.publish_context['lun']}")
        cut = os.path.basename(vm.check(f"readlink -f {link}", 10).strip())
        if cut not in vm.check(f"ls /sys/block/{kernel}/slaves", 10).split():
            raise StepFailed(f"{link} ({cut}) is not a path of {kernel}")
        state["mp_cut"] = cut
        source = vm.check("dd if=/dev/urandom of=/tmp/mp-src bs=1M count=32 2>/dev/null && "
                          "sha256sum /tmp/mp-src", 30).split()[0]
        data = f"{volume.target}/mp.bin"
        vm.check("rm -f /tmp/mp-writer.*; dmesg -c >/dev/null; (dd if=/tmp/mp-src of=" +
                 shlex.quote(data) + " bs=16k oflag=direct conv=fsync 2>/tmp/mp-writer.err; "
                 "echo $? >/tmp/mp-writer.status) >/dev/null 2>&1 &", 10,
                 what="starting the writer")
        # Cut only while the writer runs, or the step would prove nothing.
        cutting = vm.check(f"sleep 0.3; [ -e /tmp/mp-writer.status ] && echo finished || "
                           f"{{ echo offline > /sys/block/{cut}/device/state && echo cut; }}", 10,
                           what=f"cutting {cut}").strip()
        if cutting != "cut":
            raise StepFailed("the writer finished before the path could be cut")
        vm.check("for i in $(seq 600); do [ -e /tmp/mp-writer.status ] && exit 0; sleep 0.2; "
                 "done; exit 1", 150, what="waiting for the writer")
        status = vm.check("cat /tmp/mp-writer.status", 10).strip()
        if status != "0":
            raise StepFailed("the writer failed while a path was cut: exit "
                             f"{status}: {vm.run('cat /tmp/mp-writer.err', 10).output}")
        kernel_log = vm.run("dmesg", 10).output
        if "Buffer I/O error on dev dm-" in kernel_log:
            raise StepFailed(f"the map reported I/O errors: {kernel_log[-2000:]}")
        # dm-multipath saw the cut path fail (the writer's I/O went on through the other).
        failed = vm.run("multipathd show paths format '%d %t %T' 2>&1", 10).output
        if "Failing path" not in kernel_log and not re.search(rf"{cut}\s+\S*fail", failed):
            raise StepFailed(f"dm-multipath never failed the cut path {cut}: {failed}")
        vm.check("sync; echo 3 > /proc/sys/vm/drop_caches", 20)
        if guest_sha256(vm, data) != source:
            raise StepFailed("the data written while a path was cut reads back differently")
        state["mp_sha"] = source
        # The path comes back: multipathd's checker reinstates it.
        vm.check(f"echo running > /sys/block/{cut}/device/state", 10)

    def multipath_grow():
        volume = state["mp"]
        device = state["mp_device"]
        before = device_size(vm, device)
        lab.csi.call("controller", "expand", volume.id.replace("psmp:", "ps:", 1), "--size",
                     "96Mi")
        state["driver"].csi.call("node", "expand", volume.id, volume.target, "--size", "96Mi",
                                 "--staging", volume.staging, *caps,
                                 f"--secret={encryption.KEY}={encryption.PASSPHRASE}",
                                 timeout_s=120)
        map_bytes = device_size(vm, f"/dev/{state['mp_map']}")
        if map_bytes != 96 * 1024 * 1024:
            raise StepFailed(f"the multipath map is {map_bytes} bytes after expansion")
        require_grown(vm, device, volume.target, before,
                      96 * 1024 * 1024 - encryption.LUKS2_HEADER_BYTES,
                      f"{volume.target}/mp.bin", state["mp_sha"])

    def multipath_unstage():
        volume = state["mp"]
        encryption.unpublish_unstage(state["driver"], volume)
        require_not_mounted(vm, KUBELET)
        encryption.require_mapping_closed(vm, volume)
        sessions = vm.run("iscsiadm -m session 2>&1", 30).output
        for target in volume.publish_context["targetIqns"].split(","):
            if target in sessions:
                raise StepFailed(f"still logged in to {target} after unstage: {sessions}")
        maps = vm.run("for d in /sys/block/dm-*; do [ -e $d/dm/uuid ] && cat $d/dm/uuid; done",
                      10).output
        if "mpath-" in maps:
            raise StepFailed(f"a multipath map is left after unstage: {maps}")
        controller_id = volume.id.replace("psmp:", "ps:", 1)
        lab.csi.call("controller", "unpublish", controller_id, state["node_id"])
        lab.csi.call("controller", "delete", controller_id)

    return steps("iscsi_powerstore", [
        ("powerstore-sim + tgtd on the host; node with iscsid, udev and polycsi", node_ready),
        ("create a volume and publish it to the node's IQN", create_publish),
        ("CHAP with a wrong secret: the target refuses, PERMISSION_DENIED names CHAP, nothing "
         "logged in or mounted", wrong_chap_refused),
        ("mutual CHAP with a wrong target secret: the node refuses the target, "
         "PERMISSION_DENIED names chap_mutual_password; the kernel initiator refuses it too; "
         "nothing logged in", wrong_mutual_refused),
        ("node stage+publish: iscsiadm login with mutual CHAP and replacement_timeout 30, "
         "mkfs.ext4, mount; write and read back",
         stage_write),
        ("expand 64Mi -> 96Mi under a writer: SCSI rescan, ext4 grows online, data kept",
         expand_under_load),
        ("unpublish+unstage: unmounted, logged out; unpublish and delete", logout),
        ("dm-multipath: a second portal on tgtd; dm_multipath and multipathd with the plugin's "
         "multipath.conf", multipath_ready),
        ("encrypted multipath stage (backend multipath: true, encrypted=true): logged in to "
         "both portals, LUKS2 on the dm-multipath map of both paths, ext4 on the mapping",
         multipath_stage),
        ("one path cut mid-write (its SCSI disk offline): no I/O error, the data reads back",
         multipath_path_cut),
        ("expand 64Mi -> 96Mi through the map: every path rescanned, multipathd resize map, "
         "LUKS mapping and ext4 grow, data kept", multipath_grow),
        ("multipath unstage: LUKS mapping closed, map flushed, both portals logged out, no map "
         "left; unpublish and delete", multipath_unstage),
    ])
