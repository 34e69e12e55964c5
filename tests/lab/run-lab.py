#!/usr/bin/env python3
"""The VM lab: polycsi's node side against real kernels (NVMe/TCP, iSCSI, NFS) in QEMU guests.

    tests/lab/run-lab.py --build-dir build [--scenario rds|migration|iscsi|nfs ...]
                         [--vm-migration]
    tests/lab/run-lab.py --build-dir build --scenario vm-control [--rounds N]

Builds the guest image (tests/lab/build-guest-image.sh, cached in <build-dir>/lab), boots a
target VM (rds-sim over the kernel NVMe target, knfsd) and three node VMs in parallel, and runs
the scenarios, printing `PASS <step>` or `FAIL <step>: <why>` per step and a closing
`lab: N passed, N failed`. Exits 1 when any step failed. Logs (guest consoles, drivers,
simulators) stay in <build-dir>/lab/run. Stops only the processes it started.
--vm-migration adds a real VM live migration to the migration scenario: nodes A and B run a
QEMU of their own on the volume and migrate a VM that writes throughout (labkit/vm_migration.py).
--scenario vm-control boots node A alone and migrates the same VM N times between two QEMUs of
that guest on a disk of its own (a loop device with 4 KiB sectors, no polycsi, no NVMe): how
often nested emulation alone breaks a handoff, the baseline for judging the volume's runs.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labkit.encryption import (scenario_encrypted_filesystem,  # noqa: E402
                               scenario_encrypted_migration)
from labkit.host import free_tcp_port  # noqa: E402
from labkit.iscsi import PowerStoreLab, scenario_iscsi  # noqa: E402
from labkit.nfs import scenario_nfs, start_nfs_server  # noqa: E402
from labkit.node import GuestDriver  # noqa: E402
from labkit.rds import (RdsController, RdsTarget, rds_backend_yaml,  # noqa: E402
                        scenario_filesystem_and_block, scenario_live_migration)
from labkit.report import Report, StepFailed  # noqa: E402
from labkit.vm import GuestVm  # noqa: E402
from labkit.vm_migration import (INCOMING_GUEST_PORT, control_migration,  # noqa: E402
                                 nested_migration_steps)

SCENARIOS = ("rds", "migration", "iscsi", "nfs")
CONTROL = "vm-control"
BOOT_TIMEOUT_S = 300
LAB_SOURCE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--build-dir", required=True, help="polycsi build directory")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS + (CONTROL,),
                        help="run only these scenarios (repeatable); default: all but "
                             f"{CONTROL}")
    parser.add_argument("--rounds", type=int, default=10,
                        help=f"handoffs of the {CONTROL} scenario (default 10)")
    parser.add_argument("--memory-mb", type=int,
                        help=f"memory of each guest (default 448; {CONTROL}: 1024, its disk is "
                             "in the guest's RAM beside the unpacked QEMU)")
    parser.add_argument("--vm-migration", action="store_true",
                        help="in the migration scenario, also live-migrate a running VM whose "
                             "disk is the volume from node A to node B (QEMU inside the guests; "
                             "docs/lab.md gives its time)")
    args = parser.parse_args()
    if args.vm_migration and args.scenario and "migration" not in args.scenario:
        parser.error("--vm-migration adds steps to the migration scenario: "
                     "add --scenario migration")
    if args.scenario and CONTROL in args.scenario and len(args.scenario) > 1:
        parser.error(f"--scenario {CONTROL} runs alone (it boots node A only)")
    if args.memory_mb is None:
        args.memory_mb = 1024 if args.scenario == [CONTROL] else 448
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def require_prerequisites(build_dir):
    missing = [tool for tool in ("qemu-system-x86_64", "ssh-keygen", "openssl")
               if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"lab: {', '.join(missing)} not found; run scripts/install-deps.sh")
    if os.geteuid() != 0:
        raise SystemExit("lab: must run as root (powerstore-sim's tgtd, apt-get download)")
    for program in ("polycsi", "polycsictl", "rds-sim", "powerstore-sim"):
        if not os.access(os.path.join(build_dir, "bin", program), os.X_OK):
            raise SystemExit(f"lab: {build_dir}/bin/{program} is missing: build polycsi first")


class Lab:
    """Everything the scenarios share, and the order it is torn down in."""

    def __init__(self, args):
        self.build_dir = os.path.abspath(args.build_dir)
        self.bin_dir = os.path.join(self.build_dir, "bin")
        self.image_dir = os.path.join(self.build_dir, "lab")
        self.run_dir = os.path.join(self.image_dir, "run")
        self.scenarios = args.scenario or list(SCENARIOS)
        self.memory_mb = args.memory_mb
        self.control = self.scenarios == [CONTROL]
        self.rounds = args.rounds
        self.vm_migration = args.vm_migration or self.control
        self.report = Report()
        self.vms = {}
        self.nodes = {}
        self.target = None
        self.controller = None
        self.powerstore = None

    def steps(self, scenario, steps):
        """Runs a scenario's steps in order; a failed step ends the scenario."""
        self.report.note(f"scenario {scenario}")
        for name, action in steps:
            if not self.report.step(f"{scenario}: {name}", action):
                return False
        return True

    # ---- setup ----------------------------------------------------------------------------
    def build_image(self):
        log = os.path.join(self.image_dir, "build-guest-image.log")
        os.makedirs(self.image_dir, exist_ok=True)
        with open(log, "wb") as out:
            done = subprocess.run([os.path.join(LAB_SOURCE, "build-guest-image.sh"),
                                   "--build-dir", self.build_dir,
                                   *(["--with-qemu"] if self.vm_migration else [])], stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=900)
        with open(log) as f:
            text = f.read()
        if done.returncode != 0:
            raise StepFailed(f"build-guest-image.sh exited {done.returncode}: {text[-1500:]}")
        self.report.note(text.strip().splitlines()[-1])

    def boot(self):
        self.ssh_port, self.nvme_port, self.nfs_port = (free_tcp_port() for _ in range(3))
        forwards = [(self.ssh_port, 2222), (self.nvme_port, self.nvme_port),
                    (self.nfs_port, 2049)]
        names = ["node-a"] if self.control else ["target"] + [f"node-{x}" for x in "abc"]
        # The nested migration: nodes A and B boot with QEMU in their image, and A reaches B's
        # incoming migration port through a host port (as it reaches the target).
        self.vm_port = free_tcp_port() if self.vm_migration else None
        for name in names:
            nested = self.vm_migration and name in ("node-a", "node-b")
            host_forwards = forwards if name == "target" else ()
            if nested and name == "node-b":
                host_forwards = [(self.vm_port, INCOMING_GUEST_PORT)]
            # Nodes get a second network: two NVMe/TCP paths to the target (multipath).
            self.vms[name] = GuestVm(name, self.image_dir, self.run_dir, self.memory_mb,
                                     host_forwards, second_nic=name != "target",
                                     initrd="initramfs-qemu.img" if nested else "initramfs.img")
        for vm in self.vms.values():
            vm.start()
        kernels = {vm.wait_ready(BOOT_TIMEOUT_S) for vm in self.vms.values()}
        self.report.note(f"guests up, kernel {', '.join(sorted(kernels))}")

    def start_target(self):
        self.target = RdsTarget(self.vms["target"], self.run_dir, self.ssh_port, self.nvme_port)
        self.target.start()
        if "nfs" in self.scenarios:
            start_nfs_server(self.vms["target"])

    def start_nodes(self):
        key_file = "/etc/polycsi/rds_id_ed25519"
        config = ("driver_name: polycsi.csi.io\nstate_path: /var/lib/polycsi\nbackends:\n" +
                  rds_backend_yaml(self.target, "10.0.2.2", key_file, False) +
                  "  - name: nfs\n    plugin: nfs\n    settings:\n      timeout_seconds: 20\n")
        with open(self.target.client_key, "rb") as f:
            client_key = f.read()
        for name in ("node-a", "node-b", "node-c"):
            vm = self.vms[name]
            vm.write_file(key_file, client_key, 0o600)
            vm.check("modprobe nvme-tcp", 30, what="loading nvme-tcp")
            driver = GuestDriver(vm, "node", "node", name, config)
            driver.start()
            self.nodes[name] = driver

    def start_controller(self):
        self.controller = RdsController(self.bin_dir, self.run_dir, self.target)
        self.controller.start()

    def setup(self):
        if self.control:
            return self.steps("setup", [
                ("guest image with QEMU and seq-writer", self.build_image),
                ("boot node A alone", self.boot)])
        return self.steps("setup", [
            ("guest image (Debian kernel, busybox, storage tools, polycsi)", self.build_image),
            ("boot the target VM and three node VMs", self.boot),
            ("target VM: rds-sim on the kernel NVMe target" +
             (", knfsd" if "nfs" in self.scenarios else ""), self.start_target),
            ("node VMs: polycsi serve --mode node", self.start_nodes),
            ("host: polycsi serve --mode controller (rds_nvme over SSH to rds-sim)",
             self.start_controller),
        ])

    # ---- scenarios ------------------------------------------------------------------------
    def run(self):
        if os.path.isdir(self.run_dir):
            shutil.rmtree(self.run_dir)
        os.makedirs(self.run_dir)
        try:
            if self.setup():
                if self.control:
                    control_migration(self.steps, self.vms["node-a"], self.rounds,
                                      self.report)
                else:
                    self.run_scenarios()
            if self.report.failed:
                self.dump_logs()
        finally:
            self.teardown()
        return self.report.failed == 0

    def run_scenarios(self):
        """The scenarios named on the command line, after setup."""
        a, b, c = (self.nodes[n] for n in ("node-a", "node-b", "node-c"))
        nested = None
        if self.vm_migration:
            def nested(device_of):
                return nested_migration_steps(a, b, device_of,
                                              f"tcp:10.0.2.2:{self.vm_port}",
                                              self.report.note)
        if "rds" in self.scenarios:
            scenario_filesystem_and_block(self.steps, self.controller,
                                          self.target, a)
            scenario_encrypted_filesystem(self.steps, self.controller, a)
        if "migration" in self.scenarios:
            scenario_live_migration(self.steps, self.controller,
                                    self.target, a, b, c, nested)
            scenario_encrypted_migration(self.steps, self.controller, a, b, nested)
        if "iscsi" in self.scenarios:
            self.powerstore = PowerStoreLab(self.bin_dir, self.run_dir, free_tcp_port())
            scenario_iscsi(self.steps, self.powerstore, c.vm)
        if "nfs" in self.scenarios:
            scenario_nfs(self.steps, self.vms["target"], c, self.nfs_port)

    def dump_logs(self):
        print(f"--- logs of this run: {self.run_dir}", flush=True)
        for name, driver in self.nodes.items():
            print(f"--- {name}: polycsi log (tail)\n{driver.log_tail(30)}", flush=True)
        if self.controller is not None:
            print(f"--- host controller (rds) log (tail)\n{self.controller.log_tail()}", flush=True)
        if self.target is not None:
            print("--- target: rds-sim log (tail)\n" +
                  self.vms["target"].run("tail -n 30 /var/log/rds-sim.log", 20).output, flush=True)

    def teardown(self):
        for stop in (lambda: self.controller and self.controller.stop(),
                     lambda: self.powerstore and self.powerstore.stop()):
            try:
                stop()
            except Exception as error:  # keep tearing down the rest
                print(f"lab: teardown: {error}", file=sys.stderr)
        for vm in self.vms.values():
            vm.stop()


def main():
    args = parse_args()
    require_prerequisites(os.path.abspath(args.build_dir))
    started = time.monotonic()
    lab = Lab(args)
    ok = lab.run()
    print(f"lab: wall time {time.monotonic() - started:.0f}s")
    print(f"lab: {lab.report.passed} passed, {lab.report.failed} failed", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
