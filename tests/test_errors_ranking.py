"""Which spelling a "did you mean" offers, and how an error with a second place reads:
quick, in-process checks of `darchlang.errors` (the CLI's are in test_first_hour.py)."""

from __future__ import annotations

import dataclasses

import pytest

from darchlang.errors import DarchError, Source, Span, closest
from darchlang.train.settings import Settings

SETTINGS = [f.name for f in dataclasses.fields(Settings)]


@pytest.mark.parametrize(("typed", "meant"), [
    ("learning_rate", "learning_rate_init"),  # the start of two: the first listed, not the shortest
    ("max_epoch", "max_epochs"), ("time_minutes", "time_minutes_max"),
    ("MAX_EPOCHS", "max_epochs"), ("weight_decy", "weight_decay"), ("lr", "learning_rate_init"),
    ("zzz", None), ("", None),
])
def test_the_likely_setting(typed, meant):
    assert closest(typed, SETTINGS) == meant


def test_ties_go_to_the_first_given_and_sets_are_taken_sorted():
    assert closest("conv", ["conv1d", "conv2d"]) == "conv2d"  # what a PyTorch user means
    assert closest("pool", ["pool_b", "pool_a"]) == "pool_b"
    assert closest("pool", {"pool_b", "pool_a"}) == "pool_a"
    assert closest("linear", ["dense"]) is None  # an alias only where its target is known
    assert closest("abc", ["abc"]) is None  # the name itself is no suggestion


def test_an_error_at_a_call_shows_the_calls_and_the_layer_with_one_gutter():
    text = "\n" * 8 + "def f(w) = conv2d(filters: w)\n" + "space = f(3)\n"
    src = Source("t.darch", text)
    layer = Span(src, 9, 12, 9, 30)
    call = Span(src, 10, 9, 10, 13)
    err = DarchError("it breaks", layer, help="fix it", notes=["a note"])
    moved = err.at_call_site([("f", call)])
    assert moved.render().splitlines() == [
        "t.darch:10:9: error: it breaks",
        "   |",
        "10 | space = f(3)",
        "   |         ^^^^",
        "t.darch:9:12: note: the layer is written here, in `f`",
        "   |",
        " 9 | def f(w) = conv2d(filters: w)",
        "   |            ^^^^^^^^^^^^^^^^^^",
        "  = note: a note",
        "  = help: fix it",
    ]
    assert err.at_call_site([]) is err
    assert moved.to_json()["related"] == [
        {"message": "the layer is written here, in `f`", "file": "t.darch", "line": 9, "col": 12}]
