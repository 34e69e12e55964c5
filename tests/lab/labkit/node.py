"""polycsi in a guest: `polycsi serve` started through the agent, driven with the guest's polycsictl,
and the node-side checks the scenarios share (NVMe controllers, mounts, data)."""
import shlex
import time

from .host import CsiClient
from .report import StepFailed

POLYCSI = "/opt/polycsi/bin/polycsi"
POLYCSICTL = "/opt/polycsi/bin/polycsictl"


class GuestDriver:
    """One `polycsi serve` process in a guest, with its own config, socket and state."""

    def __init__(self, vm, instance, mode, node_id, config_yaml):
        self.vm = vm
        self.instance = instance
        self.mode = mode
        self.node_id_flag = node_id
        self.config_yaml = config_yaml
        self.socket = f"/run/polycsi-{instance}/csi.sock"
        self.log = f"/var/log/polycsi-{instance}.log"
        self.csi = CsiClient(POLYCSICTL, f"unix://{self.socket}", vm=vm)

    def start(self, timeout_s=120):
        config = f"/etc/polycsi/{self.instance}.yaml"
        self.vm.write_file(config, self.config_yaml)
        pid = self.vm.check(
            f"mkdir -p /run/polycsi-{self.instance} && "
            f"setsid {POLYCSI} --log-level info serve --mode {self.mode} --config {config} "
            f"--endpoint unix://{self.socket} --node-id {shlex.quote(self.node_id_flag)} "
            f">{self.log} 2>&1 </dev/null & echo $!", what=f"starting polycsi ({self.instance})")
        # Waits for the socket while the process lives; a refused config ends it at once.
        waited = self.vm.run(
            f"end=$(($(date +%s) + {timeout_s})); "
            f"while [ ! -S {self.socket} ] && kill -0 {int(pid)} 2>/dev/null && "
            f"[ $(date +%s) -lt $end ]; do sleep 0.2; done; "
            f"[ -S {self.socket} ] || {{ tail -n 30 {self.log}; exit 1; }}",
            timeout_s=timeout_s + 30)
        if not waited.ok:
            raise StepFailed(f"polycsi ({self.instance}) on {self.vm.name} did not open its socket: "
                             f"{waited.output.strip()}")

    def node_id(self):
        return self.csi.call("node", "info")["node_id"]

    def log_tail(self, lines=40):
        return self.vm.run(f"tail -n {lines} {self.log}", 10).output


def nvme_controllers(vm):
    """The guest's NVMe controllers: list of (name, subsystem NQN, state)."""
    out = vm.check(
        "for c in /sys/class/nvme/nvme*; do [ -e \"$c/subsysnqn\" ] || continue; "
        "echo \"$(basename $c) $(cat $c/subsysnqn) $(cat $c/state)\"; done", 20)
    return [tuple(line.split()) for line in out.splitlines() if len(line.split()) == 3]


def require_connected(vm, nqn):
    live = [c for c in nvme_controllers(vm) if c[1] == nqn and c[2] == "live"]
    if not live:
        raise StepFailed(f"{vm.name} has no live NVMe/TCP controller to {nqn}: "
                         f"{nvme_controllers(vm)}")


def require_not_connected(vm, nqn=None, timeout_s=20):
    """No controller (to `nqn`, or at all) remains; the kernel removes one asynchronously."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = [c for c in nvme_controllers(vm) if nqn is None or c[1] == nqn]
        if not left:
            return
        if time.monotonic() > deadline:
            raise StepFailed(f"{vm.name} still has NVMe controllers: {left}")
        time.sleep(1)


def require_not_mounted(vm, path_prefix):
    out = vm.check("cat /proc/self/mounts", 10)
    left = [line for line in out.splitlines() if f" {path_prefix}" in line]
    if left:
        raise StepFailed(f"{vm.name} still has mounts under {path_prefix}: {left}")


def context_flags(flag, mapping):
    return [f"{flag}={k}={v}" for k, v in sorted((mapping or {}).items())]
