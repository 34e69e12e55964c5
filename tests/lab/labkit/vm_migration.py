"""A real VM live migration on a polycsi volume (run-lab.py --vm-migration, docs/lab.md).

While an RWX block volume is published to node A and node B at once (scenario 2), each node
guest runs a QEMU of its own (software emulation inside software emulation) whose only disk is
the volume's published block device. The inner VM is tests/lab/guest/seq-writer.S: firmware
that writes sequence numbers 1, 2, 3, ... to successive sectors of its disk and prints each one
on QEMU's debug console once its write completed. It starts on A, B's QEMU waits with
`-incoming`, and A's QEMU migrates it to B over TCP (A reaches B through a port the host
forwards to B) while it writes. B's copy goes on writing; then the volume must hold one
unbroken sequence across the handoff, and A's console output followed by B's must be exactly
"1", "2", ..., "N": nothing lost, nothing written twice, the guest never restarted.

The disks use cache=none (O_DIRECT on the node): a write the inner guest saw complete is on the
shared volume, and neither node serves reads from a page cache the other cannot see. libvirt
calls a shared-storage migration safe only with cache none or directsync
(qemuMigrationSrcIsSafe in libvirt's src/qemu/qemu_migration.c).

Every process here is started through the node's agent and stopped by its own pid.
"""
import base64
import gzip
import json
import shlex
import struct
import time
import types

from .report import StepFailed

# Where build-guest-image.sh --with-qemu puts the inner VM's firmware in the node guests.
WRITER_BIOS = "/usr/share/polycsi-lab/seq-writer.bin"
# coreutils' dd, from the same archive: O_DIRECT needs a buffer aligned as the device requires,
# which busybox's dd does not give (a loop device refuses it).
DIRECT_DD = "/usr/share/polycsi-lab/dd"
# The port B's QEMU listens on for the migration stream, inside node B; run-lab.py forwards a
# host port to it (A connects to 10.0.2.2:<that port>).
INCOMING_GUEST_PORT = 4444
QMP_GUEST_PORT = 4445
# seq-writer.S's layout: sequence number n is in sector RING_FIRST + (n - 1) % RING_SECTORS,
# every 32-bit word n except the first two, which hold MAGIC.
SECTOR_BYTES = 512
RING_FIRST = 32768
RING_SECTORS = 16384
MAGIC = b"PCSISEQW"
BANNER = "seq-writer: start\n"
# How far the inner VM must write before the migration and after it: enough that both nodes'
# QEMUs provably wrote to the volume, small enough for nested emulation.
WRITES_BEFORE = 100
WRITES_AFTER = 200


def incoming_port(slot=0):
    """The port an inner VM of `slot` listens on for a migration stream, inside its guest."""
    return INCOMING_GUEST_PORT + 10 * slot


