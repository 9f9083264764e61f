"""Schedulers: the rules of each, and scheduled searches end to end (rungs recorded
with their curves, promotions continuing from checkpoints, checkpoints removed)."""

from __future__ import annotations

import math

import optuna
import pytest
from search_spaces import MEDIUM

import darchlang
from darchlang.environment import builtin_environment
from darchlang.errors import DarchError
from darchlang.search import Journal, make_searcher, run_search
from darchlang.search.schedulers import (
    ASHA,
    STOP,
    Hyperband,
    MedianStopping,
    RungResult,
    Scheduler,
    SuccessiveHalving,
    make_scheduler,
    rung_epochs,
)
from darchlang.search.synthetic import NKCurves, NKObjective


@pytest.fixture(scope="module")
def space():
    return darchlang.load_string(MEDIUM).space


def test_rungs_grow_by_eta_up_to_max():
    assert rung_epochs(1, 9, 3) == [1, 3, 9]
    assert rung_epochs(1, 10, 3) == [1, 3, 9, 10]
    assert rung_epochs(2, 16, 2) == [2, 4, 8, 16]
    assert rung_epochs(5, 5, 3) == [5]
    with pytest.raises(DarchError, match="--eta must be at least 2"):
        ASHA(eta=1)
    with pytest.raises(DarchError, match="--max-epochs"):
        ASHA(min_epochs=4, max_epochs=2)


def test_asha_continues_unless_below_the_quantile_of_earlier_results():
    asha = ASHA(min_epochs=1, max_epochs=9, eta=3)
    decide = [asha.record(RungResult(i, 0, v))[0] for i, v in enumerate([0.5, 0.4, 0.6, 0.45])]
    # 0.5 is first (goes on); 0.4 < 0.5; 0.6 >= the 2/3 quantile of [0.5, 0.4]; 0.45 < it.
    assert decide == [(0, 1), (1, STOP), (2, 1), (3, STOP)]
    assert asha.record(RungResult(0, 2, 0.9)) == [(0, STOP)]  # the top rung settles
    assert asha.record(RungResult(5, 0, None)) == [(5, STOP)]  # a failure too


def test_halving_promotes_the_best_third_once_a_rung_is_complete():
    sh = SuccessiveHalving(min_epochs=1, max_epochs=9, eta=3)
    assert [sh.admit(i) for i in range(9)] == [0] * 9 and not sh.can_admit()
    decisions = []
    for i in range(9):
        decisions += sh.record(RungResult(i, 0, i / 10))
    assert sorted(d for d in decisions if d[1] != STOP) == [(6, 1), (7, 1), (8, 1)]
    assert sorted(i for i, d in decisions if d == STOP) == list(range(6))
    out = sh.record(RungResult(6, 1, 0.9)) + sh.record(RungResult(7, 1, 0.1))
    assert out == [] and sh.record(RungResult(8, 1, 0.5)) == [(6, 2), (8, STOP), (7, STOP)]
    assert sh.record(RungResult(6, 2, 0.95)) == [(6, STOP)]
    assert sh.can_admit() and sh.admit(9) == 0  # the next bracket


def test_a_bracket_cut_short_by_the_budget_still_promotes():
    sh = SuccessiveHalving(min_epochs=1, max_epochs=9, eta=3)
    for i in range(4):
        sh.admit(i)
        assert sh.record(RungResult(i, 0, i / 10)) == []
    assert sh.truncate() == [(3, 1), (2, STOP), (1, STOP), (0, STOP)]
    assert sh.truncate() is None


def test_hyperband_brackets():
    hb = Hyperband(min_epochs=1, max_epochs=9, eta=3)
    plan = hb.brackets()
    assert [next(plan) for _ in range(4)] == [(9, 0), (5, 1), (3, 2), (9, 0)]


def test_median_stopping_is_optunas_median_pruner():
    curves = [[0.1 * i + 0.02 * s for s in range(1, 6)] for i in range(7)]
    probe = [0.05, 0.1, 0.2, 0.9, 0.95]
    median = MedianStopping(min_epochs=2, max_epochs=5)
    for i, c in enumerate(curves):
        median.record(RungResult(i, 0, max(c), curve=tuple(enumerate(c, 1))))
    thresholds = median.stop_below(99, 0)

    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5,
                                                                   n_warmup_steps=2))
    for c in curves:
        trial = study.ask()
        for step, value in enumerate(c, 1):
            trial.report(value, step)
        study.tell(trial, max(c))
    trial = study.ask()
    theirs, ours = [], []
    best = -math.inf
    for step, value in enumerate(probe, 1):
        trial.report(value, step)
        theirs.append(trial.should_prune())
        best = max(best, value)
        ours.append(step in thresholds and best < thresholds[step])
    assert ours == theirs and any(ours) and not all(ours)


