"""A program with several independent mistakes reports each (in source order, up to a
limit), as compilers do: syntax errors one per broken statement, semantic errors one per
top-level binding; `darch check --json` lists them all."""

import json
import subprocess
import sys

import pytest

import darchlang
from darchlang.errors import MAX_ERRORS, DarchError, DarchErrors


def errors_of(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(DarchError) as info:
        _ = darchlang.load_string(text, "t.darch").space
    err = info.value
    found = err.errors if isinstance(err, DarchErrors) else [err]
    return [(e.span.line, e.span.col, e.message) for e in found]


SEMANTIC = """\
a = conv2(filters: 3)
def f() = relu(1)
c = dropout(keep: 1.5)
space = concat [f(), relu(), f()]
"""

SYNTAX = """\
x = [1, 2
y = 3 +
def f( = relu()
z = concat [relu() relu()]
space = relu()
"""


def test_three_semantic_mistakes():
    assert errors_of(SEMANTIC) == [
        (1, 5, "unknown name `conv2`"),
        (2, 16, "`relu` takes no arguments, got 1"),  # once, though `space` calls f twice
        (3, 19, "argument `keep` of `dropout`: expected a number in (0.0, 1.0], got 1.5"),
    ]


def test_one_error_per_broken_statement():
    assert errors_of(SYNTAX) == [
        (2, 1, "unexpected name `y`; expected `,` or `]`"),
        (2, 8, "unexpected end of the statement; expected an expression"),
        (3, 8, "unexpected `=`; expected `)` or a name"),
        (4, 20, "unexpected name `relu`; expected `,` or `]`"),
    ]


def test_a_let_split_over_lines_is_not_cut_apart():
    text = "w = let\na = 1\nin a\nv = (1 +\nspace = relu()\n"
    assert errors_of(text) == [(4, 9, "unexpected end of the statement; expected an expression")]


def test_bindings_that_use_a_broken_one_are_not_reported_again():
    assert errors_of("a = conv2(filters: 3)\nb = [a, a]\nspace = concat [b]\n") == [
        (1, 5, "unknown name `conv2`")]


def test_at_most_the_limit():
    text = "".join(f"x{i} = relu(1)\n" for i in range(MAX_ERRORS + 10))
    found = errors_of(text)
    assert len(found) == MAX_ERRORS and found[0][0] == 1 and found[-1][0] == MAX_ERRORS


@pytest.mark.slow
def test_the_command_line_prints_them_all(tmp_path):
    path = tmp_path / "three.darch"
    path.write_text(SEMANTIC)
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    heads = [line for line in r.stderr.splitlines() if ": error: " in line]
    assert heads == [f"{path}:1:5: error: unknown name `conv2`",
                     f"{path}:2:16: error: `relu` takes no arguments, got 1",
                     f"{path}:3:19: error: argument `keep` of `dropout`: expected a number in "
                     "(0.0, 1.0], got 1.5"]
    assert r.stderr.rstrip().endswith("3 errors")
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", "--json", str(path)],
                       capture_output=True, text=True, timeout=60)
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["ok"] is False
    assert [(e["line"], e["col"]) for e in report["errors"]] == [(1, 5), (2, 16), (3, 19)]
    assert report["errors"][0]["help"] == "did you mean `conv2d`?"
