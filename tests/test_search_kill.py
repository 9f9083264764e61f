"""A search killed with SIGKILL mid-way resumes with every finished evaluation kept,
none run twice, the unfinished one run again, and the same outcome as a search that
was never interrupted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from search_spaces import MEDIUM

import darchlang
from darchlang.search import Journal, make_searcher, run_search
from darchlang.search.schedulers import make_scheduler
from darchlang.search.synthetic import NKCurves, NKObjective

BUDGET = 30
ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent('''
    import sys, time
    import darchlang
    from darchlang.search import make_searcher, run_search
    from darchlang.search.synthetic import NKObjective

    space = darchlang.load_string(open(sys.argv[1]).read()).space
    objective = NKObjective(space, k=1, seed=9)
    log = open(sys.argv[3], "a")

    def evaluate(arch):
        log.write(arch.identity + "\\n")
        log.flush()
        time.sleep(0.03)  # long enough that the kill lands inside an evaluation
        return objective(arch)

    searcher = make_searcher("evolution", space, 5, population=6, sample=3)
    run_search(space, searcher, evaluate, int(sys.argv[4]), sys.argv[2])
''')


def finished(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with Journal(path, create=False) as journal:
            return journal.count_finished()
    except Exception:  # the journal is still being created
        return 0


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path):
    space_file = tmp_path / "space.darch"
    space_file.write_text(MEDIUM)
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    journal, log = tmp_path / "exp.db", tmp_path / "started.log"
    command = [sys.executable, str(script), str(space_file), str(journal), str(log), str(BUDGET)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    child = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while finished(journal) < 10:
        assert child.poll() is None, "the search ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_at = finished(journal)
    assert 10 <= killed_at < BUDGET

    subprocess.run(command, env=env, check=True, timeout=120)

    with Journal(journal, create=False) as j:
        rows = j.evaluations()
    assert len(rows) == BUDGET
    assert [r.index for r in rows] == list(range(BUDGET))
    assert all(r.status == "ok" for r in rows)
    assert sum(r.attempts > 1 for r in rows) <= 1  # at most the one the kill interrupted
    # Each evaluation started once, plus at most one restart of the interrupted one.
    starts = log.read_text().split()
    assert BUDGET <= len(starts) <= BUDGET + 1
    # The resumed search is the search that was never interrupted.
    space = darchlang.load_string(MEDIUM).space
    whole = run_search(space, make_searcher("evolution", space, 5, population=6, sample=3),
                       NKObjective(space, k=1, seed=9), BUDGET)
    assert [r.decisions for r in rows] == [e.decisions for e in whole.evaluations]
    assert [r.score for r in rows] == [e.score for e in whole.evaluations]


SCHEDULED = textwrap.dedent('''
    import sys
    import darchlang
    from parallel_helpers import LoggedCurves
    from darchlang.search import make_searcher, run_search
    from darchlang.search.schedulers import make_scheduler
    from darchlang.search.synthetic import NKCurves

    if __name__ == "__main__":  # spawned workers import this file too
        space = darchlang.load_string(open(sys.argv[1]).read()).space
        evaluate = LoggedCurves(NKCurves(space, k=1, seed=9, epochs=9, epoch_seconds=0.01),
                                sys.argv[3])
        scheduler = make_scheduler(sys.argv[4], min_epochs=1, max_epochs=9, eta=3)
        run_search(space, make_searcher("tpe", space, 5), evaluate, 20, sys.argv[2],
                   scheduler=scheduler, workers=int(sys.argv[5]),
                   retries=5)  # the test's own 3 kills must not give a rung up
''')


def rungs_done(path: Path) -> int:
    try:
        with Journal(path, create=False) as journal:
            return len(journal.rung_results())
    except Exception:  # not created yet
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("scheduler,workers", [("hyperband", 1), ("halving", 1), ("asha", 2)])
def test_sigkill_a_scheduled_search_at_random_moments(tmp_path, scheduler, workers):
    """Killed three times mid-rung or mid-promotion, then resumed: no finished rung lost
    or run twice, the checkpoints cleaned up and, in one process, the decisions and
    scores of the search that was never interrupted."""
    space_file, script = tmp_path / "space.darch", tmp_path / "search.py"
    space_file.write_text(MEDIUM)
    script.write_text(SCHEDULED)
    path, log = tmp_path / "kill.db", tmp_path / "started.log"
    command = [sys.executable, str(script), str(space_file), str(path), str(log), scheduler,
               str(workers)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    rng = random.Random(f"{scheduler}{workers}")
    kills = 0
    for _ in range(3):
        child = subprocess.Popen(command, env=env)
        target = rungs_done(path) + rng.randint(2, 6)
        deadline = time.monotonic() + 60
        while rungs_done(path) < target and child.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))  # mid-rung, or while a promotion loads
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
    assert kills >= 2, "the search should be killed before it ends"
    subprocess.run(command, env=env, check=True, timeout=180)

    with Journal(path, create=False) as journal:
        rows, rungs = journal.evaluations(), journal.rung_results()
    assert len(rows) == 20 and all(r.status == "ok" for r in rows)
    starts = Counter(tuple(line.split()) for line in log.read_text().splitlines())
    recorded = {(rows[r.index].identity, str(r.rung)) for r in rungs}
    assert set(starts) == recorded  # every rung that started has its result
    assert sum(n - 1 for n in starts.values()) <= kills * workers  # only cut-off ones twice
    assert not any((tmp_path / "kill.db.checkpoints").glob("*"))
    if workers == 1:
        space = darchlang.load_string(MEDIUM).space
        whole = run_search(space, make_searcher("tpe", space, 5),
                           NKCurves(space, k=1, seed=9, epochs=9), 20,
                           scheduler=make_scheduler(scheduler, min_epochs=1, max_epochs=9, eta=3))
        assert [r.decisions for r in rows] == [e.decisions for e in
                                               sorted(whole.evaluations, key=lambda e: e.index)]
        assert [(r.index, r.score) for r in sorted(rows, key=lambda r: r.index)] == \
            [(e.index, e.score) for e in sorted(whole.evaluations, key=lambda e: e.index)]
