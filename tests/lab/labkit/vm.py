"""A lab guest: one QEMU process (software emulation) and the command agent inside it.

The guest's init (tests/lab/guest/init) serves tests/lab/guest/agent.sh on a virtio-serial port;
QEMU exposes that port as a unix socket here. Each command is a shell script sent as one line
and answered with its output and exit status. Only the QEMU process this object started is
ever signalled.
"""
import base64
import os
import secrets
import select
import shlex
import socket
import subprocess
import time
import uuid

from .report import StepFailed

AGENT_PORT_NAME = "org.polycsi.lab.agent"
# The second user-mode network of a guest with second_nic: the guest is SECOND_NIC_GUEST on eth1
# and reaches the host's loopback as SECOND_NIC_HOST, a second path to what 10.0.2.2 reaches.
SECOND_NIC_NET = "10.0.3.0/24"
SECOND_NIC_GUEST = "10.0.3.15"
SECOND_NIC_HOST = "10.0.3.2"
# How long the first contact waits for an answer before it asks again (see wait_ready).
READY_PROBE_S = 5


class NoAnswer(StepFailed):
    """The agent did not answer a request in time."""


class CommandResult:
    def __init__(self, status, output):
        self.status = status
        self.output = output

    @property
    def ok(self):
        return self.status == 0


