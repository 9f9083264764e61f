"""Generated programs over arithmetic, choices, ranges, strings and repeats raise
nothing but DarchError, through load, count, sample, print, JSON and replay, and
never run long (issue 16.1, 16.2: fix the class, not the examples)."""

import time

import pytest
from entry_points import every_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import darchlang
from darchlang import DarchError

darchlang.load_string("space = relu()")  # the parser, the prelude and the recursion limit, once

NAMES = ["a", "b", "c"]
NUMBERS = ["0", "1", "2", "3", "0.5", "-1", "62", "4096", "10**20", "2**62", "1e300",
           "99999999999999999999"]
LITERALS = [*NUMBERS, '"ab"', '""', "[]", "[1, 2]", "true"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "<", "and"]


@st.composite
def expr(draw, names=tuple(NAMES), depth=0, numeric=False):
    """An expression; `numeric` ones keep to numbers, so that more of them compute."""
    kinds = ["literal", "literal", "int"] + (["name", "name"] if names else [])
    if depth < 4:
        kinds += ["op", "op", "op", "neg", "one_of", "one_of", "math", "if"]
        kinds += [] if numeric else ["list", "range", "spaced", "repeat_str"]
    kind = draw(st.sampled_from(kinds))
    sub = expr(names, depth + 1, numeric)
    if kind == "literal":
        return draw(st.sampled_from(NUMBERS if numeric else LITERALS))
    if kind == "int":
        return str(draw(st.integers(0, 40)))
    if kind == "name":
        return draw(st.sampled_from(names))
    if kind == "op":
        return f"({draw(sub)} {draw(st.sampled_from(OPERATORS))} {draw(sub)})"
    if kind == "neg":
        return f"-({draw(sub)})"
    if kind == "one_of":
        return f"one_of({draw(sub)}, {draw(sub)})"
    if kind == "list":
        return f"[{draw(sub)}, {draw(sub)}]"
    if kind == "range":
        return f"range({draw(sub)}, {draw(sub)})"
    if kind == "spaced":
        return f"{draw(st.sampled_from(['linspace', 'logspace']))}({draw(sub)}, {draw(sub)}, {draw(sub)})"
    if kind == "math":
        return f"{draw(st.sampled_from(['sqrt', 'log10', 'min', 'max']))}({draw(sub)})"
    if kind == "if":
        return f"(if {draw(sub)} < {draw(sub)} then {draw(sub)} else {draw(sub)})"
    return f'("x" * {draw(sub)})'


@st.composite
def program(draw):
    numeric = draw(st.booleans())
    lines = [f"{name} = {draw(expr(tuple(NAMES[:k]), 1, numeric))}" for k, name in enumerate(NAMES)]
    layer = draw(st.sampled_from([
        "repeat(relu(), times: {})", "repeat_tied(relu(), times: {})",
        "dropout(keep: {})", "affine(units: {})", "conv2d(filters: 4, size: {})",
    ]))
    top = expr(numeric=numeric)
    lines.append(f"space = concat [relu(), {layer.format(draw(top))}]")
    lines.append(f"train = hyperparams {{ x: {draw(top)}, y: {draw(top)} }}")
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_generated_programs_raise_only_darch_errors_quickly(text):
    start = time.perf_counter()
    try:
        every_path(text, "fuzz.darch", seeds=2)
    except DarchError as err:
        assert err.render()
    assert time.perf_counter() - start < 2.0, text
