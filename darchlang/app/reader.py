"""Reading REPL input: what kind of input it is, and whether it is complete yet.

An input is a `:command` line, darchlang statements (definitions, as in a file), or
one expression to show. The kind is told from the first tokens, so the parser used
(and so every error position) is the one a file or an expression would get. Whether
input is complete comes from the LALR parser itself: input that ends where the
grammar still expects more (an open bracket, a `def` with no body) is *incomplete*,
and Enter continues it on a new line instead of running it.
"""

from __future__ import annotations

import re
from typing import Literal

from lark.exceptions import UnexpectedInput, UnexpectedToken

from darchlang.syntax import ast
from darchlang.syntax.parser import lark_parser, parse, parse_expression

Kind = Literal["empty", "command", "statements", "expression"]
State = Literal["complete", "incomplete", "error"]

_SKIP = r"\A(?:\s|#[^\n]*)*"
_BLANK = re.compile(_SKIP + r"\Z")
_COMMAND = re.compile(r"\A\s*:")
_STATEMENT = re.compile(_SKIP + r"(?:(?:def|param|import)\b|[A-Za-z_]\w*\s*=(?!=))")


def kind_of(text: str) -> Kind:
    """Statements start with `def`, `param`, `import` or `NAME =`; anything else is an
    expression, except blank input and `:command` lines."""
    if _BLANK.match(text):
        return "empty"
    if _COMMAND.match(text):
        return "command"
    if _STATEMENT.match(text):
        return "statements"
    return "expression"


def start_rule(kind: Kind) -> str:
    """The grammar rule that parses input of this kind."""
    return "expr" if kind == "expression" else "start"


def state(text: str) -> State:
    """Complete, incomplete (the grammar expects more at the end), or a syntax error.

    Only the parser is asked; `parse_input` words the error when there is one.
    """
    kind = kind_of(text)
    if kind in ("empty", "command"):
        return "complete"
    try:
        lark_parser(start_rule(kind)).parse(text)
    except UnexpectedToken as exc:
        return "incomplete" if exc.token.type == "$END" else "error"
    except UnexpectedInput:
        return "error"
    return "complete"


def parse_input(text: str, name: str = "<repl>") -> ast.Program | ast.Node:
    """Statements parse to a Program, an expression to its node; errors are DarchError."""
    if kind_of(text) == "statements":
        return parse(text, name)
    return parse_expression(text, name)


def accepts_at_end(text: str) -> frozenset[str] | None:
    """Terminal names the grammar accepts after `text`, or None when that is unknown
    (blank input may begin a statement or an expression; the text may not lex)."""
    kind = kind_of(text)
    if kind in ("empty", "command"):
        return None
    try:
        interactive = lark_parser(start_rule(kind)).parse_interactive(text)
        interactive.exhaust_lexer()
        return frozenset(interactive.accepts())
    except UnexpectedInput:
        return None


def offset_of(text: str, line: int, col: int) -> int:
    """The string offset of a 1-based line and column (clamped to the text)."""
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    start = sum(len(s) + 1 for s in lines[: line - 1])
    return min(start + max(col - 1, 0), start + len(lines[line - 1]), len(text))