class InnerVm:
    """One QEMU in a node guest running seq-writer from a block device of that guest."""

    def __init__(self, vm, device, incoming=False, slot=0):
        """`device`: the guest path of the disk. `incoming`: wait for a migration stream on
        incoming_port(slot) instead of starting the firmware. `slot`: which of the inner VMs of
        one node guest this is (its ports, directory and log); the control migration runs two
        in one guest."""
        self.vm = vm
        self.device = device
        self.incoming = incoming
        suffix = f"-{slot}" if slot else ""
        self._dir = f"/run/inner-vm{suffix}"
        self.console = f"{self._dir}/debugcon.log"
        self._log = f"/var/log/inner-vm{suffix}.log"
        self._qmp_port = QMP_GUEST_PORT + 10 * slot
        self._incoming_port = incoming_port(slot)
        self.pid = None

    def start(self, timeout_s=180):
        argv = ["qemu-system-x86_64", "-M", "isapc", "-accel", "tcg,tb-size=16", "-m", "2",
                "-nodefaults", "-no-user-config", "-display", "none", "-bios", WRITER_BIOS,
                "-drive", f"file={self.device},format=raw,if=ide,cache=none",
                "-debugcon", f"file:{self.console}",
                "-qmp", f"tcp:127.0.0.1:{self._qmp_port},server=on,wait=off"]
        if self.incoming:
            argv += ["-incoming", f"tcp:0.0.0.0:{self._incoming_port}"]
        command = " ".join(shlex.quote(a) for a in argv)
        # One inner VM per node at a time: one left by a failed step is ended by its pid.
        out = self.vm.check(f"p=$(cat {self._dir}/pid 2>/dev/null); [ -n \"$p\" ] && "
                            f"grep -q qemu /proc/$p/cmdline 2>/dev/null && kill -9 $p && sleep 1; "
                            f"rm -rf {self._dir} && mkdir -p {self._dir} && "
                            f"{{ setsid {command} >{self._log} 2>&1 </dev/null & "
                            f"echo $! | tee {self._dir}/pid; }}", 20,
                            what="starting the inner QEMU")
        self.pid = int(out.strip())
        # The QMP socket answers once QEMU finished setting up (under nested emulation, seconds).
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.vm.run(f"{self._alive()} && printf '%s\\n' "
                                 "'{\"execute\":\"qmp_capabilities\"}' | "
                                 f"nc 127.0.0.1 {self._qmp_port}", 30)
            if status.ok and '"return"' in status.output:
                return
            if not self.vm.run(self._alive(), 10).ok:
                raise StepFailed(f"the inner QEMU on {self.vm.name} exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise StepFailed(f"the inner QEMU on {self.vm.name} did not answer on QMP within "
                                 f"{timeout_s}s: {self.log_tail()}")
            time.sleep(1)

    def qmp(self, command, arguments=None, timeout_s=60):
        """Runs one QMP command; returns its "return" value or raises StepFailed."""
        request = {"execute": command}
        if arguments is not None:
            request["arguments"] = arguments
        lines = '{"execute":"qmp_capabilities"}\n' + json.dumps(request) + "\n"
        result = self.vm.run(f"printf '%s' {shlex.quote(lines)} | nc 127.0.0.1 {self._qmp_port}",
                             timeout_s)
        answers = []
        for line in result.output.splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "return" in message or "error" in message:
                answers.append(message)
        if len(answers) != 2:
            raise StepFailed(f"QMP {command} on {self.vm.name}: no answer "
                             f"({result.output.strip()!r}); QEMU's log: {self.log_tail()}")
        if "error" in answers[1]:
            raise StepFailed(f"QMP {command} on {self.vm.name}: {answers[1]['error']}")
        return answers[1]["return"]

    def status(self):
        return self.qmp("query-status")["status"]

    def console_text(self):
        return self.vm.check(f"cat {self.console}", 30)

    def last_number(self):
        """The last complete number the inner VM printed here (0 for none)."""
        return parse_sequence(self.console_text(), allow_resumed=self.incoming)[1]

    def wait_for(self, number, timeout_s):
        """Waits until the inner VM printed `number`: its write of `number` completed."""
        deadline = time.monotonic() + timeout_s
        while True:
            last = self.last_number()
            if last >= number:
                return last
            if time.monotonic() > deadline:
                raise StepFailed(f"the inner VM on {self.vm.name} reached only {last} of {number} "
                                 f"writes within {timeout_s}s; QEMU's log: {self.log_tail()}")
            if not self.vm.run(self._alive(), 10).ok:
                raise StepFailed(f"the inner QEMU on {self.vm.name} exited: {self.log_tail()}")
            time.sleep(2)

    def quit(self, timeout_s=60):
        """Ends this QEMU (QMP quit, then SIGKILL to its pid); idempotent."""
        if self.pid is None:
            return
        try:
            self.qmp("quit", timeout_s=30)
        except StepFailed:
            # A QEMU that no longer answers QMP (already gone, or hung) is ended below: the
            # loop waits for it and kills its pid, and that outcome is what is reported.
            pass
        gone = self.vm.run(f"i=0; while {self._alive()}; do "
                           f"[ $i -gt {timeout_s * 5} ] && {{ kill -9 {self.pid}; exit 1; }}; "
                           "sleep 0.2; i=$((i+1)); done", timeout_s + 10)
        self.pid = None
        if not gone.ok:
            raise StepFailed(f"the inner QEMU on {self.vm.name} did not quit; killed")

    def log_tail(self):
        return self.vm.run(f"tail -n 20 {self._log}", 10).output.strip()

    def _alive(self):
        """A guest shell test: this QEMU runs (a process that ended but is not reaped yet, a
        zombie, does not count)."""
        return f"grep -q '^State:[[:space:]]*[^Z]' /proc/{self.pid}/status 2>/dev/null"


