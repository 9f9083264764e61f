"""`darch check` proves values over choices quickly, and each shortcut that makes it quick
still finds the wrong values it must: the tables (every combination, computed part by
part), the verdict kept for a value computed again under the same `if`s (each copy of a
repeat), and functions made afresh per call told apart by what they compute."""

import time
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from test_check_derived import program

import darchlang
from darchlang.errors import DarchError
from darchlang.semantics import feasible

ANYNETX = (Path(__file__).parent / "spaces" / "anynetx.darch").read_text()


def first_line(text: str) -> str | None:
    """The first line of the error of loading `text`, None when it loads."""
    try:
        darchlang.load_string(text, "t.darch")
    except DarchError as err:
        return err.render().splitlines()[0]
    return None


def test_anynetx_is_proved_by_the_tables_once():
    """Four stages of 16 blocks, each group count `wb // g` over 128 widths, 3 ratios and
    6 group widths (2,304 combinations, too many to walk in a value's share): the tables
    prove the first, and the other 63 (the same form over choices of the same options)
    reuse the verdict."""
    verdicts = []
    tabled = feasible._tabled

    def kept(*args):
        verdicts.append(tabled(*args))
        return verdicts[-1]

    start = time.process_time()
    with mock.patch.object(feasible, "_tabled", kept):
        darchlang.load_string(ANYNETX, "anynetx.darch")
    assert time.process_time() - start < 0.5
    assert verdicts and all(v is not None and v[0] is None for v in verdicts)  # proofs
    assert len(verdicts) <= 5  # one group count, and a repeat count per stage


def test_anynetx_without_rounding_has_a_zero_group_count():
    """Without `max(g, ...)` the bottleneck `w // b // g * g` is 0 when w / b < g."""
    text = ANYNETX.replace("max(g, w // b // g * g)", "w // b // g * g")
    first = first_line(text)
    assert first is not None
    assert "argument `filters` of `conv2d`: expected a positive integer, got 0, when" in first


def test_the_tables_find_a_value_wrong_for_one_combination_in_millions():
    """60 - (c0 + ... + c19) is 0 only when all twenty are 3 (3^20 combinations, past
    walking): the tables carry the sums (at most 60 values) and find it."""
    names = [f"c{i}" for i in range(20)]
    head = "".join(f"{n} = one_of(1, 2, 3)\n" for n in names)
    first = first_line(f"{head}space = if c0 > 1 then affine(units: 60 - ({' + '.join(names)})) "
                       "else relu()")
    assert first is not None
    assert first.endswith("got 0, when `one_of(1, 2, 3)` (1:6) is 3 and `one_of(1, 2, 3)` "
                          "(2:6) is 3 and `one_of(1, 2, 3)` (3:6) is 3 (and 17 more choices)")


def test_the_tables_keep_a_shared_choice_one_value_through_the_parts():
    """`max(g, w // g * g) // g` is never 0: g is one value in both places. The same
    parts with two different choices are 0 for w = 8, g = 16."""
    head = "w = one_of(range(8, 1032, 8))\ng = one_of(1, 2, 4, 8, 16, 32)\nh = one_of(16, 32)\n"
    assert first_line(f"{head}space = affine(units: max(g, w // g * g) // g)") is None
    assert first_line(f"{head}space = affine(units: max(h, w // g * g) // g)") is not None


def test_a_nested_choice_counts_only_when_its_option_is_taken():
    head = "w = one_of(8, 16)\nx = one_of(w, 32)\n"
    assert first_line(f"{head}space = if x > 8 then affine(units: x - 8) else relu()") is None
    assert first_line(f"{head}space = affine(units: x - 8)").endswith(
        "got 0, when `one_of(w, 32)` (2:5) is its option 1 and `one_of(8, 16)` (1:5) is 8")


def test_a_kept_verdict_is_for_the_same_value_under_the_same_ifs_and_type():
    """The second use of `w - 16` is checked anew where the `if` no longer keeps it
    right, where its type is narrower, and with another choice."""
    w = "w = one_of(16, 32)\n"
    guarded = "if w > 16 then affine(units: w - 16) else relu()"
    assert first_line(f"{w}space = concat [{guarded}, {guarded}]") is None
    assert "got 0, when" in first_line(f"{w}space = concat [{guarded}, affine(units: w - 16)]")
    assert "got 16, when" in first_line(
        f"{w}space = concat [{guarded}, if w > 16 then dropout(keep: w - 16) else relu()]")
    assert "got 0, when" in first_line(
        f"{w}v = one_of(16, 32)\nspace = concat [{guarded}, "
        "if w > 16 then affine(units: v - 16) else relu()]")


def test_a_kept_verdict_is_for_values_that_share_their_choices_alike():
    """`a - a + 1` is 1; `a - b + 1`, of the same options and operators, is -15 for
    a = 16 and b = 32: another form, checked anew."""
    head = "a = one_of(16, 32)\nb = one_of(16, 32)\n"
    assert first_line(f"{head}space = affine(units: a - a + 1)") is None
    assert first_line(f"{head}space = concat [affine(units: a - a + 1), "
                      "affine(units: a - b + 1)]").endswith(
        "got -15, when `one_of(16, 32)` (1:5) is 16 and `one_of(16, 32)` (2:5) is 32")


