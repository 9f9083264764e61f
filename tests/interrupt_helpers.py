"""An evaluator that is slow to start, for the Ctrl-C tests: importable by workers.

`SlowStart()` (built with no arguments, as `--evaluator interrupt_helpers:SlowStart`
builds it) appends `start PID` to the file `$DARCH_TEST_LOG` and sleeps
`$DARCH_TEST_START` seconds as it is built, which a worker does in its start-up;
each evaluation appends `eval PID IDENTITY`, sleeps 0.1 s and scores. A test waits
for the n-th line to send its signal, so the moments it tries do not depend on how
fast the machine is."""

from __future__ import annotations

import hashlib
import os
import time


def _log(line: str) -> None:
    with open(os.environ["DARCH_TEST_LOG"], "a") as out:
        out.write(line + "\n")


class SlowStart:
    def __init__(self) -> None:
        _log(f"start {os.getpid()}")
        time.sleep(float(os.environ.get("DARCH_TEST_START", "0.5")))

    def __call__(self, arch) -> float:
        _log(f"eval {os.getpid()} {arch.identity}")
        time.sleep(0.1)
        return int(hashlib.sha256(arch.identity.encode()).hexdigest()[:8], 16) / 2**32