class GuestVm:
    """A QEMU guest booted from the lab's kernel and initramfs, reachable through its agent."""

    def __init__(self, name, image_dir, work_dir, memory_mb=512, host_forwards=(),
                 second_nic=False, initrd="initramfs.img"):
        """`host_forwards`: (host_port, guest_port) pairs; host 127.0.0.1:host_port reaches the
        guest's guest_port over TCP. The guest reaches the host's loopback as 10.0.2.2.
        `second_nic`: a second user-mode network (eth1, 10.0.3.0/24) where the host's loopback
        is 10.0.3.2: a second path to the same host ports (SECOND_NIC_* below).
        `initrd`: the archive in image_dir the guest boots with."""
        self.name = name
        self.uuid = str(uuid.uuid4())
        self._image_dir = image_dir
        self._initrd = initrd
        self._memory_mb = memory_mb
        self._forwards = list(host_forwards)
        self._second_nic = second_nic
        self._dir = os.path.join(work_dir, name)
        os.makedirs(self._dir, exist_ok=True)
        self.console_log = os.path.join(self._dir, "console.log")
        self._socket_path = os.path.join(self._dir, "agent.sock")
        self._process = None
        self._channel = None
        self._buffer = b""

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self):
        netdev = "user,id=net0"
        for host_port, guest_port in self._forwards:
            netdev += f",hostfwd=tcp:127.0.0.1:{int(host_port)}-:{int(guest_port)}"
        argv = [
            "qemu-system-x86_64",
            "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "1", "-m", str(self._memory_mb),
            "-nodefaults", "-display", "none", "-no-reboot", "-uuid", self.uuid,
            "-kernel", os.path.join(self._image_dir, "vmlinuz"),
            "-initrd", os.path.join(self._image_dir, self._initrd),
            # no_timer_check: on a loaded host the emulated timer can miss the kernel's IO-APIC
            # timer check, which then panics ("IO-APIC + timer doesn't work").
            "-append", f"console=ttyS0 panic=-1 quiet no_timer_check lab.name={self.name}",
            "-serial", f"file:{self.console_log}",
            "-netdev", netdev, "-device", "virtio-net-pci,netdev=net0",
            *(["-netdev", f"user,id=net1,net={SECOND_NIC_NET}",
                "-device", "virtio-net-pci,netdev=net1"] if self._second_nic else []),
            "-device", "virtio-serial-pci,id=vser0",
            "-chardev", f"socket,id=agent,path={self._socket_path},server=on,wait=off",
            "-device", f"virtserialport,bus=vser0.0,chardev=agent,name={AGENT_PORT_NAME}",
        ]
        log = open(os.path.join(self._dir, "qemu.log"), "wb")
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

    def wait_ready(self, timeout_s):
        """Connects to the agent and waits until the guest answers; raises StepFailed."""
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self._socket_path):
            self._check_alive()
            if time.monotonic() > deadline:
                raise StepFailed(f"{self.name}: QEMU did not create {self._socket_path}")
            time.sleep(0.1)
        self._channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._channel.connect(self._socket_path)
        # Until the host connects, the guest's agent reads end-of-file and reopens its port every
        # 0.2 s, and the guest kernel drops what is queued on a port it closes: a request that
        # lands in that moment is lost. So the first contact asks again until it is answered;
        # the agent answers in order, so an earlier answer arriving late only lands in the
        # output of this probe, which is ignored.
        while True:
            try:
                self.run("true", timeout_s=READY_PROBE_S, margin_s=0)
                break
            except NoAnswer:
                if time.monotonic() > deadline:
                    raise StepFailed(f"{self.name}: the agent did not answer within {timeout_s}s;"
                                     f" console: {self.console_tail()}") from None
        result = self.run("uname -r", timeout_s=60, agent_timeout_s=10)
        if not result.ok:
            raise StepFailed(f"{self.name}: the agent answered {result.status}: {result.output}")
        if self._second_nic:
            self.check(f"ip link set eth1 up && ip addr add {SECOND_NIC_GUEST}/24 dev eth1", 20,
                       what="configuring eth1")
        return result.output.strip()

    def stop(self):
        """Stops the QEMU process this object started (SIGTERM, then SIGKILL)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)

    def _check_alive(self):
        if self._process is None:
            raise StepFailed(f"{self.name}: not started")
        if self._process.poll() is not None:
            raise StepFailed(f"{self.name}: QEMU exited with {self._process.returncode}; "
                             f"console: {self.console_tail()}")

    def console_tail(self, lines=15):
        try:
            with open(self.console_log, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    # ---- commands -------------------------------------------------------------------------
    def run(self, script, timeout_s=60, agent_timeout_s=None, margin_s=15):
        """Runs a shell script in the guest (busybox sh) with a timeout enforced inside the guest
        and, `margin_s` later, here (NoAnswer). `agent_timeout_s` bounds the script itself when
        it differs."""
        self._check_alive()
        if self._channel is None:
            raise StepFailed(f"{self.name}: not connected to the agent")
        limit = int(agent_timeout_s if agent_timeout_s is not None else timeout_s)
        request_id = secrets.token_hex(8)
        payload = base64.b64encode(script.encode()).decode()
        self._channel.sendall(f"RUN {request_id} {limit} {payload}\n".encode())
        marker = f"\n@@LAB-END {request_id} ".encode()
        deadline = time.monotonic() + timeout_s + margin_s
        while True:
            at = self._buffer.find(marker)
            if at >= 0:
                end = self._buffer.find(b"\n", at + len(marker))
                if end >= 0:
                    output = self._buffer[:at].decode(errors="replace")
                    status = int(self._buffer[at + len(marker):end])
                    self._buffer = self._buffer[end + 1:]
                    return CommandResult(status, output)
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoAnswer(f"{self.name}: no answer within {timeout_s}s to: {script[:200]}")
            ready, _, _ = select.select([self._channel], [], [], min(left, 1.0))
            if not ready:
                self._check_alive()
                continue
            chunk = self._channel.recv(65536)
            if not chunk:
                raise StepFailed(f"{self.name}: the agent channel closed; console: "
                                 f"{self.console_tail()}")
            self._buffer += chunk

    def check(self, script, timeout_s=60, what=None):
        """Runs a script that must succeed; returns its output or raises StepFailed."""
        result = self.run(script, timeout_s)
        if not result.ok:
            raise StepFailed(f"{what or script.strip()[:120]} on {self.name} exited "
                             f"{result.status}: {result.output.strip()[-1500:]}")
        return result.output

    def write_file(self, path, content, mode=0o644):
        data = base64.b64encode(content if isinstance(content, bytes) else content.encode())
        quoted = shlex.quote(path)
        self.check(f"mkdir -p $(dirname {quoted}) && echo {data.decode()} | base64 -d > {quoted}"
                   f" && chmod {mode:o} {quoted}", what=f"writing {path}")