def test_functions_made_per_call_are_told_apart_by_what_they_close_over():
    """`max` and `min` each make `lambda *v: pick(v)` per call: the same code, closing
    over another function, so `max(w - 16, 1)` passing says nothing of `min(w - 16, 1)`."""
    w = "w = one_of(16, 32)\n"
    assert first_line(f"{w}space = concat [affine(units: max(w - 16, 1)), "
                      "affine(units: max(w - 16, 1))]") is None
    assert "got 0, when" in first_line(f"{w}space = concat [affine(units: max(w - 16, 1)), "
                                       "affine(units: min(w - 16, 1))]")


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_the_tables_decide_as_walking_every_combination_does(made):
    """On small programs (at most 27 combinations, all walked within the budget) check
    says the same with the tables as without them: the same first error, or none."""
    options, body = made
    text = "\n".join([*(f"{n} = one_of({', '.join(map(str, o))})" for n, o in options.items()),
                      body])
    with_tables = first_line(text)
    with mock.patch.object(feasible, "_tabled", lambda *_: None):
        walked = first_line(text)
    assert with_tables == walked


# ---- check --shapes on a space small enough to enumerate ------------------------------
SMALL = Path(__file__).parent / "spaces" / "enas_micro_small.darch"


@pytest.mark.parametrize("path", [pytest.param(SMALL, marks=pytest.mark.slow),
                                  Path("examples/resnet.darch")])
def test_an_enumerated_space_is_bounded_by_its_plans_as_by_the_analysis(path):
    """The plans of every architecture give each layer's most parameters, so the
    analysis no longer runs for the bound alone; the bound is the one it gave."""
    import dataclasses

    from darchlang.backends.torch.shape_rules import torch_shape_rules
    from darchlang.space import shapes

    space = darchlang.load_file(path).space
    rules = torch_shape_rules()
    analysed = shapes.check_shapes(space, (3, 32, 32), dataclasses.replace(rules, params=None))
    with mock.patch.object(shapes, "_prove", side_effect=AssertionError("the analysis ran")):
        planned = shapes.check_shapes(space, (3, 32, 32), rules)
    assert planned.method == analysed.method == "enumerated" and planned.ok
    assert planned.max_params == analysed.max_params > 0
    assert planned.max_layers == analysed.max_layers


def test_an_enumerated_space_past_the_parameter_limit_is_refused():
    from darchlang.backends.torch.shape_rules import torch_shape_rules
    from darchlang.environment import Limits, builtin_environment
    from darchlang.space.shapes import check_shapes

    env = builtin_environment().copy()
    env.limits = Limits(parameters=100_000)
    space = darchlang.load_file("examples/resnet.darch", env=env).space
    report = check_shapes(space, (3, 32, 32), torch_shape_rules())
    assert report.method == "enumerated" and not report.ok
    assert "up to 1,085,770 parameters, more than the limit of 100,000" in report.failure.message


# a space of 2,000 architectures of 105 layers each: planning them all plans 210,000
MANY_LAYERS = """
a = one_of(range(10))
b = one_of(range(10))
space = concat [
    conv2d(filters: 8 + a, size: 3),
    repeat(relu(), times: 100),
    conv2d(filters: 8 + b, size: 3, padding: "valid"),
    max_pool2d(size: SIZE, stride: 1, padding: "valid"),
    conv2d(filters: 4, size: one_of(range(1, 11))),
    flatten(),
    affine(units: 10),
]
"""


def _many_layers(size: str):
    from darchlang.backends.torch.shape_rules import torch_shape_rules
    from darchlang.space.shapes import ENUMERATE_UP_TO, PLANNED_UP_TO, check_shapes

    space = darchlang.load_string(MANY_LAYERS.replace("SIZE", size), "t.darch").space
    assert space.count() == 2000 and space.count() * space.max_layers > PLANNED_UP_TO
    rules = torch_shape_rules()
    return space, rules, check_shapes(space, (3, 8, 8), rules, ENUMERATE_UP_TO, PLANNED_UP_TO)


def test_a_small_space_of_many_layers_is_proved_by_the_analysis():
    _, _, report = _many_layers("one_of(1, 2)")
    assert report.ok and report.method == "analysed"


def test_a_small_space_of_many_layers_still_gets_a_failing_architecture():
    """A 9x9 pool over the 6x6 left by a "valid" 3x3 convolution fails: the analysis
    finds it, with an architecture that the planner refuses too."""
    space, rules, report = _many_layers("one_of(1, 9)")
    assert not report.ok and not report.spurious and report.method == "analysed"
    assert "9" in report.failure.message
    with pytest.raises(DarchError):
        rules.plan(space.replay(report.architecture.decisions), (3, 8, 8))


@pytest.mark.slow
def test_a_small_space_the_analysis_cannot_decide_is_enumerated():
    from darchlang.space import shapes

    undecided = shapes._undecided(2000, 0, 1, "for this test")
    with mock.patch.object(shapes, "_prove", return_value=(undecided, None)):
        _, _, report = _many_layers("one_of(1, 2)")
    assert report.ok and report.method == "enumerated" and report.checks == 2000


def test_tables_over_many_shared_choices_stop_within_the_budget():
    """Ten choices of ten options, all read by the `if` around the value (which lets no
    combination through): the tables, keyed by all ten, stop at their share of the
    work, and so does the walk, in well under a second."""
    names = [f"c{i}" for i in range(10)]
    head = "".join(f"{n} = one_of(range(10))\n" for n in names)
    value = " + ".join(f"{n} * {n} - {n}" for n in names)
    start = time.process_time()
    assert first_line(f"{head}space = if {' + '.join(names)} < 0 then affine(units: {value}) "
                      "else relu()") is None
    assert time.process_time() - start < 1.0
