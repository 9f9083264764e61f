"""`fail(message)`: a program's own located error, at once where it is reached, or
under a choice when an architecture takes it; `blocks.activation` uses it to refuse an
unknown name (review.md, finding 7)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import darchlang
from darchlang import DarchError

ACT = """from "blocks" import inverted_residual
space = inverted_residual(6, 3, 16, act: {act})
"""

PICKED = """def act(name) = if name == "relu" then relu() else fail("no activation " + name)
space = concat [conv2d(filters: 4, size: 3), act(one_of("relu", "tanh"))]
"""


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def load(text: str):
    return darchlang.load_string(text, "x.darch").space


@pytest.mark.parametrize("name", ["relu", "relu6", "hardswish", "silu", "gelu", "sigmoid",
                                  "hardsigmoid", "tanh"])
def test_every_documented_activation_is_the_layer_it_names(name):
    arch = load(ACT.format(act=f'"{name}"')).sample(0)
    assert f"    {name}()," in arch.text
    others = {"relu6", "hardswish", "silu", "gelu", "sigmoid", "hardsigmoid", "tanh"} - {name}
    assert not [o for o in others if re.search(rf"\b{o}\(\)", arch.text)]


@pytest.mark.slow
def test_relu6_from_the_command_line(tmp_path):
    (tmp_path / "x.darch").write_text(ACT.format(act='"relu6"'))
    done = cli("sample", "x.darch", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("relu6()") == 2 and "hardswish" not in done.stdout


def test_an_unknown_activation_is_an_error_at_the_call(tmp_path):
    (tmp_path / "x.darch").write_text(ACT.format(act='"relu "'))
    done = cli("check", "x.darch", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    first, _, line, caret = done.stderr.splitlines()[:4]
    assert first == ("x.darch:2:9: error: `act` must be relu, relu6, hardswish, silu, gelu, "
                     "sigmoid, hardsigmoid or tanh")
    assert "inverted_residual(6, 3, 16" in line and caret.endswith("|         " + "^" * 41)
    assert "`inverted_residual` calls `activation` here" in done.stderr
    assert "`fail` is called here, in `activation`" in done.stderr


def test_a_fail_at_the_top_level_points_at_itself():
    with pytest.raises(DarchError) as info:
        _ = load('space = fail("not yet")')
    assert info.value.message == "not yet" and info.value.span.col == 9
    assert not info.value.related


def test_a_message_must_be_text():
    with pytest.raises(DarchError, match="`fail` takes a message, got integer 3"):
        _ = load("space = fail(3)")


def test_under_a_choice_it_counts_as_written_and_errs_only_when_taken():
    space = load(PICKED)
    assert space.count() == 2
    assert "relu()" in space.replay([0]).text
    with pytest.raises(DarchError) as info:
        space.replay([1])
    assert info.value.message == "no activation tanh"
    assert (info.value.span.line, info.value.span.col) == (2, 46)  # the call of `act`


def test_an_option_of_one_of_and_a_value_can_fail():
    space = load('space = one_of(relu(), fail("not this one"))')
    assert space.count() == 2 and space.replay([0]).text
    with pytest.raises(DarchError, match="not this one"):
        space.replay([1])
    value = load('space = conv2d(filters: one_of(8, fail("no width")), size: 3)')
    assert value.count() == 2
    with pytest.raises(DarchError, match="no width"):
        value.replay([1])


@pytest.mark.slow
def test_sample_and_the_shape_check_report_the_failing_option(tmp_path):
    (tmp_path / "x.darch").write_text(PICKED)
    ok = cli("sample", "x.darch", "--decisions", "0", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    bad = cli("sample", "x.darch", "--decisions", "1", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("x.darch:2:46: error: no activation tanh")
    checked = cli("check", "--shapes", "--input", "3x8x8", "x.darch", cwd=tmp_path)
    assert checked.returncode == 1 and "no activation tanh" in checked.stderr
    assert "Traceback" not in checked.stderr + bad.stderr


@pytest.mark.slow
def test_the_shape_analysis_of_a_large_space_finds_the_failing_option(tmp_path):
    big = PICKED.replace("space = concat [", "def blk() = concat [").replace(
        "size: 3)", "size: one_of(1, 3, 5))") + "space = repeat(blk(), times: 12)\n"
    (tmp_path / "x.darch").write_text(big)
    assert load(big).count() == 6 ** 12
    checked = cli("check", "--shapes", "--input", "3x8x8", "x.darch", cwd=tmp_path)
    assert checked.returncode == 1 and "error: no activation tanh" in checked.stderr
    assert "Traceback" not in checked.stderr
