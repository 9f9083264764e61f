"""Search faults in scheduled searches (issue 16.5): a rung whose evaluation ends its
process is counted as a death across resumes and within one run, and after `retries`
deaths recorded failed with the reason, as in a plain search. Between rungs a
candidate's row stays `running`, so the journal marks each job while it runs; only a
job marked when the search ended counts a death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from fault_helpers import kills
from search_spaces import MEDIUM

import darchlang
from darchlang.search import Journal, make_searcher
from darchlang.search.outcome import evaluate_safely
from darchlang.search.scheduled import ScheduledSession
from darchlang.search.schedulers import make_scheduler
from darchlang.search.synthetic import NKCurves
from darchlang.train.result import EvalResult

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}


@pytest.fixture(scope="module")
def space():
    return darchlang.load_string(MEDIUM).space


def _session(space, path, scheduler="asha", retries=2):
    session = ScheduledSession(space, make_searcher("random", space, seed=1),
                               make_scheduler(scheduler, max_epochs=9, eta=3), 4, path)
    session.retries = retries
    return session


@pytest.mark.parametrize("scheduler", ["asha", "halving"])
def test_a_job_running_when_the_search_ends_counts_a_death_until_given_up(space, tmp_path,
                                                                           scheduler):
    """The search 'dies' (its session is dropped) while rung 1 of a candidate runs,
    after its rung 0 was recorded: each resume counts one death and reruns that rung,
    first; after two retries the third resume records it failed instead."""
    path = tmp_path / "s.db"
    curves = NKCurves(space, seed=3)
    with _session(space, path, scheduler) as session:
        first = session.next()
        while first.rung == 0:
            session.finish(first, *evaluate_safely(curves.evaluate, first.arch, first.budget))
            first = session.next()
        index = first.index
    for deaths in (1, 2):
        with _session(space, path, scheduler) as session:
            job = session.next()
            assert (job.index, job.rung) == (index, first.rung)
            row = session.journal.get(index)
            assert (row.status, row.deaths, row.attempts) == ("running", deaths, deaths + 1)
    with _session(space, path, scheduler) as session:
        job = session.next()
        assert job is None or job.index != index
        row = session.journal.get(index)
    assert row.status == "failed" and row.deaths == 3
    assert row.reason.startswith("the evaluation ended its process 3 times: the search stopped")


def test_waiting_jobs_and_ctrl_c_are_not_deaths(space, tmp_path):
    """Candidates waiting between rungs (halving waits for its whole rung), a rung
    that finished, and a job Ctrl-C stopped count no death when the search resumes."""
    path = tmp_path / "w.db"
    with _session(space, path, "halving") as session:
        jobs = [session.next() for _ in range(3)]
        for job in jobs[:2]:
            session.finish(job, EvalResult(status="ok", score=0.5))
        session.interrupt(jobs[2])
    with _session(space, path, "halving", retries=0) as session:
        job = session.next()
        assert job.index == jobs[2].index
        assert all(r.deaths == 0 for r in session.journal.evaluations())
        assert session.journal.get(job.index).attempts == 2


SCHEDULED = '''
import sys
import darchlang
from fault_helpers import KillsAtRung
from darchlang.search import make_searcher, run_search

if __name__ == "__main__":  # spawned workers import this file too
    text = open(sys.argv[1]).read()
    space = darchlang.load_string(text).space
    workers = int(sys.argv[4])
    run_search(space, make_searcher("random", space, 0),
               KillsAtRung(text, float(sys.argv[7]), int(sys.argv[6]), sys.argv[3],
                           float(sys.argv[8])), 8,
               sys.argv[2], scheduler=sys.argv[5], workers=workers if workers > 1 else None,
               progress=False)
'''


def _scheduled_search(tmp_path, scheduler, workers, rung, runs=20):
    space_file, script = tmp_path / "space.darch", tmp_path / "search.py"
    space_file.write_text(MEDIUM)
    script.write_text(SCHEDULED)
    path, log = tmp_path / "sched.db", tmp_path / "started.log"
    codes = []
    for _ in range(runs):
        command = [sys.executable, str(script), str(space_file), str(path), str(log),
                   str(workers), scheduler, str(rung), "0.3", "0"]
        codes.append(subprocess.run(command, env=ENV, timeout=120).returncode)
        if codes[-1] == 0:
            break
    rows = [r for r in Journal(path, create=False).evaluations() if r.reused is None]
    starts = Counter(tuple(line.split()[1:]) for line in log.read_text().splitlines())
    return codes, rows, starts


@pytest.mark.slow
@pytest.mark.parametrize("scheduler, rung", [("asha", 1), ("hyperband", 0)])
def test_a_rung_that_kills_the_search_is_given_up_after_the_retries(tmp_path, scheduler, rung):
    """In one process, a rung that ends it ends the whole search: each resume counts one
    more death, and after two retries the rung is recorded failed, never run again."""
    codes, rows, starts = _scheduled_search(tmp_path, scheduler, workers=1, rung=rung)
    assert codes[-1] == 0, codes
    deadly = [r for r in rows if kills(0.3, r.identity) and (r.identity, str(rung)) in starts]
    assert deadly and codes.count(9) == 3 * len(deadly)
    assert all(r.done for r in rows)
    for r in deadly:
        assert r.status == "failed" and r.deaths == 3
        assert r.reason.startswith("the evaluation ended its process 3 times: the search stopped")
        assert starts[(r.identity, str(rung))] == 3
        assert all(starts[(r.identity, str(k))] == 1 for k in range(rung))
    for r in rows:
        if r not in deadly:
            assert r.deaths == 0 and all(n == 1 for (i, _), n in starts.items() if i == r.identity)


@pytest.mark.slow
def test_with_two_workers_a_dying_rung_never_fails_a_healthy_one(tmp_path):
    """Two workers: a rung that ends its worker is retried twice in the same run, then
    recorded failed; every other rung runs once and succeeds. The deaths are at rung 0,
    which every candidate runs: which candidates ASHA promotes to rung 1 depends on the
    two workers' timing, and may leave no deadly one to check."""
    codes, rows, starts = _scheduled_search(tmp_path, "asha", workers=2, rung=0, runs=1)
    assert codes == [0]
    deadly = [r for r in rows if kills(0.3, r.identity) and (r.identity, "0") in starts]
    assert deadly
    for r in rows:
        if r in deadly:
            assert r.status == "failed" and r.deaths == 3 and starts[(r.identity, "0")] == 3
            assert "exited with code 9" in r.reason
        else:
            assert r.status == "ok" and r.deaths == 0
            assert all(n == 1 for (i, _), n in starts.items() if i == r.identity)


