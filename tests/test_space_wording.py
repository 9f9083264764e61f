"""Counts read as English: one architecture, one choice, one layer check (issue 19.8)."""

import subprocess
import sys

import pytest

ONE = "space = concat [conv2d(filters: 8, size: 3), relu()]\n"
TWO = "space = conv2d(filters: one_of(8, 16), size: 3)\n"


def darch(*args):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args],
                          capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.mark.parametrize(("text", "show", "shapes"), [
    (ONE, "1 architecture, 0 choices", "the one architecture compiles for input 3x32x32 "
                                       "(the default; pass --input): it was planned\n"
                                       "it has 2 layers and 224 parameters"),
    (TWO, "2 architectures, 1 choice", "all 2 architectures compile for input 3x32x32 "
                                       "(the default; pass --input): every one of them was "
                                       "planned\nthe largest has at most 1 layer and 448 "
                                       "parameters"),
])
@pytest.mark.slow
def test_show_and_check_say_one_architecture_in_the_singular(tmp_path, text, show, shapes):
    path = tmp_path / "space.darch"
    path.write_text(text)
    assert darch("show", str(path)).splitlines()[0] == show
    assert darch("check", "--shapes", str(path)).strip() == shapes
    analysed = darch("check", "--shapes", "--enumerate-up-to", "0", str(path))
    assert "all 1 " not in analysed and " 1 architectures" not in analysed
    assert "(2 layer checks)" in analysed


def test_one_layer_check_is_singular():
    from darchlang.space.shapes import ShapeReport

    text = ShapeReport(True, "analysed", 1, checks=1).summary("8")
    assert text == ("the one architecture compiles for input 8: proved by shape analysis over "
                    "each choice's options (1 layer check), without enumerating")
