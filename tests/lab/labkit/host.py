"""Processes the lab runs on the host: the polycsi controller, powerstore-sim, polycsictl calls."""
import json
import os
import re
import shlex
import socket
import subprocess
import time

from .report import StepFailed


def free_tcp_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (QEMU's hostfwd needs it up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_checked(argv, timeout_s=60, what=None):
    """Runs a host command (argv, never a shell); returns stdout or raises StepFailed."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{what or argv[0]} did not finish within {timeout_s}s")
    if done.returncode != 0:
        raise StepFailed(f"{what or ' '.join(argv)} exited {done.returncode}: "
                         f"{(done.stderr or done.stdout).strip()[-1500:]}")
    return done.stdout


class HostProcess:
    """A long-running host process with its output in a log file; stopped by its own pid."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.log_path = log_path
        log = open(log_path, "wb")
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env)
        log.close()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for_line(self, pattern, timeout_s):
        """Waits until a log line matches `pattern`; returns the match."""
        deadline = time.monotonic() + timeout_s
        regex = re.compile(pattern, re.MULTILINE)
        while time.monotonic() < deadline:
            match = regex.search(self.log_text())
            if match:
                return match
            if self._process.poll() is not None:
                raise StepFailed(f"{self.name} exited with {self._process.returncode}: "
                                 f"{self.log_text()[-1500:]}")
            time.sleep(0.2)
        raise StepFailed(f"{self.name} did not print /{pattern}/ within {timeout_s}s: "
                         f"{self.log_text()[-1500:]}")

    def wait_for_path(self, path, timeout_s):
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(path):
            if self._process.poll() is not None:
                raise StepFailed(f"{self.name} exited with {self._process.returncode}: "
                                 f"{self.log_text()[-1500:]}")
            if time.monotonic() > deadline:
                raise StepFailed(f"{self.name} did not create {path} within {timeout_s}s")
            time.sleep(0.1)

    def stop(self, timeout_s=20):
        if self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=timeout_s)


class CsiClient:
    """polycsictl against one endpoint, on the host (`bin`) or in a guest (`vm`)."""

    def __init__(self, polycsictl, endpoint, vm=None):
        self._polycsictl = polycsictl
        self._endpoint = endpoint
        self._vm = vm

    def _argv(self, args, json_output):
        argv = [self._polycsictl, "--endpoint", self._endpoint, "--timeout", "90s"]
        if json_output:
            argv.append("--json")
        return argv + list(args)

    def call(self, *args, json_output=True, timeout_s=120):
        """Runs one RPC that must succeed; returns the parsed JSON answer (or the text)."""
        status, output = self.try_call(*args, json_output=json_output, timeout_s=timeout_s)
        if status != 0:
            raise StepFailed(f"polycsictl {' '.join(args)} exited {status}: {output.strip()}")
        if not json_output:
            return output
        try:
            return json.loads(output) if output.strip() else {}
        except json.JSONDecodeError as error:
            raise StepFailed(f"polycsictl {' '.join(args)}: not JSON ({error}): {output[:500]}")

    def try_call(self, *args, json_output=True, timeout_s=120):
        """Runs one RPC; returns (exit status, output). Exit 1 carries 'CODE: message'."""
        argv = self._argv(args, json_output)
        if self._vm is not None:
            result = self._vm.run(" ".join(shlex.quote(a) for a in argv) + " 2>&1", timeout_s)
            return result.status, result.output
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"polycsictl {' '.join(args)} did not answer within {timeout_s}s")
        return done.returncode, done.stdout + done.stderr