@pytest.mark.slow
def test_a_scheduled_search_with_two_workers_killed_mid_run_resumes(tmp_path):
    """SIGKILL of the whole search (two workers, rungs in flight), then a resume: the
    rungs in flight count one death each and run again; nothing is lost or failed."""
    space_file, script = tmp_path / "space.darch", tmp_path / "search.py"
    space_file.write_text(MEDIUM)
    script.write_text(SCHEDULED)
    path, log = tmp_path / "k.db", tmp_path / "started.log"
    command = [sys.executable, str(script), str(space_file), str(path), str(log), "2", "asha",
               "1", "0", "0.3"]  # none dies by itself; each rung takes 0.3 s
    search = subprocess.Popen(command, env=ENV, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or
                                           len(log.read_text().splitlines()) < 4):
        time.sleep(0.05)
    os.killpg(search.pid, signal.SIGKILL)
    search.wait()
    with Journal(path, create=False) as journal:
        in_flight = {int(kind.split()[1]) for _, kind in journal.marks()
                     if kind.startswith("running ")}
    assert in_flight
    subprocess.run(command, env=ENV, check=True, timeout=120)
    rows = Journal(path, create=False).evaluations()
    assert len(rows) == 8 and all(r.status == "ok" for r in rows)
    assert {r.index for r in rows if r.deaths} == in_flight
    assert all(r.deaths == 1 for r in rows if r.index in in_flight)


@pytest.mark.slow
def test_the_hard_time_limit_holds_for_each_rung_of_a_scheduled_search(space, tmp_path):
    """A rung stuck past eval_timeout is recorded failed (not retried) and its worker
    replaced; the other candidates' rungs go on."""
    from fault_helpers import HangsAtRung

    from darchlang.search import run_search

    path = tmp_path / "t.db"
    began = time.monotonic()
    result = run_search(space, make_searcher("random", space, seed=2), HangsAtRung(0.4, 0), 6,
                        path, scheduler=make_scheduler("asha", max_epochs=9, eta=3),
                        eval_timeout=1.5, progress=False)
    assert time.monotonic() - began < 60 and result.done == 6
    rows = [r for r in Journal(path, create=False).evaluations() if r.reused is None]
    stuck = [r for r in rows if kills(0.4, r.identity)]
    assert stuck and len(stuck) < len(rows)
    for r in rows:
        if r in stuck:
            assert r.status == "failed" and r.attempts == 1 and r.deaths == 0
            assert r.reason.startswith("the evaluation took longer than 1.5 s")
        else:
            assert r.status == "ok"
    with Journal(path, create=False) as journal:
        assert not [kind for _, kind in journal.marks() if kind.startswith("running ")]
