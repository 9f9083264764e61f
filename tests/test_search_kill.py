"""A search killed with SIGKILL mid-way resumes with every finished evaluation kept,
none run twice, the unfinished one run again, and the same outcome as a search that
was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from search_spaces import MEDIUM

import darchlang
from darchlang.search import Journal, make_searcher, run_search
from darchlang.search.synthetic import NKObjective

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
