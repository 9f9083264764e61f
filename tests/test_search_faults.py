"""Search faults (issue 16.5): evaluations that end their process are counted across
resumes and given up after `retries`; one worker's death never fails a healthy
evaluation; a hard time limit kills a stuck worker; running rows carry heartbeats; a
synchronous search killed mid-batch resumes to the uninterrupted decisions; a journal
of the previous format is migrated."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from fault_helpers import Hangs, KillsSome, kills
from parallel_helpers import FixedCost
from search_spaces import MEDIUM

import darchlang
from darchlang.search import Journal, make_searcher, run_search
from darchlang.train.result import EvalResult

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}


@pytest.fixture(scope="module")
def space():
    return darchlang.load_string(MEDIUM).space


@pytest.mark.slow
@pytest.mark.parametrize("retries", [0, 2])
def test_a_dying_evaluation_never_fails_a_healthy_one(space, tmp_path, retries):
    """Two workers, an evaluator that ends its process on about a third of the
    architectures: every healthy evaluation runs once and succeeds; each deadly one
    runs retries+1 times, then is recorded failed with how its process ended."""
    log = tmp_path / "started.log"
    result = run_search(space, make_searcher("random", space, seed=2),
                        KillsSome(0.35, str(log)), budget=12, journal=tmp_path / "k.db",
                        workers=2, retries=retries)
    assert result.done == 12
    rows = [r for r in Journal(tmp_path / "k.db", create=False).evaluations() if r.reused is None]
    deadly = [r for r in rows if kills(0.35, r.identity)]
    healthy = [r for r in rows if not kills(0.35, r.identity)]
    assert deadly and healthy
    assert all(r.status == "ok" and r.attempts == 1 and r.deaths == 0 for r in healthy)
    for r in deadly:
        assert r.status == "failed" and r.deaths == retries + 1 == r.attempts
        assert "exited with code 9" in r.reason
        if retries:
            assert r.reason.startswith(f"the evaluation ended its process {retries + 1} times: ")
    starts = Counter(line.split()[1] for line in log.read_text().splitlines())
    assert all(starts[r.identity] == 1 for r in healthy)


SEQUENTIAL = '''
import sys
import darchlang
from fault_helpers import KillsSome
from darchlang.search import make_searcher, run_search

space = darchlang.load_string(open(sys.argv[1]).read()).space
run_search(space, make_searcher("random", space, 0), KillsSome(0.2, sys.argv[3]), 6,
           sys.argv[2])
'''


@pytest.mark.slow
def test_an_evaluation_that_kills_the_search_is_given_up_after_the_retries(tmp_path):
    """In one process, an evaluation that ends it ends the whole search: each resume
    counts one more death, and after two retries it is recorded failed, not rerun."""
    space_file, script = tmp_path / "space.darch", tmp_path / "search.py"
    space_file.write_text(MEDIUM)
    script.write_text(SEQUENTIAL)
    path, log = tmp_path / "seq.db", tmp_path / "started.log"
    runs = []
    for _ in range(20):
        runs.append(subprocess.run([sys.executable, str(script), str(space_file), str(path),
                                    str(log)], env=ENV, timeout=120).returncode)
        if runs[-1] == 0:
            break
    rows = Journal(path, create=False).evaluations()
    deadly = [r for r in rows if kills(0.2, r.identity) and r.reused is None]
    assert runs[-1] == 0 and runs.count(9) == 3 * len(deadly) >= 3
    assert len(rows) == 6 and all(r.done for r in rows)
    for r in deadly:
        assert r.status == "failed" and r.deaths == 3
        assert r.reason.startswith("the evaluation ended its process 3 times: the search stopped")
    starts = Counter(line.split()[1] for line in log.read_text().splitlines())
    assert all(starts[r.identity] == 3 for r in deadly)


def test_interrupted_rows_are_not_deaths(space, tmp_path):
    """Ctrl-C marks a row interrupted: rerunning it counts an attempt, not a death."""
    path = tmp_path / "i.db"
    with Journal(path) as journal:
        arch = space.sample(0)
        journal.start(0, arch)
        journal.interrupt(0)
    run_search(space, make_searcher("random", space, seed=0), lambda a: 0.5, 1, path,
               retries=0)
    row = Journal(path, create=False).get(0)
    assert row.status == "ok" and row.attempts == 2 and row.deaths == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [None, 2])
def test_the_hard_time_limit_kills_a_stuck_worker(space, tmp_path, workers):
    """A stuck evaluation is failed after eval_timeout, its worker replaced, and the
    search goes on (one worker or several; a plain callable evaluator)."""
    path = tmp_path / "t.db"
    began = time.monotonic()
    result = run_search(space, make_searcher("random", space, seed=5), Hangs(0.3),
                        budget=8, journal=path, workers=workers, eval_timeout=1.5)
    assert time.monotonic() - began < 60
    assert result.done == 8
    rows = [r for r in Journal(path, create=False).evaluations() if r.reused is None]
    stuck = [r for r in rows if kills(0.3, r.identity)]
    assert stuck and len(stuck) < len(rows)
    for r in rows:
        if r in stuck:
            assert r.status == "failed" and r.attempts == 1
            assert r.reason.startswith("the evaluation took longer than 1.5 s")
            assert 1.5 <= r.seconds < 10
        else:
            assert r.status == "ok"


@pytest.mark.slow
def test_eval_timeout_from_the_command_line(tmp_path):
    program = tmp_path / "space.darch"
    program.write_text(MEDIUM)
    out = subprocess.run(
        [sys.executable, "-m", "darchlang.cli", "search", str(program), "--evaluator",
         "fault_helpers:HANGS", "--searcher", "random", "--seed", "5", "--budget", "8",
         "--eval-timeout", "1", "--json"], env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["evaluations"]
    reasons = {r["reason"] for r in rows if r["status"] == "failed"}
    assert reasons and all(r.startswith("the evaluation took longer than 1 s") for r in reasons)
    assert any(r["status"] == "ok" for r in rows)


@pytest.mark.parametrize("flags, says", [
    (["--eval-timeout", "0"], "--eval-timeout must be a positive number of seconds"),
    (["--eval-timeout", "5", "--executor", "ray"], "--eval-timeout needs the local executor"),
])
def test_eval_timeout_flags_are_checked(tmp_path, capsys, flags, says):
    from darchlang.cli import main

    program = tmp_path / "space.darch"
    program.write_text(MEDIUM)
    assert main(["search", str(program), "--synthetic", "1", *flags]) != 0
    assert says in capsys.readouterr().err


def test_running_rows_carry_a_heartbeat(space, tmp_path):
    with Journal(tmp_path / "h.db") as journal:
        journal.start(0, space.sample(0), now=100.0)
        assert journal.get(0).heartbeat == 100.0
        journal.beat([0], now=130.0)
        assert journal.get(0).heartbeat == 130.0
        journal.restart(0, now=200.0, died=True)
        row = journal.get(0)
        assert (row.heartbeat, row.attempts, row.deaths) == (200.0, 2, 1)


def _format_one(path: Path) -> None:
    """Make `path` what the previous darchlang wrote: format 1, without the columns
    format 2 added."""
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE evaluations DROP COLUMN deaths")
        db.execute("ALTER TABLE evaluations DROP COLUMN heartbeat")
        db.execute("UPDATE meta SET value='1' WHERE key='format'")


def test_a_journal_of_the_previous_format_is_migrated_and_resumed(space, tmp_path):
    path = tmp_path / "old.db"
    first = run_search(space, make_searcher("random", space, seed=1), lambda a: 0.5, 3, path)
    _format_one(path)
    result = run_search(space, make_searcher("random", space, seed=1), lambda a: 0.5, 5, path)
    assert result.done == 5
    with Journal(path, create=False) as journal:
        assert journal.meta("format") == "2"
        rows = journal.evaluations()
    assert [r.identity for r in rows[:3]] == [e.identity for e in first.evaluations]
    assert all(r.deaths == 0 for r in rows)


def _report(path: Path, *flags: str) -> str:
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", "report", str(path), *flags],
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return " ".join(out.stdout.split())  # as one line: rich wraps to the terminal


@pytest.mark.slow
def test_report_tells_a_dead_searchs_running_rows_as_stale(space, tmp_path):
    """A row left `running` by a search that is gone is stale; while a search holds
    the journal, its running rows are not."""
    path = tmp_path / "s.db"
    with Journal(path) as journal:
        journal.acquire()
        journal.check_config({"searcher": "random"})
        journal.start(0, space.sample(0))
        journal.start(1, space.sample(1))
        journal.finish(1, EvalResult(status="ok", score=0.5))
        held = _report(path)
        assert "1 unfinished" in held and "stale" not in held
        assert json.loads(_report(path, "--json"))["stale"] == []
    gone = _report(path)
    assert "1 unfinished (1 stale: the search that ran them is gone)" in gone
    assert json.loads(_report(path, "--json"))["stale"] == [0]


SYNC = '''
import os
import sys
import darchlang
from parallel_helpers import FixedCost
from darchlang.search import make_searcher, run_search

def die_mid_batch(event):
    # the driver dies between two tells of one batch (7 of 9 told)
    if event.kind == "finished" and event.done == int(os.environ.get("DIE_AT", "-1")):
        os._exit(1)

if __name__ == "__main__":
    space = darchlang.load_string(open(sys.argv[1]).read()).space
    run_search(space, make_searcher("evolution", space, 5, population=4, sample=2),
               FixedCost(0.02), 15, sys.argv[2], workers=3, sync=True, progress=die_mid_batch)
'''


@pytest.mark.slow
def test_sync_killed_between_a_batchs_tells_resumes_to_the_same_decisions(space, tmp_path):
    space_file, script = tmp_path / "space.darch", tmp_path / "sync.py"
    space_file.write_text(MEDIUM)
    script.write_text(SYNC)
    path = tmp_path / "sync.db"
    command = [sys.executable, str(script), str(space_file), str(path)]
    assert subprocess.run(command, env={**ENV, "DIE_AT": "7"}, timeout=120).returncode == 1
    with Journal(path, create=False) as journal:
        untold = [r.index for r in journal.evaluations() if r.done and r.told_at is None]
    assert untold == [7, 8]  # the kill fell between the tells of one batch
    subprocess.run(command, env=ENV, check=True, timeout=120)
    rows = Journal(path, create=False).evaluations()
    whole = run_search(space, make_searcher("evolution", space, 5, population=4, sample=2),
                       FixedCost(0.0), 15, workers=3, sync=True)
    assert [r.decisions for r in rows] == [e.decisions for e in
                                           sorted(whole.evaluations, key=lambda e: e.index)]


@pytest.mark.slow
def test_the_driver_beats_the_heartbeat_of_running_rows(space, tmp_path, monkeypatch):
    import darchlang.search.parallel as parallel

    monkeypatch.setattr(parallel, "HEARTBEAT", 0.1)
    beats: list[tuple[float, float | None]] = []

    def watch(event):
        if event.kind == "finished" and event.evaluation.reused is None:
            row = event.evaluation
            beats.append((row.started, row.heartbeat))

    path = tmp_path / "beat.db"
    run_search(space, make_searcher("random", space, seed=0), FixedCost(0.6), budget=4,
               journal=path, workers=2, progress=watch)
    assert beats and all(h is not None and h >= s + 0.3 for s, h in beats)
