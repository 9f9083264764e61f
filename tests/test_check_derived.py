"""`darch check` is sound for values derived from choices: a layer argument, a repeat
count, an index or an `if` condition that some architecture would get wrong is an
error when the program is read, at its place, naming the choice values that make it;
one that an enclosing `if` keeps right is not."""

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import darchlang
from darchlang.errors import DarchError


def error(text: str) -> str:
    """The first line of the error of loading `text` as t.darch, and its help."""
    with pytest.raises(DarchError) as err:
        darchlang.load_string(text, "t.darch")
    return err.value.render()


def every_architecture(text: str) -> list:
    """Every architecture of a small space, each walked as `darch sample` walks it."""
    return list(darchlang.load_string(text, "t.darch").space.enumerate(limit=500))


BAD = [
    ("space = conv2d(filters: one_of(16, 32) - 40, size: 3)",
     "t.darch:1:25: error: argument `filters` of `conv2d`: expected a positive integer, "
     "got -24, when `one_of(16, 32)` is 16"),
    ("space = conv2d(filters: one_of(2) ** (2 ** 62), size: 3)",
     "t.darch:1:25: error: `**` would make an integer of over 4096 bits, when `one_of(2)` is 2"),
    ("space = dropout(keep: one_of(0.5, 1) * 2)",
     "t.darch:1:23: error: argument `keep` of `dropout`: expected a number in (0.0, 1.0], "
     "got 2, when `one_of(0.5, 1)` is 1"),
    ("w = one_of(16, 32)\nspace = affine(units: w / 3)",
     "t.darch:2:23: error: argument `units` of `affine`: expected a positive integer, got "
     "number 5.333333333333333, when `one_of(16, 32)` (1:5) is 16"),
    ("s = one_of(1, 2)\nspace = conv2d(filters: 8, size: 3, stride: s - 1)",
     "t.darch:2:45: error: argument `stride` of `conv2d`: expected a positive integer or a "
     "pair [h, w] of them, got 0, when `one_of(1, 2)` (1:5) is 1"),
    ('k = one_of(true, false)\nspace = conv2d(filters: 8, size: if k then 3 else "x")',
     "t.darch:2:34: error: argument `size` of `conv2d`: expected a positive integer or a "
     'pair [h, w] of them, got string "x", when `one_of(true, false)` (1:5) is false'),
    ("w = one_of(16, 32)\nspace = conv2d(filters: 64 // (w - 16), size: 3)",
     "t.darch:2:25: error: division by zero, when `one_of(16, 32)` (1:5) is 16"),
    ("space = conv2d(filters: 8, size: [one_of(1, 3) - 1, 3])",
     "t.darch:1:34: error: argument `size` of `conv2d`: expected a positive integer or a "
     "pair [h, w] of them, got [0, 3], when `one_of(1, 3)` is 1"),
    ("space = conv2d(filters: 8, size: 3, init: kaiming(one_of(1.0, 2.0) - 1))",
     "t.darch:1:51: error: the gain of `kaiming`: expected a positive number, got 0.0, "
     "when `one_of(1.0, 2.0)` is 1.0"),
    ("space = if one_of(1, 2) > 1 and one_of(0, 1) then relu() else identity()",
     "t.darch:1:12: error: `and` cannot be applied to true and integer 0, when `one_of(1, 2)` "
     "is 2 and `one_of(0, 1)` is 0"),
    ("space = repeat(relu(), times: one_of(1, 2) - 2)",
     "t.darch:1:31: error: a repeat count must be a non-negative integer, got integer -1, "
     "when `one_of(1, 2)` is 1"),
    ("space = repeat_tied(relu(), times: 4 // one_of(0, 1))",
     "t.darch:1:36: error: division by zero, when `one_of(0, 1)` is 0"),
    ("i = one_of(0, 1, 5)\nspace = conv2d(filters: [1, 2, 3][i], size: 3)",
     "t.darch:2:34: error: index 5 is out of range for a list of 3 items, when "
     "`one_of(0, 1, 5)` (1:5) is 5"),
    # an `if` that does not exclude the wrong value: w = 16 takes the branch
    ("w = one_of(16, 32)\nspace = if w > 8 then conv2d(filters: w - 16, size: 3) else relu()",
     "t.darch:2:39: error: argument `filters` of `conv2d`: expected a positive integer, "
     "got 0, when `one_of(16, 32)` (1:5) is 16"),
]


@pytest.mark.parametrize(("text", "first"), BAD)
def test_a_wrong_derived_value_is_an_error_at_its_place_naming_the_choice(text, first):
    rendered = error(text)
    assert rendered.splitlines()[0] == first
    assert "= help: " in rendered


def test_the_error_draws_the_choice_that_makes_it_and_says_what_to_do():
    rendered = error("w = one_of(16, 32)\nspace = conv2d(filters: w - 24, size: 3)")
    assert "t.darch:1:5: note: when this choice is 16" in rendered
    assert rendered.splitlines()[-1] == (
        "  = help: every value the choices allow must be valid here: change the options or "
        "the expression, or put this under an `if` that excludes these values")


