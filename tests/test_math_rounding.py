"""`round`, `floor`, `ceil` and `int` make integers of numbers — constants, choices and
values derived from them alike — so a width multiplier (MnasNet's 0.75/1.0/1.25) can
make a channel count; `make_divisible` in the prelude is the literature's rounding to a
multiple of 8. Wrong arguments are located errors, as for every math function."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import darchlang
from darchlang.app.complete import complete_code
from darchlang.app.describe import help_text
from darchlang.environment import Limits, builtin_environment
from darchlang.errors import DarchError


def value(expr: str):
    return darchlang.load_string(f"x = {expr}\nspace = relu()", "t.darch").get("x")


@pytest.mark.parametrize(("expr", "want"), [
    ("round(2.5)", 2), ("round(3.5)", 4), ("round(-2.5)", -2), ("round(2.6)", 3),
    ("floor(-1.5)", -2), ("floor(1.9)", 1), ("ceil(1.2)", 2), ("ceil(-1.2)", -1),
    ("int(-1.5)", -1), ("int(1.9)", 1), ("round(7)", 7), ("floor(-7)", -7),
    ("int(24 * 0.75)", 18), ("ceil(1e20)", 10**20),
])
def test_each_gives_the_integer_it_documents(expr, want):
    got = value(expr)
    assert got == want and type(got) is int


def test_a_width_multiplier_over_a_choice_makes_integer_widths():
    text = ("m = one_of(0.75, 1.0, 1.25)\n"
            "space = conv2d(filters: max(8, int(24 * m + 4) // 8 * 8), size: 3)")
    space = darchlang.load_string(text, "t.darch").space
    widths = [a.network.attrs["filters"] for a in space.enumerate()]
    assert widths == [16, 24, 32] and all(type(w) is int for w in widths)


@pytest.mark.parametrize(("text", "error"), [
    ("x = round(true)", "t.darch:1:11: error: the argument of `round` must be a number, got true"),
    ('x = floor("a")', 't.darch:1:11: error: the argument of `floor` must be a number, '
     'got string "a"'),
    ("x = ceil([1.5])", "t.darch:1:10: error: the argument of `ceil` must be a number, got list"),
    ("x = int()", "t.darch:1:5: error: `int` is missing its argument `x`"),
])
def test_a_wrong_argument_is_a_located_error(text, error):
    with pytest.raises(DarchError) as err:
        darchlang.load_string(text + "\nspace = relu()", "t.darch")
    assert err.value.render().startswith(error)


def test_a_wrong_option_is_an_error_at_the_argument_naming_the_option():
    with pytest.raises(DarchError) as err:
        darchlang.load_string("space = conv2d(filters: round(one_of(true, 2.4)), size: 3)",
                              "t.darch")
    text = err.value.render()
    assert text.startswith("t.darch:1:31: error: `round` cannot be applied to true, "
                           "when `one_of(true, 2.4)` is true")
    assert "expected a number, got true" in text


def test_an_integer_over_the_size_limit_is_refused_where_it_is_made():
    env = builtin_environment()
    env.limits = Limits(int_bits=64)
    with pytest.raises(DarchError) as err:
        darchlang.load_string("x = floor(1e30)\nspace = relu()", "t.darch", env=env)
    assert err.value.render().startswith(
        "t.darch:1:11: error: `floor` of number 1e+30 gives an integer of over 64 bits")
    text = "space = conv2d(filters: floor(one_of(1.5, 1e30)), size: 3)"
    with pytest.raises(DarchError, match="gives an integer of over 64 bits"):
        darchlang.load_string(text, "t.darch", env=env)


def reference_make_divisible(v, divisor, min_value=None):
    """torchvision's `_make_divisible` (from TensorFlow's MobileNet code)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 2000, allow_nan=False), st.integers(1, 16), st.integers(1, 64))
def test_make_divisible_is_the_literatures(v, divisor, min_value):
    program = darchlang.load_string(
        f"a = make_divisible({v!r}, {divisor})\n"
        f"b = make_divisible({v!r}, {divisor}, min_value: {min_value})\nspace = relu()",
        "t.darch")
    assert program.get("a") == reference_make_divisible(v, divisor)
    assert program.get("b") == reference_make_divisible(v, divisor, min_value)


def test_make_divisible_over_a_multiplier_keeps_ten_percent():
    """3 * 1.0 goes up to 8 (its minimum); 36 * 0.5 = 18 rounds to 16, 11% below, so
    one multiple more: 24."""
    text = ("m = one_of(0.5, 1.0, 1.25)\n"
            "space = concat [conv2d(filters: make_divisible(36 * m, 8), size: 3),\n"
            "                conv2d(filters: make_divisible(3 * m, 8), size: 3)]")
    space = darchlang.load_string(text, "t.darch").space
    got = [[layer.attrs["filters"] for layer in a.network.items] for a in space.enumerate()]
    assert got == [[reference_make_divisible(36 * m, 8), reference_make_divisible(3 * m, 8)]
                   for m in (0.5, 1.0, 1.25)] == [[24, 8], [40, 8], [48, 8]]


@pytest.mark.parametrize(("typo", "name"), [("flor", "floor"), ("rond", "round"),
                                            ("ceil_", "ceil"), ("make_divisble", "make_divisible")])
def test_a_misspelt_name_suggests_the_function(typo, name):
    with pytest.raises(DarchError) as err:
        darchlang.load_string(f"space = conv2d(filters: {typo}(30.5), size: 3)", "t.darch")
    assert f"did you mean `{name}`?" in err.value.render()


def test_completion_and_help_know_them():
    program = darchlang.load_string("space = relu()", "t.darch")
    names = {name: program.scope.lookup(name) for name in program.scope.visible()}
    offered = {c.label for c in complete_code("x = ", names, program.env)}
    assert {"round", "floor", "ceil", "int", "make_divisible"} <= offered
    assert help_text(names["round"], program.env).startswith(
        "round(x)\n  The nearest integer; a half goes to the even one")
    assert "def make_divisible(v, divisor, min_value = divisor)" in help_text(
        names["make_divisible"], program.env)


def test_rounding_a_huge_float_is_exact():
    assert value("floor(1e300)") == math.floor(1e300)
