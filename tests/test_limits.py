"""Numeric faults and runaway work end in a FILE:LINE:COL DarchError, quickly, on every
path: load, count, sample, print, JSON, replay (issue 16.1 and 16.2)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from entry_points import every_path

import darchlang
from darchlang import DarchError
from darchlang.environment import Limits, builtin_environment
from darchlang.process import long_integers

QUICK = 2.0  # seconds: every limit trips well within this, even on a slow CI machine


@pytest.fixture(autouse=True, scope="module")
def warm():
    """Build the parser and the prelude once, so the timers measure only the limits."""
    darchlang.load_string("space = relu()")


def fails_at(text: str, message: str, line: int, col: int | None) -> None:
    """Some path fails quickly with `message` at line:col (any column when None)."""
    start = time.perf_counter()
    with pytest.raises(DarchError) as info:
        every_path(text)
    assert time.perf_counter() - start < QUICK
    err = info.value
    assert message in err.message, err.render()
    assert err.span is not None and err.span.line == line, err.render()
    assert col is None or err.span.col == col, err.render()


NUMERIC = [
    # numbers too large for NumPy's helpers, and for floats
    ("x = logspace(0, 10**400, 2)\nspace = relu()", "`logspace` stop is too large for a float", 1, 17),
    ("x = linspace(0 - 10**309, 0, 3)\nspace = relu()", "too large for a float", 1, 14),
    ("train = hyperparams { lr: one_of(10**400) / 1 }\nspace = relu()",
     "`/` gives a number too large for a float", 1, 27),
    ("train = hyperparams { lr: sqrt(one_of(10**400)) }\nspace = relu()",
     "`sqrt` gives a number too large for a float", 1, 32),
    ("train = hyperparams { lr: one_of(10.0) ** 400 }\nspace = relu()",
     "`**` gives a number too large for a float", 1, 27),
    # range overflow
    ("x = range(0, 10**30)\nspace = relu()", "`range` gives more than 100,000 values", 1, 5),
    ("x = range(10**30, 0, 0 - 1)\nspace = relu()", "`range` gives more than 100,000 values", 1, 5),
    # integers past what prints (Python's 4,300-digit limit) or sizes
    ("x = 10**1000 * 10**1000 * 10**1000 * 10**1000 * 10**1000\nspace = relu()",
     "`*` would make an integer of over 4096 bits", 1, 5),
    ("space = affine(units: one_of(10) ** 5000)", "`**` would make an integer of over 4096 bits", 1, 23),
    ("w = one_of(10**1000)\nspace = affine(units: w * w * w * w * w)",
     "`*` would make an integer of over 4096 bits", 2, 23),
    ("x = " + "9" * 2000 + "\nspace = relu()", "this number is an integer of over 4096 bits", 1, 5),
    ("x = " + "9" * 5000 + "\nspace = relu()", "this integer has 5,000 digits", 1, 5),
    # complex numbers from powers of negatives, now and at sample time
    ("x = (0 - 4) ** 0.5\nspace = relu()", "`**` of integer -4 and number 0.5 gives a complex number", 1, 5),
    ("space = dropout(keep: (0 - 4) ** one_of(0.5))", "gives a complex number", 1, 23),
    ("x = (0 - 4) ** one_of(0.5)\ntrain = hyperparams { lr: x }\nspace = relu()",
     "gives a complex number", 1, 5),
    # undefined math
    ("train = hyperparams { lr: sqrt(0 - 1) }\nspace = relu()", "`sqrt` is not defined for integer -1", 1, 32),
    ("train = hyperparams { lr: log10(one_of(0)) }\nspace = relu()", "`log10` is not defined for integer 0",
     1, 33),
    ("train = hyperparams { lr: one_of(1) % 0 }\nspace = relu()", "division by zero", 1, 27),
]


@pytest.mark.parametrize(("text", "message", "line", "col"), NUMERIC)
def test_numeric_faults_are_errors_in_place(text, message, line, col):
    fails_at(text, message, line, col)


GROWTH = [
    # limits on constants hold for values derived from choices
    ("space = repeat(relu(), times: one_of(2) ** 2**62)", "`**` would make an integer", 1, 31),
    ("space = repeat(relu(), times: one_of(2) ** 40)",
     "a repeat count of 1,099,511,627,776 is over the limit of 10,000", 1, 31),
    ("space = repeat_tied(relu(), times: 10**9)", "a repeat count of 1,000,000,000 is over the limit", 1, 36),
    ("space = repeat_tied(relu(), times: one_of(1, 10**9))", "is over the limit of 10,000", 1, 36),
    ("space = repeat(concat [relu(), relu(), relu(), relu(), relu(), relu()], times: 9999)",
     "the space is too large to build: more than 50,000 nodes", 1, 9),
    # string and list growth, refused before the work is done
    ('def f(n, s) = if n == 0 then s else f(n - 1, s + s)\nx = f(31, "ab")\nspace = relu()',
     "`+` would make a string of 131,072 characters (over the limit of 100,000)", 1, 46),
    ('x = "abc" * 10000000000\nspace = relu()', "`*` would make a string of 30,000,000,000 characters", 1, 5),
    ("x = [range(100000)] * 100000\nspace = relu()", "`*` would make a list of 10,000,000,000 items", 1, 5),
    ('x = ["a" * 100000] * 100000\nspace = relu()', "`*` would make a list of 10,000,000,000", 1, 5),
    ("x = range(100000)\ny = [x, x]\nspace = relu()", "a list of over 100,000 items", 2, 5),
    ('s = one_of("ab", "cd")\ndef f(n, s) = if n == 0 then s else f(n - 1, s + s)\n'
     "train = hyperparams { y: f(40, s) }\nspace = relu()", "too much work", 2, 46),
    ("x = range(1, 100000)\nspace = repeat(affine(units: one_of(x)), times: 5000)",
     "the program does too much work", 2, 30),
    ("space = graph(x) {\n" + "".join(f"    a{i} = relu()(x)\n" for i in range(40))
     + "    return add(choose(20, " + ", ".join(f"a{i}" for i in range(40)) + "))\n}",
     "the program does too much work", 42, 16),
    ("x = [relu()] * 100000\ny = [concat(x)] * 100000\nspace = concat(y)",
     "the program does too much work", 2, 6),
    # work without end: exponential recursion over values and over layers
    ("def f(n) = if n == 0 then 1 else f(n - 1) + f(n - 1)\nx = f(40)\nspace = relu()",
     "the program does too much work: more than 100,000 steps", 1, None),
    ("def f(n) = if n == 0 then relu() else concat [f(n - 1), f(n - 1)]\nspace = f(40)",
     "the program does too much work", 1, None),
    ("x = range(50000)\ndef f(n) = if n == 0 then 0 else let y = x + [] in f(n - 1) + f(n - 1)\n"
     "z = f(30)\nspace = relu()", "the program does too much work", 2, None),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "message", "line", "col"), GROWTH)
def test_growth_is_refused_within_a_second(text, message, line, col):
    fails_at(text, message, line, col)


def test_values_within_the_limits_still_work():
    every_path("x = range(0, 10**30, 10**28)\ny = linspace(0, 99999999999999999999, 2)\n"
               "z = 2 ** 4095\nw = one_of(2, 3)\n"
               "space = repeat(conv2d(filters: 2 ** w, size: 3), times: one_of(1, 10000 // 5000))\n"
               "train = hyperparams { s: \"ab\" * 50000, k: len_ok(z) }\n"
               "def len_ok(v) = v > 0")


def test_the_reference_documents_the_limits():
    text = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text()
    d = Limits()
    for row in (f"| call depth | {d.call_depth} |", f"| steps | {d.steps:,} |",
                f"| nodes | {d.nodes:,} |", f"| repeat | {d.repeat:,} |",
                f"| value size | {d.value_size:,} |", f"| integer size | {d.int_bits:,} bits |",
                f"| uniform work | {d.uniform_work:,} |"):
        assert row in text


def test_limits_live_in_the_environment():
    env = builtin_environment()
    assert env.limits == Limits()
    env.limits = Limits(repeat=3)
    with pytest.raises(DarchError, match="a repeat count of 4 is over the limit of 3"):
        darchlang.load_string("space = repeat(relu(), times: 4)", env=env)
    darchlang.load_string("space = repeat(relu(), times: 3)", env=env)


def test_cli_reports_a_sample_time_fault_in_place(tmp_path):
    path = tmp_path / "s.darch"
    path.write_text("space = concat [conv2d(filters: 4, size: 3), "
                    "dropout(keep: (0 - 4) ** one_of(0.5))]\n")
    run = subprocess.run([sys.executable, "-m", "darchlang.cli", "sample", str(path), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(f"{path}:1:60: error: `**` of integer -4 and number 0.5 gives a "
                                 "complex number")


def test_shape_analysis_skips_impossible_combinations_of_shared_choices(tmp_path):
    """`w - w` over the options of `w` taken apart includes -1 and 1; the analysis must
    not report the division by zero that no architecture makes."""
    path = tmp_path / "s.darch"
    path.write_text("w = one_of(1, 2)\ndef c() = conv2d(filters: one_of(4, 8), size: one_of(1, 3))\n"
                    "space = concat [conv2d(filters: 4 // (w - w + 1), size: 3), c(), c(), c(), c()]\n")
    run = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", "--shapes",
                          "--enumerate-up-to", "10", str(path)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "proved by shape analysis" in run.stdout


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "the value given for `k` is a non-finite number"),
    (float("inf"), "the value given for `k` is a non-finite number"),
    (2 ** 5000, "the value given for `k` is an integer of over 4096 bits"),
    ([1.0, float("nan")], "the value given for `k` is a non-finite number"),
    (complex(1, 1), "the value given for `k` must be a number, a string, a boolean or a list"),
])
def test_values_given_from_python_are_checked_at_their_param(value, message):
    with pytest.raises(DarchError) as info:
        darchlang.load_string("param k = 0.5\nspace = dropout(keep: k)", "t.darch",
                              defines={"k": value})
    assert message in info.value.message
    assert (info.value.span.line, info.value.span.col) == (1, 1)


def test_errors_describe_values_too_long_to_quote():
    with pytest.raises(DarchError) as info:
        darchlang.load_string('space = conv2d(filters: "a" * 100000, size: 3)', "t.darch")
    assert info.value.message.endswith("got a string of 100,000 characters")
    with pytest.raises(DarchError) as info:
        darchlang.load_string("space = conv2d(filters: 8, size: 3, padding: 10**300)", "t.darch")
    assert info.value.message.endswith("got an integer of about 301 digits")


@pytest.mark.slow
def test_counts_longer_than_pythons_digit_limit_print(tmp_path):
    """Nine ways repeated 5,000 times: a count of 4,772 digits, past Python's default
    limit of 4,300 digits for int-to-text conversion."""
    path = tmp_path / "big.darch"
    path.write_text("space = repeat(conv2d(filters: one_of(1, 2, 3), size: one_of(1, 3, 5)), "
                    "times: 5000)\n")
    for command in (["count"], ["show", "--json"]):
        run = subprocess.run([sys.executable, "-m", "darchlang.cli", *command, str(path)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-500:]
        with long_integers():
            assert str(9 ** 5000) in run.stdout


def test_uniform_sampling_of_a_huge_space_is_refused_at_once():
    import darchlang

    text = ("space = repeat(conv2d(filters: one_of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), size: 3),"
            " times: one_of(1, 500, 2000))")
    space = darchlang.load_string(text, "t.darch").space
    start = time.perf_counter()
    with pytest.raises(DarchError, match="sampling this space uniformly"):
        space.sample_uniform(0)
    assert time.perf_counter() - start < QUICK
    assert len(space.sample(0).decisions) >= 2  # plain sampling still works


def test_deep_spaces_count_sample_and_print_from_python():
    """The recursion limit is raised while darchlang works, not left raised: a deep
    space loaded from Python still counts, samples and prints afterwards."""
    import darchlang

    depth = 400
    text = "space = " + "optional(" * depth + "relu()" + ")" * depth
    space = darchlang.load_string(text, "t.darch").space
    limit = sys.getrecursionlimit()
    assert space.count() == depth + 1
    arch = space.sample(3)
    assert arch.text.startswith("space = ")
    assert space.replay(arch.decisions).identity == arch.identity
    assert sys.getrecursionlimit() == limit