def test_a_named_choice_is_named_by_its_name():
    first = error('w = one_of(16, 32, name: "width")\nspace = affine(units: w - 16)')
    assert first.splitlines()[0].endswith("got 0, when `width` is 16")


GUARDED = [
    # the brief's case: the `if` excludes w = 16
    "w = one_of(16, 32)\nspace = if w > 16 then conv2d(filters: w - 16, size: 3) else relu()",
    # the same, through a function
    "def f(w) = if w > 16 then conv2d(filters: w - 16, size: 3) else relu()\n"
    "space = f(one_of(16, 32))",
    # a plain choice whose bad option the `if` excludes
    "w = one_of(0, 16)\nspace = if w > 0 then conv2d(filters: w, size: 3) else relu()",
    # inside the argument
    "w = one_of(16, 32)\nspace = conv2d(filters: if w > 16 then w - 16 else 8, size: 3)",
    # an index behind a guard reads only the items it allows
    "i = one_of(0, 1, 5)\nspace = if i < 3 then conv2d(filters: [1, 2, 3][i], size: 3) else relu()",
    "i = one_of(0, 1, 5)\nspace = if i < 2 then [relu(), tanh()][i] else identity()",
    # copy k of a repeat is built only when the count is over k
    "n = one_of(0, 2)\nspace = repeat(conv2d(filters: n, size: 3), times: n)",
    "n = one_of(0, 2)\nspace = repeat_tied(affine(units: n), times: n)",
    # a repeat count behind a guard
    "n = one_of(0, 2)\nspace = if n > 0 then repeat(relu(), times: n - 1) else identity()",
    # guards nest, and an inner one may read choices only an outer one relates
    "a = one_of(1, 2)\nb = one_of(1, 2)\n"
    "space = if a == b then (if a > 1 then affine(units: b - 1) else relu()) else relu()",
    # a shared choice takes one value in the whole expression (48 - 2w is 16 or -16 apart)
    "w = one_of(16, 32)\nspace = affine(units: w - w + 1)",
]


@pytest.mark.parametrize("text", GUARDED)
def test_a_value_an_if_keeps_right_passes_and_every_architecture_builds(text):
    assert every_architecture(text)


def test_a_fail_in_a_value_stands_as_written():
    """`fail` is the program's own error, for the architectures that reach it."""
    text = 'w = one_of(16, 32)\nspace = affine(units: if w > 16 then w - 16 else fail("too narrow"))'
    space = darchlang.load_string(text, "t.darch").space
    assert "affine(units: 16," in space.replay([1]).text
    with pytest.raises(DarchError, match="too narrow"):
        space.replay([0])


def test_a_shared_choice_is_one_value_and_the_error_names_the_bad_one():
    first = error("w = one_of(16, 32)\nspace = affine(units: 48 - w - w)").splitlines()[0]
    assert first.endswith("got -16, when `one_of(16, 32)` (1:5) is 32")


def test_each_call_of_a_function_is_checked_with_its_own_choices():
    text = ("def block(c) = conv2d(filters: c - 16, size: 3)\n"
            "space = concat [block(one_of(32, 64)), block(one_of(8, 32))]")
    rendered = error(text)
    assert rendered.splitlines()[0] == (
        "t.darch:1:32: error: argument `filters` of `conv2d`: expected a positive integer, "
        "got -8, when `one_of(8, 32)` (2:46) is 8")
    assert "t.darch:2:46: note: when this choice is 8" in rendered


def test_a_tied_function_is_checked_at_every_width_with_the_shared_choice():
    text = ("def cell(c) = conv2d(filters: c - one_of(8, 16), size: 3)\n"
            "normal = tied(cell)\nspace = concat [normal(32), normal(16)]")
    assert error(text).splitlines()[0].endswith("got 0, when `one_of(8, 16)` is 16")
    assert every_architecture(text.replace("normal(16)", "normal(24)"))


@pytest.mark.parametrize("kind", ["repeat", "repeat_tied"])
def test_a_repeated_body_is_checked(kind):
    text = f"space = {kind}(conv2d(filters: one_of(16, 32) - 24, size: 3), times: 2)"
    assert error(text).splitlines()[0].endswith("got -8, when `one_of(16, 32)` is 16")


def test_a_layer_in_a_graph_block_is_checked():
    text = ("space = graph(x) {\n    a = conv2d(filters: one_of(4, 8) - 8, size: 3)(x)\n"
            "    return a\n}")
    assert error(text).splitlines()[0].endswith("got -4, when `one_of(4, 8)` is 4")
    guarded = ("w = one_of(4, 8)\nspace = graph(x) {\n"
               "    a = (if w > 4 then conv2d(filters: w - 4, size: 3) else relu())(x)\n"
               "    return add(x, a)\n}")
    assert every_architecture(guarded)


