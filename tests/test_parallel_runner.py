"""The parallel runner on fixed-cost evaluators in worker processes: slots stay busy,
results arrive out of order, the journal is complete; workers that die cost only their
own evaluation; 500 near-instant evaluations on 8 workers lose or double nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from parallel_helpers import DiesOnce, FixedCost, instant
from search_spaces import MEDIUM

import darchlang
from darchlang.search import Journal, make_searcher, run_search


@pytest.fixture(scope="module")
def space():
    return darchlang.load_string(MEDIUM).space


def busy_share(rows, slots: int) -> float:
    """The share of the search's span during which `slots` evaluations were running."""
    edges = sorted([(r.started, 1) for r in rows] + [(r.finished, -1) for r in rows])
    running, full, last = 0, 0.0, edges[0][0]
    for t, step in edges:
        if running >= slots:
            full += t - last
        running, last = running + step, t
    return full / (edges[-1][0] - edges[0][0])


@pytest.mark.slow
def test_two_workers_stay_busy_and_answer_out_of_order(space, tmp_path):
    path = tmp_path / "two.db"
    searcher = make_searcher("random", space, seed=3)
    result = run_search(space, searcher, FixedCost(0.15, spread=1.0), budget=12,
                        journal=path, workers=2)
    assert result.done == 12
    with Journal(path, create=False) as journal:
        rows = journal.evaluations()
        told = [e.index for e in journal.finished()]
    assert [r.index for r in rows] == list(range(12))
    assert all(r.status == "ok" and r.attempts == 1 and r.told_at is not None for r in rows)
    assert sorted(told) == list(range(12)) and told != list(range(12))  # out of order
    assert busy_share(rows, 2) > 0.75, "both slots should be busy nearly all the time"


@pytest.mark.parametrize("how, says", [("sigkill", "killed by SIGKILL"),
                                       ("exit", "exited with code 3")])
@pytest.mark.slow
def test_a_dead_worker_costs_only_its_own_evaluation(space, tmp_path, how, says):
    marker = tmp_path / "died"
    path = tmp_path / "dies.db"
    result = run_search(space, make_searcher("random", space, seed=1),
                        DiesOnce(str(marker), how), budget=10, journal=path, workers=2,
                        retries=0)
    assert result.done == 10
    rows = Journal(path, create=False).evaluations()
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) == 1 and says in failed[0].reason
    assert failed[0].identity == marker.read_text()
    assert sum(r.status == "ok" for r in rows) == 9


@pytest.mark.slow
def test_a_dead_worker_is_retried(space, tmp_path):
    marker = tmp_path / "died"
    path = tmp_path / "retry.db"
    result = run_search(space, make_searcher("random", space, seed=1),
                        DiesOnce(str(marker)), budget=6, journal=path, workers=2, retries=1)
    assert result.done == 6 and result.failed == 0
    rows = Journal(path, create=False).evaluations()
    retried = [r for r in rows if r.attempts == 2]
    assert len(retried) == 1 and retried[0].identity == marker.read_text()


@pytest.mark.slow
def test_a_dead_worker_in_a_plain_process_pool(space, tmp_path):
    """Any `ProcessPoolExecutor` works; when one of its workers dies it is replaced."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    marker = tmp_path / "died"
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        result = run_search(space, make_searcher("random", space, seed=2),
                            DiesOnce(str(marker), seconds=0.0), budget=5, executor=pool,
                            retries=0)
    finally:
        pool.shutdown()
    assert result.done == 5 and result.failed == 1
    assert "terminated abruptly" in [e for e in result.evaluations if not e.ok][0].reason


@pytest.mark.slow
def test_stress_eight_workers_500_evaluations(space, tmp_path):
    path = tmp_path / "stress.db"
    result = run_search(space, make_searcher("random", space, seed=0), instant,
                        budget=500, journal=path, workers=8)
    assert result.done == 500
    with Journal(path, create=False) as journal:
        rows = journal.evaluations()
    assert [r.index for r in rows] == list(range(500))
    assert all(r.done for r in rows)
    events = [r.asked_at for r in rows] + [r.told_at for r in rows]
    assert len(set(events)) == 1000  # every ask and every result numbered once


def test_an_evaluator_that_cannot_travel_is_refused_up_front(space):
    from darchlang.errors import DarchError

    with pytest.raises(DarchError, match="cannot be sent to worker processes"):
        run_search(space, make_searcher("random", space, seed=0), lambda arch: 1.0,
                   budget=2, workers=2)


@pytest.mark.slow
def test_twins_wait_for_the_one_in_flight(tmp_path):
    """Random search on a tiny space asks for the same architecture while it runs: the
    twin takes its result instead of running too."""
    space = darchlang.load_string("space = conv2d(filters: one_of(8, 16), size: 3)").space
    log = tmp_path / "started.log"
    result = run_search(space, make_searcher("random", space, seed=0),
                        FixedCost(0.1, log=str(log)), budget=8, workers=2)
    assert result.done == 8
    started = [line.split()[1] for line in Path(log).read_text().splitlines()]
    assert sorted(started) == sorted(set(started))  # nothing trained twice
    assert sum(e.reused is not None for e in result.evaluations) == 8 - len(started)


@pytest.mark.slow
def test_the_command_line_imports_the_evaluator_in_each_worker(tmp_path, capsys):
    from darchlang.cli import main

    program = tmp_path / "space.darch"
    program.write_text(MEDIUM)
    path = tmp_path / "cli.db"
    assert main(["search", str(program), "--evaluator", "parallel_helpers:instant",
                 "--searcher", "random", "--budget", "10", "--workers", "2", "--retries", "1",
                 "--journal", str(path), "--seed", "0"]) == 0
    assert "10 evaluations (0 failed), seed 0" in capsys.readouterr().out
    assert len(Journal(path, create=False).evaluations()) == 10


@pytest.mark.parametrize("flags, says", [
    (["--workers", "0"], "--workers must be at least 1"),
    (["--retries", "-1"], "--retries must be at least 0"),
    (["--cpus-per-eval", "2"], "--cpus-per-eval needs --executor ray"),
])
def test_parallel_flags_are_checked(tmp_path, capsys, flags, says):
    from darchlang.cli import main

    program = tmp_path / "space.darch"
    program.write_text(MEDIUM)
    assert main(["search", str(program), "--synthetic", "1", *flags]) != 0
    assert says in capsys.readouterr().err
