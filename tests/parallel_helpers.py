"""Evaluators for the parallel tests, in a module of their own so that spawned worker
processes can import them (a function defined in a test file's namespace could not)."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path


def _draw(identity: str) -> float:
    return int(hashlib.sha256(identity.encode()).hexdigest()[:8], 16) / 2**32


class FixedCost:
    """Sleeps `seconds` (times 1 + `spread` x a number in [0, 1) drawn from the
    architecture), then scores the architecture by its identity; with `log`, appends
    `pid identity` to that file as each evaluation starts."""

    def __init__(self, seconds: float, spread: float = 0.0, log: str | None = None):
        self.seconds, self.spread, self.log = seconds, spread, log

    def __call__(self, arch) -> float:
        if self.log is not None:
            with open(self.log, "a") as out:
                out.write(f"{os.getpid()} {arch.identity}\n")
        time.sleep(self.seconds * (1 + self.spread * _draw(arch.identity)))
        return _draw(arch.identity)


class DiesOnce:
    """The first evaluation anywhere (a marker file decides) ends its worker process
    mid-evaluation: with SIGKILL, or with `os._exit(3)` as a crashed interpreter would;
    every other evaluation costs `seconds`."""

    def __init__(self, marker: str, how: str = "sigkill", seconds: float = 0.05):
        self.marker, self.how, self.seconds = marker, how, seconds

    def __call__(self, arch) -> float:
        time.sleep(self.seconds)
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return _draw(arch.identity)
        os.write(fd, arch.identity.encode())
        os.close(fd)
        if self.how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)


def instant(arch) -> float:
    """A near-instant evaluator for stress tests."""
    return _draw(arch.identity)


def wait_gone(pids: set[int], timeout: float = 20.0) -> None:
    """Wait for processes to exit; kill (by PID) any still there after `timeout`."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by a dead parent's init) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class LoggedCurves:
    """A synthetic learning-curve evaluator (`NKCurves`) that appends `identity rung`
    to `log` as each rung starts: the kill tests count what ran twice."""

    def __init__(self, curves, log: str):
        self.curves, self.log = curves, log

    def evaluate(self, arch, *, budget=None) -> float:
        with open(self.log, "a") as out:
            out.write(f"{arch.identity} {budget.rung if budget else -1}\n")
        return self.curves.evaluate(arch, budget=budget)
