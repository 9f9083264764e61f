"""The learning-rate and stopping rules, driven by scripted validation accuracies."""

from __future__ import annotations

import pytest

from darchlang.train.schedule import LEARNING_RATE_MIN, STOP_PATIENCE, Schedule


def run(accuracies, **kw):
    schedule = Schedule(kw.pop("lr", 1.0), **kw)
    trace = []
    for acc in accuracies:
        v = schedule.observe(acc)
        trace.append((v.improved, v.learning_rate, v.rate_dropped, v.stop))
        if v.stop:
            break
    return trace


def test_rate_drops_every_rate_patience_and_stops_at_stop_patience():
    trace = run(
        [0.5, 0.6, 0.6, 0.55, 0.6, 0.6, 0.6, 0.6, 0.9],
        rate_patience=2, rate_mult=0.5, stop_patience=6, learning_rate_min=0.0,
    )
    assert trace == [
        (True, 1.0, False, None),   # first evaluation is always a new best
        (True, 1.0, False, None),
        (False, 1.0, False, None),  # equal is not better
        (False, 0.5, True, None),   # 2 without improvement: drop
        (False, 0.5, False, None),
        (False, 0.25, True, None),  # the rate count restarted after the drop
        (False, 0.25, False, None),
        (False, 0.25, False, STOP_PATIENCE),  # 6 without improvement: stop (0.9 never seen)
    ]


def test_improvement_restarts_both_counts():
    trace = run(
        [0.1, 0.1, 0.2, 0.2, 0.2, 0.2],
        rate_patience=2, rate_mult=0.1, stop_patience=3, learning_rate_min=0.0,
    )
    assert [t[1] for t in trace] == [1.0, 1.0, 1.0, 1.0, pytest.approx(0.1), pytest.approx(0.1)]
    assert [t[3] for t in trace] == [None, None, None, None, None, STOP_PATIENCE]
    assert trace[2][0] is True


def test_stops_when_a_drop_goes_below_the_minimum():
    trace = run(
        [0.3, 0.2, 0.2, 0.2, 0.2],
        lr=1e-3, rate_patience=1, rate_mult=0.1, stop_patience=100, learning_rate_min=2e-5,
    )
    assert [t[3] for t in trace] == [None, None, LEARNING_RATE_MIN]
    assert trace[-1][1] == pytest.approx(1e-5) and trace[-1][2] is True


def test_schedule_remembers_the_best():
    s = Schedule(1.0, rate_patience=5, rate_mult=0.5, stop_patience=5, learning_rate_min=0)
    for acc in [0.2, 0.7, 0.4]:
        s.observe(acc)
    assert (s.best, s.best_evaluation, s.evaluations, s.since_best) == (0.7, 2, 3, 1)
