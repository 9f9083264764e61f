"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM at
any moment of a `darch search`, worker start-up included, leaves no row `running`:
every evaluation the search started is marked interrupted, and the resumed search
reruns it without counting a death against `--retries`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from search_spaces import MEDIUM

from darchlang.search import Journal

ROOT = Path(__file__).resolve().parent.parent


def _command(space: Path, journal: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "darchlang.cli", "search", str(space), "--searcher", "random",
            "--budget", "6", "--seed", "1", "--journal", str(journal), "--retries", "0",
            "--evaluator", "interrupt_helpers:SlowStart", "--no-progress",
            *(["--workers", str(workers)] if workers > 1 else [])]


def _lines(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _run(command: list[str], env: dict[str, str], log: Path, after: int, delay: float,
         signum: int, group: bool) -> subprocess.CompletedProcess:
    """Run `command`, and once `log` has `after` lines, wait `delay` s and send
    `signum` (to the whole process group with `group`); its outcome."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while _lines(log) < after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


# (workers, log lines to wait for, then seconds, the signal, to the whole group):
# the driver's own build of the evaluator is line 1; with workers, lines 2-3 are
# their start-ups (each sleeps 0.3 s while it builds) and evaluations follow.
MOMENTS = [
    *[(2, n, d, signal.SIGINT, True) for n in (1, 2, 3, 4, 6) for d in (0.0, 0.15)],
    (2, 1, 0.35, signal.SIGINT, True), (2, 3, 0.25, signal.SIGINT, True),
    (2, 2, 0.1, signal.SIGTERM, False), (2, 5, 0.05, signal.SIGTERM, False),
    (1, 1, 0.3, signal.SIGINT, True), (1, 3, 0.05, signal.SIGINT, True),
    (1, 4, 0.0, signal.SIGTERM, False),
]


@pytest.mark.slow
@pytest.mark.parametrize("workers,after,delay,signum,group", MOMENTS)
def test_a_signal_at_any_moment_leaves_no_row_running(tmp_path, workers, after, delay,
                                                      signum, group):
    space, journal, log = tmp_path / "space.darch", tmp_path / "s.db", tmp_path / "log"
    space.write_text(MEDIUM)
    env = {**os.environ, "DARCH_TEST_LOG": str(log), "DARCH_TEST_START": "0.3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    command = _command(space, journal, workers)
    stopped = _run(command, env, log, after, delay, signum, group)
    # 0: it finished first; 130: stopped; -SIGINT: Python ended by the signal itself
    # (it came while the command was still importing, before any journal).
    assert stopped.returncode in (0, 130, -signal.SIGINT), stopped.stderr
    assert "Traceback" not in stopped.stderr, stopped.stderr
    if stopped.returncode:
        assert "interrupted" in stopped.stderr
    if journal.exists():
        with Journal(journal, create=False) as read:
            rows = read.evaluations()
        assert [r.index for r in rows if r.status == "running"] == []
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    with Journal(journal, create=False) as read:
        rows = read.evaluations()
    assert len(rows) == 6 and all(r.done for r in rows)
    assert [(r.index, r.deaths) for r in rows if r.deaths] == []
