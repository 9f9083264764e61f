"""Parallel searches are reproducible and resumable: random, uniform and grid pick the
same architectures with any number of workers, `sync` makes a model-based searcher
reproducible too, and a parallel search stopped (Ctrl-C) or killed (SIGKILL) with
several evaluations in flight resumes keeping every finished one, running none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from parallel_helpers import FixedCost, wait_gone
from search_spaces import MEDIUM

import darchlang
from darchlang.search import Journal, make_searcher, run_search

ROOT = Path(__file__).resolve().parent.parent
SMALL = "space = concat [conv2d(filters: one_of(8, 16, 32), size: one_of(1, 3, 5)), relu()]"


@pytest.fixture(scope="module")
def space():
    return darchlang.load_string(MEDIUM).space


def picked(result) -> dict[int, list[int]]:
    return {e.index: e.decisions for e in result.evaluations}


@pytest.mark.parametrize("name, program", [("random", MEDIUM), ("uniform", MEDIUM),
                                           ("grid", SMALL)])
@pytest.mark.slow
def test_baselines_pick_the_same_whatever_the_workers(name, program):
    space = darchlang.load_string(program).space
    evaluate = FixedCost(0.01, spread=2.0)  # uneven costs: results arrive in any order
    runs = [run_search(space, make_searcher(name, space, seed=4), evaluate, budget=9,
                       workers=workers) for workers in (1, 2, 3)]
    assert picked(runs[0]) == picked(runs[1]) == picked(runs[2])


@pytest.mark.slow
def test_sync_makes_a_model_based_searcher_reproducible(space):
    def search(spread: float):
        searcher = make_searcher("evolution", space, seed=2, population=4, sample=2)
        return run_search(space, searcher, FixedCost(0.01, spread=spread), budget=14,
                          workers=3, sync=True)

    first, second = search(0.0), search(3.0)
    assert [e.decisions for e in first.evaluations] == [e.decisions for e in second.evaluations]
    assert [e.index for e in first.evaluations] == list(range(14))  # told in ask order


class CtrlCAfter:
    """A progress callback that presses Ctrl-C (SIGINT to this process, from another
    thread, as a terminal would) once `n` evaluations have finished."""

    def __init__(self, n: int):
        self.n, self.pressed = n, False

    def __call__(self, event) -> None:
        if event.kind == "finished" and event.done >= self.n and not self.pressed:
            self.pressed = True
            threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT)).start()


@pytest.mark.parametrize("sync", [False, True])
@pytest.mark.slow
def test_ctrl_c_then_resume(space, tmp_path, sync):
    path, log = tmp_path / "stop.db", tmp_path / "started.log"
    evaluate = FixedCost(0.05, log=str(log))
    with pytest.raises(KeyboardInterrupt):
        run_search(space, make_searcher("random", space, seed=7), evaluate, budget=16,
                   journal=path, workers=3, sync=sync, progress=CtrlCAfter(7))
        time.sleep(5)  # not reached: the search is stopped first
    rows = Journal(path, create=False).evaluations()
    assert not any(r.status == "running" for r in rows)  # stopped ones say so
    cut = {r.index for r in rows if not r.done}
    assert cut, "the stop should cut off evaluations in flight"
    result = run_search(space, make_searcher("random", space, seed=7), evaluate, budget=16,
                        journal=path, workers=3, sync=sync)
    rows = Journal(path, create=False).evaluations()
    assert len(rows) == result.done == 16 and all(r.status == "ok" for r in rows)
    assert {r.index for r in rows if r.attempts > 1} == cut
    starts = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(starts) <= 16 + len(cut)  # only the cut-off ones ran twice
    whole = run_search(space, make_searcher("random", space, seed=7), evaluate, budget=16)
    assert picked(result) == picked(whole)


SCRIPT = textwrap.dedent('''
    import sys
    import darchlang
    from parallel_helpers import FixedCost
    from darchlang.search import make_searcher, run_search

    if __name__ == "__main__":  # spawned workers import this file too
        space = darchlang.load_string(open(sys.argv[1]).read()).space
        searcher = make_searcher("evolution", space, 5, population=6, sample=3)
        run_search(space, searcher, FixedCost(0.1, log=sys.argv[3]), 24, sys.argv[2],
                   workers=3, sync=True)
''')


def finished(path: Path) -> int:
    try:
        with Journal(path, create=False) as journal:
            return journal.count_finished()
    except Exception:  # not created yet
        return 0


@pytest.mark.slow
def test_sigkill_of_the_driver_then_resume(tmp_path):
    """Killed with three in flight; resumed, the synchronous search ends exactly as one
    that was never interrupted."""
    space_file, script = tmp_path / "space.darch", tmp_path / "search.py"
    space_file.write_text(MEDIUM)
    script.write_text(SCRIPT)
    path, log = tmp_path / "kill.db", tmp_path / "started.log"
    command = [sys.executable, str(script), str(space_file), str(path), str(log)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    child = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while finished(path) < 8:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    wait_gone({int(line.split()[0]) for line in log.read_text().splitlines()})
    kept = {r.index for r in Journal(path, create=False).evaluations() if r.done}
    subprocess.run(command, env=env, check=True, timeout=120)
    rows = Journal(path, create=False).evaluations()
    wait_gone({int(line.split()[0]) for line in log.read_text().splitlines()})
    assert len(rows) == 24 and all(r.status == "ok" for r in rows)
    assert all(r.attempts == 1 for r in rows if r.index in kept)
    space = darchlang.load_string(MEDIUM).space
    whole = run_search(space, make_searcher("evolution", space, 5, population=6, sample=3),
                       FixedCost(0.0), 24, workers=3, sync=True)
    assert [r.decisions for r in rows] == [e.decisions for e in
                                           sorted(whole.evaluations, key=lambda e: e.index)]