def parse_sequence(text, allow_resumed=False):
    """Checks seq-writer's console output: the banner, then lines "1", "2", ... in order, the
    last one possibly cut short (its print went on elsewhere, or the VM was stopped). With
    `allow_resumed` the text may begin anywhere in that stream (a migrated VM's destination)
    and is only checked to count up by one. Returns (first, last) complete numbers, (0, 0) for
    none; raises StepFailed naming what is wrong."""
    body = text
    if not allow_resumed:
        if not BANNER.startswith(text[:len(BANNER)]):
            raise StepFailed(f"the inner VM's console does not begin with {BANNER!r}: "
                             f"{text[:80]!r}")
        body = text[len(BANNER):]
    lines = body.split("\n")
    complete, tail = lines[:-1], lines[-1]
    if allow_resumed and complete:
        complete = complete[1:]  # may be the rest of a number the source began printing
    if tail and not tail.isdigit():
        raise StepFailed(f"the inner VM's console ends with {tail!r}")
    first = last = 0
    for line in complete:
        if line.startswith("E") and line[1:].isdigit():
            raise StepFailed(f"the inner VM's disk write failed: ATA status {line[1:]} after "
                             f"sequence number {last}")
        if not line.isdigit():
            raise StepFailed(f"the inner VM printed {line!r} after {last}")
        number = int(line)
        if last and number != last + 1:
            raise StepFailed(f"the inner VM printed {number} after {last}")
        if not allow_resumed and not last and number != 1:
            raise StepFailed(f"the inner VM's first number is {number}, expected 1")
        first = first or number
        last = number
    return first, last


def check_handoff(source_text, destination_text):
    """The source's console output followed by the destination's must be one unbroken stream
    from 1: the VM neither restarted on B nor lost or repeated a step. Returns (handoff, last):
    the last number the source printed and the last of the whole stream."""
    _, handoff = parse_sequence(source_text)
    try:
        _, last = parse_sequence(source_text + destination_text)
    except StepFailed as error:
        raise StepFailed(f"across the handoff (after {handoff} on the source): {error}") from None
    if destination_text.startswith(BANNER):
        raise StepFailed("the destination's VM started afresh instead of resuming the source's")
    return handoff, last


