"""The journal and the runner: resume rebuilds every searcher exactly, failures are
recorded and counted, repeats are not trained again, a journal refuses a different
search, and the results export as CSV, JSON and a plot."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from search_spaces import MEDIUM, SMALL

import darchlang
from darchlang.errors import DarchError
from darchlang.report.plots import history, save
from darchlang.search import Journal, SearchSession, make_searcher, run_search
from darchlang.search.results import choice_stats, csv_text, report_json
from darchlang.search.synthetic import NKObjective
from darchlang.train.result import EvalResult

ALL = ["random", "uniform", "grid", "evolution", "mcts", "smbo", "tpe"]
FAST = {"smbo": {"candidates": 32, "trees": 5, "startup": 4}, "tpe": {"startup": 4},
        "evolution": {"population": 4, "sample": 2}}


@pytest.fixture(scope="module")
def medium():
    return darchlang.load_string(MEDIUM).space


@pytest.fixture(scope="module")
def small():
    return darchlang.load_string(SMALL).space


def searcher(name, space, seed=0):
    return make_searcher(name, space, seed, **FAST.get(name, {}))


def decisions_of(path):
    with Journal(path) as journal:
        return [tuple(e.decisions) for e in journal.evaluations()]


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_a_resumed_search_continues_exactly_as_an_uninterrupted_one(tmp_path, medium, name):
    objective = NKObjective(medium, k=1, seed=3)
    whole = run_search(medium, searcher(name, medium), objective, 24, tmp_path / "whole.db")
    split = tmp_path / "split.db"
    first = run_search(medium, searcher(name, medium), objective, 10, split)
    assert first.done == 10
    second = run_search(medium, searcher(name, medium), objective, 24, split)
    assert second.done == 24
    assert decisions_of(split) == decisions_of(tmp_path / "whole.db")
    assert [e.score for e in second.evaluations] == [e.score for e in whole.evaluations]


def test_rerunning_a_finished_search_evaluates_nothing(tmp_path, medium):
    objective = NKObjective(medium, k=1, seed=3)
    run_search(medium, searcher("evolution", medium), objective, 8, tmp_path / "j.db")
    calls = []
    again = run_search(medium, searcher("evolution", medium),
                       lambda a: calls.append(a) or 0.0, 8, tmp_path / "j.db")
    assert calls == [] and again.done == 8


class Interrupt:
    """An evaluator that is interrupted (Ctrl-C) at its n-th call."""

    def __init__(self, objective, at):
        self.objective, self.at, self.calls = objective, at, 0

    def __call__(self, arch):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.objective(arch)


def test_ctrl_c_leaves_the_journal_consistent_and_the_evaluation_runs_again(tmp_path, medium):
    objective = NKObjective(medium, k=1, seed=4)
    path = tmp_path / "j.db"
    with pytest.raises(KeyboardInterrupt):
        run_search(medium, searcher("tpe", medium), Interrupt(objective, 6), 12, path)
    with Journal(path) as journal:
        rows = journal.evaluations()
    assert [r.status for r in rows] == ["ok"] * 5 + ["interrupted"]
    run_search(medium, searcher("tpe", medium), objective, 12, path)
    with Journal(path) as journal:
        rows = journal.evaluations()
    assert [r.index for r in rows] == list(range(12))
    assert all(r.status == "ok" for r in rows)
    assert rows[5].attempts == 2  # run again, not asked again
    whole = run_search(medium, searcher("tpe", medium), objective, 12, tmp_path / "whole.db")
    assert decisions_of(path) == [tuple(e.decisions) for e in
                                  sorted(whole.evaluations, key=lambda e: e.index)]


def test_failures_are_recorded_with_their_reason_and_counted(tmp_path, medium):
    def evaluate(arch):
        kind = arch.decisions[0] % 4
        if kind == 0:
            raise ValueError("shapes do not match")
        if kind == 1:
            return EvalResult.failed("loss became NaN at epoch 3", metrics={"epochs": 3})
        if kind == 2:
            return float("nan")
        return EvalResult("ok", 0.5, metrics={"epochs": 7})

    result = run_search(medium, searcher("random", medium), evaluate, 40, tmp_path / "j.db")
    assert result.done == 40
    reasons = {e.reason for e in result.evaluations if not e.ok}
    assert reasons == {
        "ValueError: shapes do not match",
        "loss became NaN at epoch 3",
        "the evaluator's score is nan, not a finite number",
    }
    raised = [e for e in result.evaluations if e.reason and e.reason.startswith("ValueError")]
    assert "Traceback" in raised[0].detail and "shapes do not match" in raised[0].detail
    assert all(e.ok == (e.decisions[0] % 4 == 3) for e in result.evaluations)
    assert result.best.score == 0.5


def test_a_repeated_architecture_is_not_trained_again(tmp_path, small):
    trained = []

    def evaluate(arch):
        trained.append(arch.identity)
        return len(trained) / 100

    result = run_search(small, searcher("random", small), evaluate, 30, tmp_path / "j.db")
    assert result.done == 30
    assert len(trained) == len(set(trained)) == len({e.identity for e in result.evaluations})
    reused = [e for e in result.evaluations if e.reused is not None]
    assert len(reused) == 30 - len(trained)
    with Journal(tmp_path / "j.db") as journal:
        for e in reused:
            original = journal.get(e.reused)
            assert (original.identity, original.score) == (e.identity, e.score)
            assert original.reused is None


def test_a_journal_refuses_a_different_search(tmp_path, medium, small):
    path = tmp_path / "j.db"
    objective = NKObjective(medium, k=1, seed=0)
    run_search(medium, searcher("evolution", medium, 1), objective, 3, path,
               settings={"dataset": "digits"})
    cases = [
        (medium, searcher("tpe", medium, 1), {"dataset": "digits"}, "searcher"),
        (medium, searcher("evolution", medium, 2), {"dataset": "digits"}, "seed"),
        (medium, searcher("evolution", medium, 1), {"dataset": "cifar10"}, "settings"),
        (small, searcher("evolution", small, 1), {"dataset": "digits"}, "space"),
    ]
    for space, other, settings, key in cases:
        with pytest.raises(DarchError) as err:
            run_search(space, other, objective, 5, path, settings=settings)
        assert err.value.message == f"the journal {path} was written by a different search"
        assert [n.split(":")[0] for n in err.value.notes] == [key]


def test_a_change_outside_the_choices_is_caught_by_replaying(tmp_path):
    before = darchlang.load_string(SMALL).space
    after = darchlang.load_string(SMALL.replace("affine(units: 10)", "affine(units: 12)")).space
    path = tmp_path / "j.db"
    run_search(before, searcher("random", before), lambda a: 0.5, 3, path)
    with pytest.raises(DarchError, match="the space has changed since the journal"):
        run_search(after, searcher("random", after), lambda a: 0.5, 5, path)


def test_two_searches_cannot_write_one_journal(tmp_path, small):
    path = tmp_path / "j.db"
    holder = Journal(path)
    holder.acquire()
    try:
        with pytest.raises(DarchError, match="is in use by another search"):
            run_search(small, searcher("random", small), lambda a: 0.5, 3, path)
    finally:
        holder.close()
    assert run_search(small, searcher("random", small), lambda a: 0.5, 3, path).done == 3


def test_not_a_journal(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("hello, not a database")
    with pytest.raises(DarchError, match="is not a darchlang journal"):
        Journal(bad)
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE x (y)")
    connection.commit()
    connection.close()
    for create in (False, True):
        with pytest.raises(DarchError, match="is not a darchlang journal"):
            Journal(other, create=create)
    with pytest.raises(DarchError, match="no journal at"):
        Journal(tmp_path / "missing.db", create=False)
    for create in (False, True):  # a folder: was sqlite3.OperationalError
        with pytest.raises(DarchError, match="is a folder, not a journal"):
            Journal(tmp_path, create=create)


def test_exports_to_an_unwritable_place_are_errors(tmp_path, small):
    result = run_search(small, searcher("grid", small), lambda a: 1.0, 2)
    with pytest.raises(DarchError, match="cannot write the CSV to"):
        result.to_csv(tmp_path)
    with pytest.raises(DarchError, match="cannot write the plot to"):
        save(history(result.evaluations), tmp_path)
    # no extension: the file asked for is written (matplotlib used to add ".png")
    assert save(history(result.evaluations), tmp_path / "scores").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "scores.png").exists()


def test_evaluator_objects_and_plain_functions_both_work(medium):
    class Evaluator:
        def evaluate(self, arch):
            return EvalResult("ok", 0.25, metrics={"params": 1000})

    assert run_search(medium, searcher("random", medium), Evaluator(), 2).best.score == 0.25
    assert run_search(medium, searcher("random", medium), lambda a: 3, 2).best.score == 3.0
    odd = run_search(medium, searcher("random", medium), lambda a: "great", 1)
    assert odd.evaluations[0].reason == "the evaluator returned str; expected an EvalResult or a number"


def test_progress_hears_every_evaluation(medium):
    events = []
    run_search(medium, searcher("evolution", medium), NKObjective(medium), 5,
               progress=events.append)
    kinds = [e.kind for e in events]
    assert kinds == ["resumed"] + ["started", "finished"] * 5
    finished = [e for e in events if e.kind == "finished"]
    assert [e.done for e in finished] == [1, 2, 3, 4, 5]
    assert finished[-1].best.score == max(e.evaluation.score for e in finished)


def test_exports(tmp_path, small):
    result = run_search(small, searcher("grid", small), lambda a: EvalResult(
        "ok", a.decisions[0] / 10, metrics={"params": 10 * len(a.decisions), "curve": [1, 2]}),
        10, tmp_path / "j.db")
    path = tmp_path / "out.csv"
    result.to_csv(path)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    assert rows[0]["status"] == "ok" and json.loads(rows[0]["decisions"]) == [0]
    assert "choice:space/0/or1/0/conv2d/filters" in rows[0]
    assert "metric:params" in rows[0] and "metric:curve" not in rows[0]  # scalars only
    # sub-space options by their labels, as the report's tables show them
    assert csv_text(result.evaluations, labels=result.labels) == path.read_bytes().decode()
    assert "option 1" in csv_text(result.evaluations) and "option 1" not in path.read_text()
    data = json.loads(json.dumps(result.to_json()))
    assert data["summary"]["done"] == 10 and data["summary"]["best_score"] == 0.1
    assert data["best"][0]["text"] == result.best.text
    assert len(data["evaluations"]) == 10
    png = save(history(result.evaluations), tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_choice_statistics_say_which_options_did_best(small):
    result = run_search(small, searcher("grid", small),
                        lambda a: a.choices().get("space/0/or1/0/conv2d/filters", 0) / 32, 10)
    stats = {c.name: c for c in choice_stats(result.evaluations)}
    filters = stats["space/0/or1/0/conv2d/filters"]
    assert [o.value for o in filters.options] == [8, 16, 32]
    assert filters.leader.value == 32 and filters.leader.mean == 1.0
    assert [o.count for o in filters.options] == [3, 3, 3]
    fork = stats["space/0"]
    assert fork.leader.index == 1
    labels = {"space/0": ["conv2d", "concat [conv2d, relu]"]}
    named = {c.name: c for c in choice_stats(result.evaluations, labels)}
    assert [o.value for o in named["space/0"].options] == ["conv2d", "concat [conv2d, relu]"]
    report = report_json(result.evaluations, labels=labels)
    assert report["choices"][0]["name"] == "space/0"


@pytest.mark.parametrize("name", ["evolution", "mcts", "smbo", "tpe"])
def test_sessions_take_results_out_of_order_and_resume_mid_flight(tmp_path, medium, name):
    """What a parallel runner does: several candidates in flight, results in any order,
    killed with some still running; the resumed session reruns those first and its
    searcher continues exactly where the first one was."""
    objective = NKObjective(medium, k=1, seed=6)
    path = tmp_path / "j.db"
    first = SearchSession(medium, searcher(name, medium), 20, path)
    for _ in range(4):  # rounds of three in flight, finished newest first
        batch = [first.next() for _ in range(3)]
        for candidate in reversed(batch):
            first.finish(candidate, EvalResult("ok", objective(candidate.arch)))
    left = [first.next() for _ in range(3)]
    first.finish(left[1], EvalResult("ok", objective(left[1].arch)))
    # the "kill": left[0] and left[2] never finish
    first.close()

    second = SearchSession(medium, searcher(name, medium), 20, path)
    assert second.done == 13
    rerun = [second.next(), second.next()]
    assert [c.index for c in rerun] == [left[0].index, left[2].index]
    assert [c.decisions for c in rerun] == [left[0].decisions, left[2].decisions]
    for candidate in rerun:
        second.finish(candidate, EvalResult("ok", objective(candidate.arch)))
    # The searcher rebuilt from the journal is the original one: told the same two
    # results, the original proposes the same next candidate.
    for candidate in (left[0], left[2]):
        first.searcher.tell(candidate, EvalResult("ok", objective(candidate.arch)))
    resumed, original = second.next(), first.searcher.ask()
    assert resumed.index == original.index == 15
    assert resumed.decisions == original.decisions
    second.close()
    with Journal(path) as journal:
        rows = journal.evaluations()
    assert [r.index for r in rows] == list(range(16))
    assert sum(r.done for r in rows) == 15 and rows[15].status == "running"
    assert rows[left[0].index].attempts == 2


def test_a_session_never_exceeds_its_budget_with_candidates_in_flight(medium):
    session = SearchSession(medium, searcher("random", medium), 5)
    flying = [session.next() for _ in range(5)]
    assert None not in flying
    assert session.next() is None  # 5 in flight cover the budget
    session.finish(flying[0], EvalResult.failed("out of memory"))
    assert session.next() is None  # a failure counts too
    for candidate in flying[1:]:
        session.finish(candidate, EvalResult("ok", 0.1))
    result = session.result()
    assert (result.done, result.failed) == (5, 1)
    session.close()
