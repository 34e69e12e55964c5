"""PASS/FAIL reporting of scenario steps."""
import sys
import time


class StepFailed(Exception):
    """A step's check did not hold; the message says what was seen."""


class Report:
    """Prints one line per step: `PASS <step>` or `FAIL <step>: <why>`, and counts them."""

    def __init__(self, out=sys.stdout):
        self._out = out
        self.passed = 0
        self.failed = 0
        self._started = time.monotonic()

    def _print(self, line):
        print(line, file=self._out, flush=True)

    def note(self, text):
        self._print(f"[{time.monotonic() - self._started:6.1f}s] {text}")

    def passed_step(self, name):
        self.passed += 1
        self._print(f"PASS {name}")

    def failed_step(self, name, why):
        self.failed += 1
        why = why.strip().replace("\n", "\n    ")
        self._print(f"FAIL {name}: {why}")

    def step(self, name, action):
        """Runs `action()`; a StepFailed or any error fails the step. Returns whether it passed."""
        try:
            action()
        except StepFailed as failure:
            self.failed_step(name, str(failure))
            return False
        except Exception as error:  # an orchestration error is a failed step, not a crash
            self.failed_step(name, f"{type(error).__name__}: {error}")
            return False
        self.passed_step(name)
        return True

    def elapsed(self):
        return time.monotonic() - self._started
