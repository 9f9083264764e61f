"""Evaluators that misbehave, for the fault tests, importable by spawned workers."""

from __future__ import annotations

import hashlib
import os
import time


def _draw(identity: str) -> float:
    return int(hashlib.sha256(identity.encode()).hexdigest()[:8], 16) / 2**32


class KillsSome:
    """Ends its process (`os._exit(9)`, as a segfault or the OOM killer would) on the
    architectures whose drawn number is below `share`; the others sleep `seconds` and
    score. Every start is appended to `log` as `pid identity`."""

    def __init__(self, share: float, log: str, seconds: float = 0.05):
        self.share, self.log, self.seconds = share, log, seconds

    def __call__(self, arch) -> float:
        with open(self.log, "a") as out:
            out.write(f"{os.getpid()} {arch.identity}\n")
        if _draw(arch.identity) < self.share:
            os._exit(9)
        time.sleep(self.seconds)
        return _draw(arch.identity)


def kills(share: float, identity: str) -> bool:
    """Whether `KillsSome(share, ...)` ends its process on this architecture."""
    return _draw(identity) < share


class Hangs:
    """Sleeps far past any limit on the architectures drawn below `share` (as a stuck
    evaluation would, in native code: `time.sleep` cannot be interrupted cooperatively);
    the others take `seconds`."""

    def __init__(self, share: float, seconds: float = 0.02):
        self.share, self.seconds = share, seconds

    def __call__(self, arch) -> float:
        if _draw(arch.identity) < self.share:
            time.sleep(600)
        time.sleep(self.seconds)
        return _draw(arch.identity)


HANGS = Hangs(0.3)  # for `--evaluator fault_helpers:HANGS`


class KillsAtRung:
    """A synthetic learning-curve evaluator (`NKCurves` over `space_text`) that ends its
    process (`os._exit(9)`) on the architectures drawn below `share` when they reach
    rung `rung`, after their earlier rungs trained fine. Every start is appended to
    `log` as `pid identity rung`."""

    def __init__(self, space_text: str, share: float, rung: int, log: str,
                 seconds: float = 0.0):
        self.space_text, self.share, self.rung, self.log = space_text, share, rung, log
        self.seconds = seconds
        self._curves = None

    def evaluate(self, arch, *, budget=None) -> float:
        import darchlang
        from darchlang.search.synthetic import NKCurves

        with open(self.log, "a") as out:
            out.write(f"{os.getpid()} {arch.identity} {budget.rung}\n")
        if _draw(arch.identity) < self.share and budget.rung == self.rung:
            os._exit(9)
        if self._curves is None:
            self._curves = NKCurves(darchlang.load_string(self.space_text).space, seed=3)
        time.sleep(self.seconds)
        return self._curves.evaluate(arch, budget=budget)

    def __getstate__(self):
        return {**self.__dict__, "_curves": None}


class HangsAtRung:
    """A scheduled evaluator (it takes a `budget`) that reports one value per epoch and
    hangs, as a stuck evaluation in native code would, on the architectures drawn
    below `share` when they reach rung `rung`."""

    def __init__(self, share: float, rung: int):
        self.share, self.rung = share, rung

    def evaluate(self, arch, *, budget=None) -> float:
        if _draw(arch.identity) < self.share and budget.rung == self.rung:
            time.sleep(600)
        for epoch in range(1, budget.epochs + 1):
            if not budget.report(epoch, _draw(arch.identity) * epoch):
                break
        return _draw(arch.identity) * budget.epochs