def test_an_if_condition_over_a_choice_must_be_a_boolean():
    first = error("space = if one_of(1, 2) then relu() else identity()").splitlines()[0]
    assert first == ("t.darch:1:12: error: an `if` condition: expected true or false, got "
                     "integer 1, when `one_of(1, 2)` is 1")


def test_a_value_over_many_choices_is_bounded_not_enumerated():
    """Twenty choices of three options: 3^20 combinations. Bounds prove the sum right at
    once; a wrong one is found from the first combinations the guard allows; and one
    wrong only when all twenty are 3 ends within the budget too (combinations past it
    are sampled, not proved), each in well under a second."""
    names = [f"c{i}" for i in range(20)]
    head = "".join(f"{n} = one_of(1, 2, 3)\n" for n in names)
    total = " + ".join(names)

    def check(expr: str) -> str | None:
        start = time.perf_counter()
        try:
            darchlang.load_string(f"{head}space = if c0 > 1 then affine(units: {expr}) "
                                  "else relu()", "t.darch")
            return None
        except DarchError as err:
            return err.message
        finally:
            assert time.perf_counter() - start < 1.0

    assert check(total) is None
    assert check(f"{total} - 21").startswith("argument `units` of `affine`: expected a "
                                             "positive integer, got 0, when `one_of(1, 2, 3)`")
    check(f"60 - ({total})")


def test_a_value_doubled_through_bindings_is_computed_once_per_combination():
    """`x1 = x0 + x0` forty times: 2^40 paths through the value, forty values."""
    lines = ["x0 = one_of(1, 2)"] + [f"x{i} = x{i - 1} + x{i - 1}" for i in range(1, 41)]
    text = "\n".join(lines) + "\nspace = if x0 > 0 then affine(units: x40 - 2 ** 40) else relu()"
    start = time.perf_counter()
    assert error(text).splitlines()[0].endswith("got 0, when `one_of(1, 2)` (1:6) is 1")
    assert time.perf_counter() - start < 1.0


# ---- the property: what check passes, every architecture builds; what check rejects
# with a combination of choice values, that combination fails --------------------------
CHOICES = ["a", "b", "c"]


@st.composite
def expression(draw, depth=0):
    kind = draw(st.sampled_from(["choice", "int"] + (["op", "op", "if"] if depth < 2 else [])))
    if kind == "choice":
        return draw(st.sampled_from(CHOICES))
    if kind == "int":
        return str(draw(st.integers(-1, 4)))
    if kind == "op":
        op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
        return f"({draw(expression(depth + 1))} {op} {draw(expression(depth + 1))})"
    return (f"(if {draw(expression(depth + 1))} > {draw(st.integers(0, 3))} then "
            f"{draw(expression(depth + 1))} else {draw(expression(depth + 1))})")


@st.composite
def unit(draw):
    kind = draw(st.sampled_from(["conv", "dropout", "affine", "pool", "repeat", "index"]))
    e = draw(expression())
    if kind == "conv":
        made = f"conv2d(filters: {e}, size: 1, stride: {draw(expression())})"
    elif kind == "dropout":
        made = f"dropout(keep: {e} / 4)"
    elif kind == "affine":
        made = f"affine(units: {e})"
    elif kind == "pool":
        made = f"max_pool2d(size: {e}, stride: 1, padding: \"same\")"
    elif kind == "repeat":
        made = f"repeat(relu(), times: {e})"
    else:
        made = f"affine(units: [1, 2, 3][{e}])"
    if draw(st.booleans()):
        made = f"if {draw(expression())} > {draw(st.integers(0, 3))} then {made} else identity()"
    return made


@st.composite
def program(draw):
    options = {n: draw(st.lists(st.integers(-1, 4), min_size=1, max_size=3, unique=True))
               for n in CHOICES}
    units = draw(st.lists(unit(), min_size=1, max_size=3))
    return options, f"space = concat [{', '.join(units)}]"


def _text(options: dict, body: str, fixed: dict | None = None) -> str:
    lines = [f"{n} = {fixed[n] if fixed else 'one_of(' + ', '.join(map(str, o)) + ')'}"
             for n, o in options.items()]
    return "\n".join([*lines, body])


def _fails(text: str) -> bool:
    try:
        every_architecture(text)
    except DarchError:
        return True
    return False


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_check_passes_exactly_when_every_combination_builds(made):
    """Each combination of the choices, written as constants, is one architecture: `if`
    over a constant takes one branch as an architecture does. Check passes when every
    one builds; an error it names a combination for is one that does not build."""
    options, body = made
    combos = [dict(zip(CHOICES, values, strict=True)) for values in
              __import__("itertools").product(*(options[n] for n in CHOICES))]
    try:
        architectures = every_architecture(_text(options, body))
    except DarchError as err:
        when = re.search(r", when (.*)$", err.message)
        if when is None:
            return  # not about a combination: a constant that is wrong wherever it is
        assert any(_fails(_text(options, body, c)) for c in combos), err.render()
        return
    assert architectures
    for c in combos:
        assert not _fails(_text(options, body, c)), (c, body)