@pytest.mark.parametrize("name", ["median", "halving", "hyperband", "asha"])
@pytest.mark.parametrize("searcher", ["random", "tpe"])
def test_scheduled_search_end_to_end(space, tmp_path, name, searcher):
    path = tmp_path / "run.db"
    curves = NKCurves(space, k=1, seed=3, epochs=9)
    scheduler = make_scheduler(name, min_epochs=1, max_epochs=9, eta=3)
    result = run_search(space, make_searcher(searcher, space, 1), curves, 20, path,
                        scheduler=scheduler)
    assert result.done == 20 and result.best is not None
    with Journal(path, create=False) as journal:
        rungs, curve_rows = journal.rung_results(), journal.curves()
        config = journal.config()
    assert config["scheduler"] == {"name": name, "min_epochs": 1, "max_epochs": 9, "eta": 3}
    fresh = [e for e in result.evaluations if e.reused is None]
    assert {r.index for r in rungs} == {e.index for e in fresh}
    epochs = 0
    for e in fresh:
        steps = [step for _, step, _, _ in curve_rows[e.index]]
        assert steps == list(range(steps[0], steps[-1] + 1))  # continued, never restarted
        assert e.metrics["curve"] == [[s, v] for _, s, v, _ in curve_rows[e.index]]
        assert e.metrics["epochs"] == steps[-1] or e.metrics["stopped"]
        assert e.score == pytest.approx(max(v for _, _, v, _ in curve_rows[e.index]))
        epochs += len(steps)
    assert epochs < 9 * len(fresh)  # cheaper than full training
    assert not (tmp_path / "run.db.checkpoints").exists()  # none left, nor their folder


def test_keep_checkpoints(space, tmp_path):
    curves = NKCurves(space, k=1, seed=3, epochs=9)
    run_search(space, make_searcher("random", space, 1), curves, 9, tmp_path / "k.db",
               scheduler=SuccessiveHalving(min_epochs=1, max_epochs=9, eta=3),
               keep_checkpoints=True)
    kept = sorted(p.name for p in (tmp_path / "k.db.checkpoints").iterdir())
    assert len(kept) == 9 + 3  # every rung below the top, of every candidate it reached


def test_an_evaluator_without_a_budget_is_refused(space):
    with pytest.raises(DarchError, match="takes no `budget`"):
        run_search(space, make_searcher("random", space, 1), NKObjective(space), 5,
                   scheduler="asha")


class EveryOther(Scheduler):
    """A plugin's scheduler: every candidate gets the first rung, every other one the
    second."""

    name = "every-other"

    def record(self, result):
        go = result.rung < self.top and result.index % 2 == 0 and result.can_go_on
        return [(result.index, result.rung + 1 if go else STOP)]


def test_a_plugin_adds_a_scheduler(space):
    env = builtin_environment()
    env.add_scheduler("every-other", EveryOther, origin="a test plugin")
    with pytest.raises(ValueError, match="already registered"):
        env.add_scheduler("asha", EveryOther, origin="a test plugin")
    scheduler = make_scheduler("every-other", env, min_epochs=2, max_epochs=4, eta=2)
    result = run_search(space, make_searcher("random", space, 1),
                        NKCurves(space, epochs=4), 6, scheduler=scheduler)
    reached = {e.index: e.metrics["epochs"] for e in result.evaluations}
    assert reached == {i: 4 if i % 2 == 0 else 2 for i in range(6)}


@pytest.mark.slow
def test_the_command_line_shows_rungs(tmp_path):
    import csv
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    journal = tmp_path / "hb.db"

    def darch(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], cwd=root,
                              capture_output=True, text=True, timeout=120)

    out = darch("search", "examples/cifar10_simple.darch", "--synthetic", "1", "--scheduler",
                "hyperband", "--max-epochs", "9", "--eta", "3", "--budget", "12", "--seed", "0",
                "--journal", str(journal), "--searcher", "tpe")
    assert out.returncode == 0, out.stderr
    assert "rung 2/3, 8 alive]" in out.stderr and "stopped after rung 1 (1 epoch)" in out.stderr
    out = darch("report", str(journal), "--csv", str(tmp_path / "hb.csv"))
    assert out.returncode == 0, out.stderr
    assert "scheduler    hyperband, epochs 1..9, eta 3" in out.stdout
    assert "  rung 1     9 ran, 3 promoted" in out.stdout
    rows = list(csv.DictReader(open(tmp_path / "hb.csv")))
    assert all(json.loads(r["curve"]) for r in rows if not r["reused"])
    data = json.loads(darch("report", str(journal), "--json").stdout)
    assert all(e["metrics"]["curve"] for e in data["evaluations"] if e["reused"] is None)
    out = darch("search", "examples/cifar10_simple.darch", "--synthetic", "1", "--scheduler",
                "asha", "--max-epochs", "9", "--budget", "12", "--journal", str(journal))
    assert out.returncode != 0 and "different search" in out.stderr  # another scheduler
