"""Reading parts of values: `r.k` (record fields), `xs[i]` (list items, by a number or a
choice) and `len`: what they compute, how they format, how they count, where errors point."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import darchlang
from darchlang import DarchError
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.syntax import ast
from darchlang.syntax.formatter import format_source
from darchlang.syntax.parser import parse

torch.set_num_threads(1)

# Inside a graph block, `states[k]` with `k` a choice picks one earlier value as input.
PICKED_INPUT = """
def cell(c) = graph(x) {
    a = conv2d(filters: c, size: 3)(x)
    b = conv2d(filters: c, size: 1)(a)
    states = [x, a, b]
    k = one_of(range(len(states)))
    s = relu()(states[k])
    return add(b, s)
}
space = concat [conv2d(filters: 4, size: 3), cell(4), global_avg_pool(), affine(units: 10)]
"""


def value_of(text: str) -> int:
    """The integer `v` of `text`, read back as the units of an affine layer."""
    space = darchlang.load_string(f"{text}\nspace = affine(units: v)\n").space
    return space.sample(0).network.attrs["units"]


def test_fields_items_and_len_compute_as_written():
    assert value_of("r = { k: 3, n: [1, 2] }\nv = r.k + r.n[1]") == 5
    assert value_of("xs = [4, 8, 16]\nv = xs[0] * 1000 + xs[-1] + len(xs) + len(\"abc\")") \
        == 4022
    assert value_of("v = [[1, 2], [3]][0][1] + [1, 2, 3][1 + 1]") == 5


def test_records_are_equal_when_their_fields_are():
    assert value_of("v = if { a: 1, b: [2] } == { b: [2], a: 1 } then 1 else 0") == 1
    assert value_of("v = if { a: 1 } != { a: 2 } and { a: 1 } != [1] then 1 else 0") == 1


def test_a_choice_index_picks_a_value_for_each_architecture():
    text = "i = one_of(0, 1, 2)\nr = { w: [4, 8, 16][i] }\nspace = conv2d(filters: r.w, size: 3)"
    space = darchlang.load_string(text).space
    widths = [a.network.attrs["filters"] for a in space.enumerate()]
    assert space.count() == 3 and widths == [4, 8, 16]


def test_f_list_without_a_space_is_still_the_call():
    tight = darchlang.load_string("space = concat[relu(), tanh()]").space.sample(0).text
    one = darchlang.load_string("space = concat[relu()]").space.sample(0).text
    assert tight == darchlang.load_string("space = concat [relu(), tanh()]").space.sample(0).text
    assert one == darchlang.load_string("space = concat [relu()]").space.sample(0).text


@pytest.mark.parametrize(("text", "kind"), [
    ("v = xs[0]", ast.Index),
    ("v = (a + b)[i]", ast.Index),
    ("v = f(1)[0][1]", ast.Index),
    ("v = f [0]", ast.Call),       # a space before the bracket: the call f([0])
    ("v = f[0, 1]", ast.Call),     # two items: a call with a list
    ("v = r.k", ast.Attribute),
])
def test_the_parser_tells_an_index_from_a_call(text, kind):
    assert type(parse(text).statements[0].value) is kind


@pytest.mark.parametrize("text", [
    "v = xs[0] + r.k + xs[-1] ** 2 + -xs[i]\n",
    "v = (a + b)[0] + (if a then b else c)[0] + g(1)[0][1] + xs[[1]]\n",
    "v = f [x] + concat[relu()] + xs[one_of(0, 1)].k\n",
])
def test_fmt_keeps_fields_and_items(text):
    assert format_source(text) == text
    assert parse(format_source(text)) == parse(text)


@pytest.mark.slow
def test_a_graph_value_picked_by_index_counts_compiles_and_trains():
    space = darchlang.load_string(PICKED_INPUT, "picked.darch").space
    direct = darchlang.load_string(PICKED_INPUT.replace(
        "relu()(states[k])", "relu()(one_of(x, a, b))"), "picked.darch").space
    assert space.count() == direct.count() == 3
    assert [a.identity for a in space.enumerate()] == [a.identity for a in direct.enumerate()]
    for arch in space.enumerate():
        model = compile_architecture(arch, (3, 8, 8))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        x = torch.randn(4, 3, 8, 8)
        loss = F.cross_entropy(model(x), torch.arange(4))
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss) and all(torch.isfinite(p).all() for p in model.parameters())


ERRORS = [
    ("r = { k: 3, n: 4 }\nspace = conv2d(filters: 4, size: r.kk)",
     "t.darch:2:35: error: this record has no field `kk` (its fields: `k`, `n`)",
     "did you mean `k`?"),
    ("xs = [1, 2, 3]\nspace = conv2d(filters: 4, size: xs[3])",
     "t.darch:2:36: error: index 3 is out of range for a list of 3 items",
     "the indices of this list are from 0 to 2 (or -3 to -1 from the end)"),
    ("xs = [1, 2, 3]\nspace = conv2d(filters: 4, size: xs[one_of(0, 2, -4)])",
     "t.darch:2:36: error: index -4 is out of range for a list of 3 items, when "
     "`one_of(0, 2, -4)` is -4", "the indices of this list are from 0 to 2 (or -3 to -1 from the end)"),
    ("space = graph(x) {\n a = relu()(x)\n return add(a, [x, a][one_of(0, 1, 2)])\n}",
     "t.darch:3:22: error: index 2 is out of range for a list of 2 items, when "
     "`one_of(0, 1, 2)` is 2", "the indices of this list are from 0 to 1 (or -2 to -1 from the end)"),
    ("xs = [1, 2]\nspace = conv2d(filters: 4, size: xs[\"a\"])",
     "t.darch:2:37: error: an index must be an integer; this one is string \"a\"",
     "index with a whole number, as `xs[0]` or `xs[-1]`"),
    ("space = conv2d(filters: 4, size: 3[0])",
     "t.darch:1:35: error: integer 3 cannot be indexed",
     "`[i]` takes an item of a list or a character of a string"),
    ("r = { a: 1 }\nspace = conv2d(filters: 4, size: r[0])",
     "t.darch:2:35: error: a record is not indexed", "read a field with `.`, as `r.a`"),
    ("space = conv2d(filters: 4, size: 3 .k)",
     "t.darch:1:36: error: integer 3 has no fields to read with `.`",
     "`.` reads a field of a record (`{ k: 3 }`) or a name from a file imported with "
     "`import \"file\" as name`"),
    ("space = conv2d(filters: 4, size: len({ a: 1 }))",
     "t.darch:1:38: error: `len` needs a list or a string, got record",
     "a record's fields are read by name, as `r.k`"),
]


@pytest.mark.parametrize(("text", "first", "help_text"), ERRORS)
def test_errors_point_at_the_dot_or_the_bracket(text, first, help_text):
    with pytest.raises(DarchError) as err:
        darchlang.load_string(text, "t.darch")
    lines = err.value.render().splitlines()
    assert lines[0] == first
    assert lines[-1] == f"  = help: {help_text}"


@pytest.mark.slow
def test_the_cli_says_record_not_dict(tmp_path):
    path = tmp_path / "t.darch"
    path.write_text("r = { k: 3 }\nspace = conv2d(filters: 4, size: r.j)\n")
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "count", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "dict" not in r.stderr
    assert r.stderr.splitlines()[0].endswith("t.darch:2:35: error: this record has no field "
                                            "`j` (its fields: `k`)")
    path.write_text("r = { k: 3 }\nspace = conv2d(filters: 4, size: r.k)\n")
    assert subprocess.run([sys.executable, "-m", "darchlang.cli", "count", str(path)],
                          capture_output=True, text=True, timeout=60).stdout == "1\n"
