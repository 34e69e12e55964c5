#!/usr/bin/env python3
"""Checks of the nested live migration (labkit/vm_migration.py) without the VM lab: the
verdicts on seq-writer's console and ring accept what an unbroken handoff leaves and refuse a
gap, a repeat, a torn or misplaced sector and a restarted VM; and seq-writer itself, run by the
host's QEMU on a file and migrated between two QEMUs on loopback, leaves what the checks accept.

    python3 tests/lab/vm_migration_checks_test.py
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labkit.report import StepFailed  # noqa: E402
from labkit.vm_migration import (BANNER, MAGIC, RING_FIRST, RING_SECTORS,  # noqa: E402
                                 SECTOR_BYTES, check_handoff, check_ring, parse_sequence)

LAB_SOURCE = os.path.dirname(os.path.abspath(__file__))


def console(first, last):
    return "".join(f"{n}\n" for n in range(first, last + 1))


def record(number):
    return MAGIC + struct.pack(f"<{SECTOR_BYTES // 4 - 2}I", *[number] * (SECTOR_BYTES // 4 - 2))


def ring(last, sectors):
    """The ring as seq-writer leaves it after writing 1..last, its first `sectors` sectors."""
    data = bytearray(sectors * SECTOR_BYTES)
    for number in range(max(1, last - RING_SECTORS + 1), last + 1):
        index = (number - 1) % RING_SECTORS
        if index < sectors:
            data[index * SECTOR_BYTES:(index + 1) * SECTOR_BYTES] = record(number)
    return bytes(data)


def put(data, index, sector):
    data = bytearray(data)
    data[index * SECTOR_BYTES:(index + 1) * SECTOR_BYTES] = sector
    return bytes(data)


class ConsoleChecks(unittest.TestCase):
    def test_a_source_stream_counts_from_one(self):
        self.assertEqual(parse_sequence(BANNER + console(1, 5)), (1, 5))
        self.assertEqual(parse_sequence(BANNER + console(1, 5) + "6"), (1, 5))
        self.assertEqual(parse_sequence(BANNER), (0, 0))

    def test_a_gap_a_repeat_or_a_wrong_start_is_refused(self):
        for text in (BANNER + "1\n2\n4\n", BANNER + "1\n2\n2\n3\n", BANNER + "2\n3\n",
                     "1\n2\n", BANNER + "1\nx\n"):
            with self.assertRaises(StepFailed, msg=repr(text)):
                parse_sequence(text)

    def test_a_failed_write_is_named(self):
        with self.assertRaisesRegex(StepFailed, "ATA status 65 after sequence number 2"):
            parse_sequence(BANNER + "1\n2\nE65\n")

    def test_a_handoff_mid_number_is_one_stream(self):
        source = BANNER + console(1, 203) + "20"
        destination = "4\n" + console(205, 900)
        self.assertEqual(check_handoff(source, destination), (203, 900))

    def test_a_lost_or_repeated_step_across_the_handoff_is_refused(self):
        source = BANNER + console(1, 204)
        for destination in (console(206, 300), console(204, 300), "5\n" + console(205, 300)):
            with self.assertRaises(StepFailed, msg=destination[:10]):
                check_handoff(source, destination)

    def test_a_restarted_destination_is_refused(self):
        with self.assertRaises(StepFailed):
            check_handoff(BANNER + console(1, 204), BANNER + console(1, 300))
        with self.assertRaises(StepFailed):
            check_handoff(BANNER, BANNER + console(1, 3))


class RingChecks(unittest.TestCase):
    def test_an_unbroken_ring_is_accepted(self):
        self.assertEqual(check_ring(ring(500, 564), 500), 500)
        self.assertEqual(check_ring(ring(501, 564), 500), 501)  # written, not printed yet
        self.assertEqual(check_ring(ring(RING_SECTORS + 10, 64), RING_SECTORS + 10),
                         RING_SECTORS + 10)

    def test_a_lost_write_is_refused(self):
        data = put(ring(500, 564), 250, bytes(SECTOR_BYTES))
        with self.assertRaisesRegex(StepFailed, f"sector {RING_FIRST + 250} holds nothing"):
            check_ring(data, 500)

    def test_an_older_write_left_in_a_slot_is_refused(self):
        data = put(ring(RING_SECTORS + 10, 64), 3, record(4))  # the wrap never rewrote it
        with self.assertRaisesRegex(StepFailed, "expected"):
            check_ring(data, RING_SECTORS + 10)

    def test_a_torn_or_foreign_sector_is_refused(self):
        torn = bytearray(record(7))
        torn[300:304] = struct.pack("<I", 8)
        for sector in (bytes(torn), b"\x01" * SECTOR_BYTES):
            with self.assertRaisesRegex(StepFailed, "no whole seq-writer record"):
                check_ring(put(ring(500, 564), 6, sector), 500)

    def test_a_misplaced_record_is_refused(self):
        with self.assertRaisesRegex(StepFailed, "belongs elsewhere"):
            check_ring(put(ring(500, 564), 10, record(12)), 500)

    def test_a_disk_behind_or_ahead_of_the_console_is_refused(self):
        with self.assertRaisesRegex(StepFailed, "newest sequence number is 500"):
            check_ring(ring(500, 564), 502)
        with self.assertRaisesRegex(StepFailed, "newest sequence number is 502"):
            check_ring(ring(502, 564), 500)

    def test_a_write_beyond_the_last_is_refused(self):
        data = put(ring(500, 564), 540, record(541))
        with self.assertRaises(StepFailed):
            check_ring(data, 500)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qmp(port, command, arguments=None):
    """One QMP command on 127.0.0.1:port; returns its answer."""
    import json
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        reader = s.makefile("r")
        json.loads(reader.readline())  # greeting
        for request in ({"execute": "qmp_capabilities"},
                        {"execute": command, **({"arguments": arguments} if arguments else {})}):
            s.sendall((json.dumps(request) + "\n").encode())
            while True:
                answer = json.loads(reader.readline())
                if "return" in answer or "error" in answer:
                    break
        return answer


@unittest.skipUnless(shutil.which("qemu-system-x86_64") and shutil.which("as"),
                     "needs qemu-system-x86_64 and GNU as")
class SeqWriterUnderQemu(unittest.TestCase):
    """seq-writer migrated between two QEMUs of this host on one file: what the lab checks."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="seq-writer-")
        self.processes = []
        bios = os.path.join(self.dir, "seq-writer.bin")
        subprocess.run(["as", "--32", "-o", bios + ".o",
                        os.path.join(LAB_SOURCE, "guest", "seq-writer.S")], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", bios + ".o", bios], check=True)
        self.disk = os.path.join(self.dir, "disk.img")
        with open(self.disk, "wb") as f:
            f.truncate(32 * 1024 * 1024)
        self.bios = bios

    def tearDown(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        shutil.rmtree(self.dir)

    def start(self, name, incoming_port=None):
        """A QEMU running seq-writer on the disk; returns (its QMP port, its console path)."""
        qmp_port = free_port()
        log = os.path.join(self.dir, f"{name}.console")
        argv = ["qemu-system-x86_64", "-M", "isapc", "-accel", "tcg", "-m", "2", "-nodefaults",
                "-no-user-config", "-display", "none", "-bios", self.bios,
                "-drive", f"file={self.disk},format=raw,if=ide,cache=none",
                "-debugcon", f"file:{log}", "-qmp", f"tcp:127.0.0.1:{qmp_port},server=on,wait=off"]
        if incoming_port:
            argv += ["-incoming", f"tcp:127.0.0.1:{incoming_port}"]
        with open(log + ".err", "wb") as err:
            self.processes.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=err))
        deadline = time.monotonic() + 60
        while True:
            try:
                qmp(qmp_port, "query-status")
                return qmp_port, log
            except OSError:
                if time.monotonic() > deadline or self.processes[-1].poll() is not None:
                    raise
                time.sleep(0.2)

    def read(self, path):
        with open(path) as f:
            return f.read()

    def wait_for(self, path, number, resumed=False):
        deadline = time.monotonic() + 120
        while parse_sequence(self.read(path), allow_resumed=resumed)[1] < number:
            self.assertLess(time.monotonic(), deadline, f"{path} did not reach {number}")
            time.sleep(0.1)

    def ring_now(self, sectors):
        with open(self.disk, "rb") as f:
            f.seek(RING_FIRST * SECTOR_BYTES)
            return f.read(sectors * SECTOR_BYTES)

    def test_a_migrated_writer_leaves_one_sequence(self):
        source, source_log = self.start("source")
        self.wait_for(source_log, 50)
        incoming = free_port()
        destination, destination_log = self.start("destination", incoming)
        self.assertEqual(qmp(source, "migrate", {"uri": f"tcp:127.0.0.1:{incoming}"}),
                         {"return": {}})
        deadline = time.monotonic() + 120
        while qmp(source, "query-migrate")["return"].get("status") != "completed":
            self.assertLess(time.monotonic(), deadline, "the migration did not complete")
            time.sleep(0.1)
        handoff = parse_sequence(self.read(source_log))[1]
        self.wait_for(destination_log, handoff + 50, resumed=True)
        qmp(destination, "stop")
        got_handoff, printed = check_handoff(self.read(source_log), self.read(destination_log))
        self.assertEqual(got_handoff, handoff)
        self.assertGreater(printed, handoff)
        self.assertIn(check_ring(self.ring_now(printed + 64), printed), (printed, printed + 1))

    def test_a_writer_started_afresh_is_refused(self):
        # What a destination that boots the VM instead of receiving it leaves: caught.
        _, first_log = self.start("first")
        self.wait_for(first_log, 50)
        self.processes[-1].terminate()  # releases the disk's lock for the second
        self.processes[-1].wait(timeout=60)
        _, second_log = self.start("second")
        self.wait_for(second_log, 10)
        with self.assertRaises(StepFailed):
            check_handoff(self.read(first_log), self.read(second_log))


if __name__ == "__main__":
    unittest.main()