def check_ring(data, printed):
    """Checks the ring seq-writer wrote (the volume's bytes from sector RING_FIRST on) against
    the last number it printed: every sequence number of the newest RING_SECTORS up to the
    last one written is in its sector, whole, and no sector holds anything else. The disk may
    be one ahead of the console (a write done, its print not yet). Returns the last number on
    the disk; raises StepFailed naming the first wrong sector."""
    count = len(data) // SECTOR_BYTES
    found = []
    for index in range(count):
        sector = data[index * SECTOR_BYTES:(index + 1) * SECTOR_BYTES]
        if sector == bytes(SECTOR_BYTES):
            found.append(0)
            continue
        words = struct.unpack(f"<{SECTOR_BYTES // 4}I", sector)
        number = words[2]
        if sector[:8] != MAGIC or any(word != number for word in words[2:]):
            raise StepFailed(f"sector {RING_FIRST + index} holds no whole seq-writer record "
                             f"(torn or foreign): {sector[:16].hex()}...")
        if number == 0 or (number - 1) % RING_SECTORS != index:
            raise StepFailed(f"sector {RING_FIRST + index} holds sequence number {number}, "
                             "which belongs elsewhere")
        found.append(number)
    last = max(found, default=0)
    if last not in (printed, printed + 1):
        raise StepFailed(f"the volume's newest sequence number is {last}, but the VM printed "
                         f"{printed} as its last completed write")
    for index, number in enumerate(found):
        # The newest number of this slot that is <= last, or 0 if the VM never reached it.
        expected = index + 1 + ((last - index - 1) // RING_SECTORS) * RING_SECTORS \
            if last > index else 0
        if number != expected and expected:
            raise StepFailed(f"sector {RING_FIRST + index} holds {number or 'nothing'}, "
                             f"expected {expected}: a write the VM saw complete is not on the "
                             "volume")
        if number != expected:
            raise StepFailed(f"sector {RING_FIRST + index} holds {number}, beyond the last "
                             f"write {last}")
    return last


def ring_difference(on_b, on_a):
    """Which sectors node A reads differently from node B, for a failure message."""
    differing = [index for index in range(len(on_b) // SECTOR_BYTES)
                 if on_b[index * SECTOR_BYTES:(index + 1) * SECTOR_BYTES] !=
                 on_a[index * SECTOR_BYTES:(index + 1) * SECTOR_BYTES]]
    if not differing:
        return "node A reads the same"
    def number(data, index):  # the sequence-number word of a sector, as hex
        return data[index * SECTOR_BYTES + 8:index * SECTOR_BYTES + 12].hex()

    shown = ", ".join(f"{RING_FIRST + i}: B {number(on_b, i)} A {number(on_a, i)}"
                      for i in differing[:8])
    return f"node A reads {len(differing)} sectors differently ({shown})"


def read_ring(vm, device, sectors):
    """The first `sectors` sectors of the ring on `device`, read on `vm` with O_DIRECT."""
    blocks = (sectors * SECTOR_BYTES + 4095) // 4096
    out = vm.check(f"{DIRECT_DD} if={shlex.quote(device)} bs=4096 skip={RING_FIRST * SECTOR_BYTES // 4096}"
                   f" count={blocks} iflag=direct 2>/dev/null | gzip -1 | base64", 120,
                   what="reading the inner VM's ring")
    data = gzip.decompress(base64.b64decode("".join(out.split())))
    if len(data) != blocks * 4096:
        raise StepFailed(f"read {len(data)} bytes of the ring from {device}, expected "
                         f"{blocks * 4096}")
    return data[:sectors * SECTOR_BYTES]


def handoff_evidence(state, node_a, node_b):
    """What tells the failures of a handoff apart: where each console stopped and started, byte
    for byte (a number cut short on A was being printed, so its write had completed there), and
    what the node kernels logged about their NVMe paths and block devices."""
    def kernel(node):
        lines = node.vm.run("dmesg | grep -E -i 'nvme|blk_|I/O error|dm-|loop' | tail -n 6",
                            15).output.strip().splitlines()
        return " | ".join(lines) or "nothing"
    a_text = state["a"].console_text() if "a" in state else ""
    b_text = state["b"].console_text() if "b" in state else ""
    evidence = f"A's console ends {a_text[-24:]!r}, B's begins {b_text[:24]!r}"
    evidence += f"; A's kernel: {kernel(node_a)}"
    if node_b is not node_a:
        evidence += f"; B's kernel: {kernel(node_b)}"
    return evidence


def nested_migration_steps(node_a, node_b, device_of, migrate_uri, report_note,
                           destination_slot=0, disk="the volume's block device",
                           destination="node B"):
    """Steps that migrate a running VM from node A to node B on a volume both have published.
    `device_of(node)`: the volume's block device on that node. `migrate_uri`: where A's QEMU
    sends the stream (B's incoming_port(destination_slot), as A reaches it). `report_note`:
    prints a timing line. node B may be node A itself with `destination_slot` 1 (the control
    migration, control_migration), and `disk` and `destination` then name what the steps
    report instead of the volume and node B. Returns (steps while both nodes have the volume, steps after
    node A was fenced)."""
    state = {}

    def boots_on_a():
        # A sector the VM never reached must read as zeros, also through dm-crypt, where a
        # sector never written decrypts to noise: the ring is zeroed first.
        node_a.vm.check(f"{DIRECT_DD} if=/dev/zero of={shlex.quote(device_of(node_a))} bs=1M "
                        f"seek={RING_FIRST * SECTOR_BYTES >> 20} "
                        f"count={RING_SECTORS * SECTOR_BYTES >> 20} oflag=direct conv=notrunc,fsync"
                        " 2>&1", 120, what="zeroing the inner VM's ring")
        started = time.monotonic()
        inner = InnerVm(node_a.vm, device_of(node_a))
        state["a"] = inner
        inner.start()
        inner.wait_for(WRITES_BEFORE, 300)
        report_note(f"inner VM: QEMU up and {WRITES_BEFORE} writes on node A in "
                    f"{time.monotonic() - started:.1f}s")

    def migrates_to_b():
        started = time.monotonic()
        target = InnerVm(node_b.vm, device_of(node_b), incoming=True, slot=destination_slot)
        state["b"] = target
        target.start()
        if target.status() != "inmigrate":
            raise StepFailed(f"node B's QEMU is {target.status()!r}, expected 'inmigrate'")
        source = state["a"]
        before = source.last_number()
        source.qmp("migrate", {"uri": migrate_uri})
        deadline = time.monotonic() + 300
        while True:
            info = source.qmp("query-migrate")
            if info.get("status") == "completed":
                break
            if info.get("status") in ("failed", "cancelled"):
                raise StepFailed(f"the migration {info.get('status')}: "
                                 f"{info.get('error-desc', info)}")
            if time.monotonic() > deadline:
                raise StepFailed(f"the migration did not complete within 300s: {info}")
            time.sleep(1)
        if source.status() != "postmigrate" or target.status() != "running":
            raise StepFailed(f"after the migration node A's VM is {source.status()!r} and node "
                             f"B's {target.status()!r}, expected 'postmigrate' and 'running'")
        handoff = source.last_number()
        if handoff <= before:
            raise StepFailed(f"the VM wrote nothing on node A during the migration "
                             f"({before} before, {handoff} at the handoff)")
        state["handoff"] = handoff
        # The source QEMU closes the volume, as the source pod ends in a real migration.
        source.quit()
        target.wait_for(handoff + WRITES_AFTER, 300)
        report_note(f"inner VM: migrated in {info.get('total-time', '?')} ms (downtime "
                    f"{info.get('downtime', '?')} ms, {info.get('ram', {}).get('transferred', '?')}"
                    f" bytes), handoff after write {handoff}; "
                    f"step {time.monotonic() - started:.1f}s")

    def volume_holds_sequence():
        target = state["b"]
        target.qmp("stop")  # QEMU completes the VM's in-flight writes before it stops
        try:
            handoff, printed = check_handoff(state["a"].console_text(), target.console_text())
        except StepFailed as error:
            raise StepFailed(f"{error}; {handoff_evidence(state, node_a, node_b)}") from None
        if handoff != state["handoff"]:
            raise StepFailed(f"node A's console grew from {state['handoff']} to {handoff} after "
                             "the migration completed")
        target.quit()
        sectors = min(RING_SECTORS, printed + 64)
        data = read_ring(node_b.vm, device_of(node_b), sectors)
        try:
            state["last"] = check_ring(data, printed)
        except StepFailed as error:
            # What node A reads there tells a lost write from a stale read on B.
            seen_by_a = read_ring(node_a.vm, device_of(node_a), sectors)
            raise StepFailed(f"{error}; {ring_difference(data, seen_by_a)}; logical block "
                             f"size {node_b.vm.check(f'blockdev --getss {device_of(node_b)}', 10)}"
                             f"; handoff after {handoff}; {handoff_evidence(state, node_a, node_b)}"
                             ) from None
        report_note(f"inner VM: the volume holds writes 1..{state['last']} in order, "
                    f"{handoff} of them from node A")

    def still_there_after_fence():
        data = read_ring(node_b.vm, device_of(node_b), min(RING_SECTORS, state["last"] + 64))
        last = check_ring(data, state["last"])
        if last != state["last"]:
            raise StepFailed(f"the volume's newest write is {last}, was {state['last']}")

    during = [
        (f"VM on node A: a QEMU boots from {disk} (cache=none) and writes "
         f"sequence numbers ({WRITES_BEFORE} done)", boots_on_a),
        (f"VM live-migrated to {destination} over TCP while it writes: A postmigrate, B running, "
         f"B writes on ({WRITES_AFTER} more)", migrates_to_b),
        (f"VM stopped on B: {disk} holds one unbroken sequence across the handoff (none "
         "lost, none twice), A's console followed by B's is 1..N", volume_holds_sequence),
    ]
    after = [("after A is fenced, B still reads the VM's whole sequence",
              still_there_after_fence)]
    return during, after


# The control's disk: in the node guest's RAM, behind a loop device whose logical sectors are
# 4 KiB like the volume's namespace (nvmet gives a file-backed namespace its file's block size),
# so QEMU read-modify-writes around each 512-byte IDE sector exactly as it does on the volume.
CONTROL_IMAGE = "/tmp/inner-control.img"
LOSETUP = "/usr/sbin/losetup"  # util-linux's, from the QEMU archive (build-guest-image.sh)


def control_migration(steps, vm, rounds, report):
    """The control of the nested migration (run-lab.py --scenario vm-control): seq-writer is
    migrated `rounds` times between two QEMUs of one node guest on a disk of that guest, the
    very steps and checks of nested_migration_steps with no polycsi volume, no NVMe/TCP and no
    second node. A handoff that breaks here breaks for nested emulation alone; compared with
    the volume's runs, it tells what the volume adds. Reports each round and the count."""
    node = types.SimpleNamespace(vm=vm)
    state = {}

    def local_disk():
        device = vm.check(f"rm -f {CONTROL_IMAGE} && truncate -s 24M {CONTROL_IMAGE} && "
                          f"{LOSETUP} -f --show --sector-size 4096 {CONTROL_IMAGE}", 30,
                          what="making the control's loop device").strip()
        sector = vm.check(f"blockdev --getss {shlex.quote(device)}", 10).strip()
        if sector != "4096":
            raise StepFailed(f"{device} has {sector}-byte sectors, expected 4096")
        state["device"] = device

    if not steps("vm-control", [("a disk of node A's own: a loop device with 4 KiB sectors",
                                 local_disk)]):
        return
    broken = done = 0
    try:
        for number in range(1, rounds + 1):
            during, _ = nested_migration_steps(node, node, lambda _: state["device"],
                                               f"tcp:127.0.0.1:{incoming_port(1)}",
                                               report.note, destination_slot=1,
                                               disk="node A's loop device",
                                               destination="a second QEMU on node A")
            if not steps(f"vm-control round {number}", during[:2]):
                report.note("vm-control: the migration itself failed; rounds stopped")
                break
            if not steps(f"vm-control round {number}", during[2:]):
                broken += 1
            done = number
    finally:
        vm.run(f"{LOSETUP} -d {shlex.quote(state['device'])}", 20)
    report.note(f"vm-control: {broken} of {done} handoffs broke on node A's own disk")
