"""Whole-space shape checking: proofs without enumeration, concrete failures."""

import subprocess
import sys

import pytest

import darchlang
from darchlang import DarchError
from darchlang.backends.torch.plan import plan_network
from darchlang.backends.torch.shape_rules import torch_shape_rules
from darchlang.space.shapes import check_shapes

BAD = """
def block() = concat [
    conv2d(filters: one_of(8, 16), size: 3),
    one_of(identity(), conv2d(filters: 8, size: one_of(3, 40), padding: "valid")),
]
space = concat [repeat(block(), times: one_of(1, 2, 3, 4, 5, 6)), global_avg_pool(), affine(units: 10)]
"""


def report_for(text, shape=(3, 32, 32), **kw):
    space = darchlang.load_string(text, "bad.darch").space
    return space, check_shapes(space, shape, torch_shape_rules(), **kw)


@pytest.mark.parametrize("name", ["cifar10_complex", "nasbench201", "inception", "cifar10_joint"])
def test_large_valid_spaces_are_proved_without_enumerating(name):
    space = darchlang.load_file(f"examples/{name}.darch").space
    report = check_shapes(space, (3, 32, 32), torch_shape_rules())
    assert report.ok and report.method == "analysed"
    assert report.checks < space.count()


def test_small_spaces_are_enumerated():
    space = darchlang.load_file("examples/resnet.darch").space
    report = check_shapes(space, (3, 32, 32), torch_shape_rules())
    assert report.ok and report.method == "enumerated" and report.checks == 54


@pytest.mark.parametrize("limit", [0, 10**6])
def test_one_bad_branch_is_caught_with_its_decisions(limit):
    space, report = report_for(BAD, enumerate_up_to=limit)
    assert not report.ok and not report.spurious
    arch = report.architecture
    assert arch is not None
    assert "40x40 window does not fit" in report.failure.message
    # at the program's call of `block` (line 6), with the layer's own line beside
    assert report.failure.span.line == 6 and report.failure.related[-1].span.line == 4
    with pytest.raises(DarchError, match="40x40 window"):
        plan_network(space.replay(arch.decisions), (3, 32, 32))


def test_residual_that_cannot_join_is_caught():
    text = ("space = concat [conv2d(filters: 8, size: 3), "
            "residual(conv2d(filters: 8, size: one_of(3, 5), padding: one_of(\"same\", \"valid\"))), "
            "flatten(), affine(units: 2)]")
    _, report = report_for(text, enumerate_up_to=0)
    assert not report.ok
    assert "cannot join a residual" in report.failure.message
    assert report.architecture.values[-1] == "valid"


def test_input_that_is_too_small_for_every_architecture():
    _, report = report_for("space = concat [max_pool2d(size: 2, stride: 2, padding: \"valid\"), "
                           "conv2d(filters: one_of(1, 2), size: 3, padding: \"valid\")]",
                           shape=(3, 4, 4), enumerate_up_to=0)
    assert not report.ok and "window does not fit" in report.failure.message


def cli(*args):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", "check", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_cli_states_what_it_proved(tmp_path):
    ok = cli("--shapes", "--input", "3x32x32", "examples/nasbench201.darch")
    assert ok.returncode == 0
    assert ok.stdout.startswith("all 15,625 architectures compile for input 3x32x32: proved by "
                                "shape analysis")
    bad = tmp_path / "bad.darch"
    bad.write_text(BAD)
    fail = cli("--shapes", "--input", "3x32x32", str(bad))
    assert fail.returncode == 1
    assert f"{bad}:6:24: error: `conv2d` cannot take a 8x32x32 input" in fail.stderr  # block()
    assert f"{bad}:4:24: note: the layer is written here, in `block`" in fail.stderr
    assert "a failing architecture: decisions" in fail.stderr
    assert cli("--shapes", "--input", "3xfoo", str(bad)).returncode == 2


@pytest.mark.slow
def test_cli_prints_input_choices_by_name(tmp_path):
    # the failing architecture's graph values read as darchlang names, not Python reprs
    bad = tmp_path / "bad.darch"
    bad.write_text("space = concat [conv2d(filters: 4, size: 3), graph(x) {\n"
                   "    a = conv2d(filters: 2, size: 3)(x)\n"
                   "    b = relu()(x)\n"
                   "    return add(choose(2, x, a, b))\n}]\n")
    fail = cli("--shapes", "--input", "3x8x8", str(bad))
    assert fail.returncode == 1
    assert "space/1/graph/_3.in0 = [x, a]" in fail.stderr and "Ref(" not in fail.stderr


def test_the_proof_computes_darchlangs_operators_with_numpy():
    """A derived value holds darchlang's operators (booleans are not numbers there), and
    the shape proof's numpy forms are keyed by those very functions: keyed by Python's
    own, every table would be computed entry by entry, and NASNet's proof ran out."""
    from darchlang.semantics.arithmetic import OPERATORS, UNARY
    from darchlang.space.shapes import _VECTOR

    for label in ("+", "-", "*", "//", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or"):
        assert OPERATORS[label] in _VECTOR, label
    assert UNARY["-"] in _VECTOR and UNARY["not"] in _VECTOR
