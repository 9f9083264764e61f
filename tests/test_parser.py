"""The parser as a component: its on-disk table cache, parses in several threads at
once, programs nested past any sensible depth, process settings left as found, and its
fast run of the tables, which must build exactly what Lark's own loop builds."""

import dataclasses
import gc
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

import darchlang
from darchlang import DarchError
from darchlang.process import deep_recursion
from darchlang.syntax import ast
from darchlang.syntax.driver import FastParser, Unparsed
from darchlang.syntax.formatter import format_source
from darchlang.syntax.parser import MAX_DEPTH, parse, parse_expression

COMPLEX = Path(__file__).resolve().parent.parent / "examples" / "cifar10_complex.darch"


def darch_count(cache_home):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    return subprocess.run([sys.executable, "-m", "darchlang.cli", "count", str(COMPLEX)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.slow
def test_parser_tables_are_cached_and_a_damaged_cache_is_rebuilt(tmp_path):
    first = darch_count(tmp_path)
    assert (first.returncode, first.stdout, first.stderr) == (0, "278628139008\n", "")
    folder = tmp_path / "darchlang"
    (lark_tables,) = folder.glob("parser-ast-*.cache")  # Lark's own, for errors
    (fast_tables,) = folder.glob("fast-*.marshal")  # the fast run's copy
    for damaged in (lark_tables, fast_tables):
        damaged.write_bytes(b"not a pickle\n" + os.urandom(64))
    again = darch_count(tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, "278628139008\n", "")
    for damaged in (lark_tables, fast_tables):
        assert damaged.read_bytes()[:12] != b"not a pickle"  # written afresh
    third = darch_count(tmp_path)
    assert (third.returncode, third.stdout, third.stderr) == (0, "278628139008\n", "")


@pytest.mark.slow
def test_an_unusable_cache_folder_is_harmless(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made under a file")
    r = darch_count(blocker)
    assert (r.returncode, r.stdout, r.stderr) == (0, "278628139008\n", "")


def _program(i: int) -> str:
    lines = [f"# program {i} line {k}\nx{i}_{k} = [{k}, {i}]  # end {i}.{k}" for k in range(150)]
    return "\n".join(lines) + "\n"


def test_parses_in_threads_keep_their_own_comments_and_sources():
    programs = [_program(i) for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda t: parse(t, f"p{t[10:12]}.darch"), programs * 3))
    for text, program in zip(programs * 3, results, strict=True):
        assert [c.text for c in program.comments] == re.findall(r"#[^\n]*", text)
        assert all(s.span.source.text is text for s in program.statements)


def test_loading_leaves_the_recursion_limit_and_the_collector_as_they_were():
    limit = sys.getrecursionlimit()
    darchlang.load_string("def f(n) = if n == 0 then relu() else concat [relu(), f(n - 1)]\n"
                          "space = f(150)")
    with pytest.raises(DarchError, match="called 200 times"):
        darchlang.load_string("def f(n) = concat [relu(), f(n + 1)]\nspace = f(0)")
    assert sys.getrecursionlimit() == limit and gc.isenabled()


# ---- deep nesting ------------------------------------------------------------------------
WRAPPERS = {  # (before, after) around an expression; each adds one level or more
    "brackets": ("(", ")"),
    "list": ("[", "]"),
    "concat": ("concat [", "]"),
    "call": ("residual(", ")"),
    "minus": ("-", ""),
    "not": ("not ", ""),
    "plus": ("1 + ", ""),
    "power": ("2 ** ", ""),
    "if": ("if true then ", " else 1"),
    "let": ("let a = 1 in ", ""),
}


def nested(kinds: list[str]) -> str:
    before = "".join(WRAPPERS[k][0] for k in kinds)
    after = "".join(WRAPPERS[k][1] for k in reversed(kinds))
    return f"space = relu()\nx = {before}relu(){after}\n"


def front_end(text: str) -> None:
    """Everything the front end does with a text; only DarchError may come out."""
    try:
        program = parse(text, "deep.darch")
        formatted = format_source(text, "deep.darch")
        with deep_recursion():  # comparing two deep ASTs recurses in dataclass __eq__
            assert parse(formatted) == program
        darchlang.load_string(text, "deep.darch")
    except DarchError as err:
        assert err.span is not None and err.render().startswith("deep.darch:")


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
@pytest.mark.slow
def test_ten_thousand_levels_of_one_kind(kind):
    front_end(nested([kind] * 10_000))


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_thirty_thousand_levels_of_one_kind(kind):
    front_end(nested([kind] * 30_000))


def test_too_deep_is_an_error_at_the_level_past_the_limit():
    with pytest.raises(DarchError) as err:
        parse(nested(["list"] * (MAX_DEPTH + 5)), "deep.darch")
    assert err.value.message == f"this expression nests too deeply: more than {MAX_DEPTH} levels"
    assert err.value.render().startswith("deep.darch:2:")
    assert err.value.help == "bind inner parts to names and use the names"


def test_the_deepest_allowed_program_goes_through_the_front_end():
    text = nested(["list"] * (MAX_DEPTH - 2))
    binding = parse(text).statements[1]
    assert isinstance(binding, ast.Bind) and binding.value.depth == MAX_DEPTH  # relu() is 2
    front_end(text)


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(st.lists(st.sampled_from(sorted(WRAPPERS)), min_size=MAX_DEPTH - 50,
                max_size=MAX_DEPTH + 50))
def test_mixed_nesting_around_the_limit_raises_only_darch_errors(kinds):
    front_end(nested(kinds))


# ---- the fast run of the tables ------------------------------------------------------------
EXAMPLES = sorted(Path(__file__).resolve().parent.parent.glob("examples/**/*.darch")) + sorted(
    Path(__file__).resolve().parent.parent.glob("stdlib/*.darch"))
TOKENS = ["x", "f", "(", ")", "[", "]", "{", "}", ",", ":", "=", ".", "1", "2.5", "-", "+",
          "**", "*", "==", "<", "not ", " and ", " or ", "if ", " then ", " else ", "let ",
          " in ", "def ", "import ", "from ", " as ", '"s"', "# c\n", "\n", " ", "graph",
          "return", "true"]


def by_lark(text: str):
    """What Lark's own loop makes of `text` (the fast run never taken)."""
    with mock.patch.object(FastParser, "parse", side_effect=Unparsed):
        return outcome(text)


def outcome(text: str):
    try:
        program = parse(text, "t.darch")
    except DarchError as err:
        return ("error", err.render())
    return program, [(c.line, c.col, c.text) for c in program.comments], every_span(program)


def every_span(program: ast.Program) -> list:
    """Every span of every node, in a walk of the tree (equality of nodes ignores them)."""
    out, stack = [], [program]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            for f in dataclasses.fields(item):
                value = getattr(item, f.name)
                if f.name.endswith("span") and value is not None:
                    out.append((f.name, *value[1:]))
                elif f.name.endswith("spans"):
                    out.extend((f.name, *s[1:]) for s in value)
                else:
                    stack.append(value)
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_fast_run_builds_what_lark_builds(path):
    text = path.read_text()
    with mock.patch.object(Lark, "parse", side_effect=AssertionError("Lark's loop was run")):
        fast = outcome(text)
    assert fast == by_lark(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_the_fast_run_agrees_with_lark_on_any_token_soup(text):
    assert outcome(text) == by_lark(text)


# ---- operators: grouped by precedence from a flat run --------------------------------------
@pytest.mark.parametrize(("text", "grouped"), [
    ("-x ** 2", "-(x ** 2)"),
    ("2 ** -x ** 2", "2 ** -(x ** 2)"),
    ("-x * y", "(-x) * y"),
    ("not a == b and c", "(not (a == b)) and c"),
    ("a or b and not c", "a or (b and (not c))"),
    ("1 + 2 * 3 - 4", "(1 + (2 * 3)) - 4"),
    ("a ** b ** c", "a ** (b ** c)"),
    ("(a < b) < c", "(a < b) < c"),
])
def test_operators_group_as_the_grammar_says(text, grouped):
    def show(node):
        if isinstance(node, ast.BinOp):
            return f"({show(node.left)} {node.op} {show(node.right)})"
        if isinstance(node, ast.UnaryOp):
            sep = " " if node.op == "not" else ""
            return f"({node.op}{sep}{show(node.operand)})"
        return node.id if isinstance(node, ast.Name) else str(node.value)

    assert show(parse_expression(text)) == show(parse_expression(grouped))


@pytest.mark.parametrize(("text", "message", "col"), [
    ("a < b < c", "comparisons do not chain", 7),
    ("a == not b", "`not` cannot follow this operator without brackets", 6),
    ("- not x", "`not` cannot follow this operator without brackets", 3),
])
def test_operator_mistakes(text, message, col):
    with pytest.raises(DarchError) as err:
        parse_expression(text, "e.darch")
    assert (err.value.message, err.value.span.col) == (message, col)
