"""A broken evaluator stops the search: one that raises the same error for
`max_crashes` candidates in a row ends it with `stopped` saying what it raised, rather
than recording the rest of the budget as failures. Failures an evaluator reports
itself, different errors, and answers from the journal never count."""

from __future__ import annotations

import itertools

import pytest
from search_spaces import MEDIUM

import darchlang
from darchlang.errors import DarchError
from darchlang.search import make_searcher, run_search
from darchlang.train.result import EvalResult


@pytest.fixture(scope="module")
def space():
    return darchlang.load_string(MEDIUM).space


def search(space, evaluator, budget=40, **options):
    return run_search(space, make_searcher("random", space, 0), evaluator, budget,
                      progress=False, **options)


def test_the_same_error_five_times_in_a_row_stops_the_search(space):
    def typo(arch):
        raise NameError("name 'modle' is not defined")

    result = search(space, typo)
    assert result.done == 5
    assert result.stopped == ("the evaluator raised the same error for 5 candidates in a "
                              "row: NameError: name 'modle' is not defined")
    assert all("Traceback" in e.detail for e in result.evaluations)
    assert search(space, typo, max_crashes=2).done == 2


def test_failures_that_are_not_one_broken_evaluator_never_stop_it(space):
    calls = itertools.count()

    def different(arch):  # a new error each time: the architectures' fault, maybe
        raise RuntimeError(f"failure {next(calls)}")

    def reported(arch):  # the evaluator's own verdict, as the classifier gives it
        return EvalResult.failed("the loss became NaN")

    for evaluator in (different, reported):
        result = search(space, evaluator, budget=12)
        assert (result.done, result.stopped) == (12, None)


def test_a_success_between_errors_starts_the_count_again(space):
    calls = itertools.count()

    def flaky(arch):
        if next(calls) % 4 == 3:
            return 0.5
        raise OSError("the disk is full")

    result = search(space, flaky, budget=20)
    assert (result.done, result.stopped) == (20, None)


def test_after_the_fix_a_resumed_search_goes_on(space, tmp_path):
    journal = tmp_path / "j.db"

    def broken(arch):
        raise ImportError("No module named 'mymodel'")

    assert search(space, broken, journal=journal).stopped is not None
    result = search(space, lambda arch: 0.5, journal=journal, budget=12)
    assert result.stopped is None and result.done == 12
    assert sum(e.status == "failed" for e in result.evaluations) == 5


def test_max_crashes_must_be_positive(space):
    with pytest.raises(DarchError, match="max_crashes must be at least 1, got 0"):
        search(space, lambda arch: 0.5, max_crashes=0)


@pytest.mark.slow
def test_the_cli_ends_a_search_whose_evaluator_is_broken_with_its_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "brokeneval.py").write_text("def evaluate(arch):\n    return modle(arch)\n")
    program = Path(__file__).resolve().parents[1] / "examples" / "digits.darch"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-m", "darchlang.cli", "search", str(program), "--evaluator",
         "brokeneval:evaluate", "--budget", "20", "--journal", str(tmp_path / "b.db")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert ("error: the evaluator raised the same error for 5 candidates in a row: "
            "NameError: name 'modle' is not defined") in out.stderr
    assert 'brokeneval.py", line 2, in evaluate' in out.stderr  # its traceback, once
    assert out.stderr.count("Traceback (most recent call last)") == 1
