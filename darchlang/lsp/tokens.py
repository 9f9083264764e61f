"""Semantic tokens: the REPL's Pygments lexer, sharpened by what the names refer to.

The lexer (`darchlang.repl.lexer.DarchLexer`) colours any text, even text that does
not parse; where the file parses, each name is then told apart by its definition:
a function, a function's parameter, a binding or `param`, a builtin.
"""

from __future__ import annotations

from collections.abc import Collection

from pygments.token import Comment, Keyword, Name, Number, Operator, String, _TokenType

from darchlang.lsp.index import ARGUMENT, DEF, IMPORTED, PARAM, Index
from darchlang.lsp.positions import Lines
from darchlang.repl.lexer import DarchLexer

TOKEN_TYPES = ["keyword", "function", "variable", "parameter", "property", "number",
               "string", "comment", "operator"]
TOKEN_MODIFIERS = ["declaration", "defaultLibrary", "readonly"]

_DECLARATION, _LIBRARY, _READONLY = 1, 2, 4
_BY_KIND = {DEF: "function", ARGUMENT: "parameter"}


def _pygments_kind(token: _TokenType) -> tuple[str, int] | None:
    if token in Comment:
        return "comment", 0
    if token in Operator.Word or token in Keyword:
        return "keyword", 0
    if token is Name.Function:
        return "function", _DECLARATION
    if token is Name.Variable:
        return "variable", _DECLARATION | _READONLY
    if token is Name.Attribute:
        return "property", 0
    if token is Name.Builtin:
        return "function", _LIBRARY
    if token in Name:
        return "variable", 0
    if token in Number:
        return "number", 0
    if token in String:
        return "string", 0
    if token in Operator:
        return "operator", 0
    return None


def _kind(definition: str, modifiers: int) -> tuple[str, int]:
    """A name's token type by what defines it; a program `param` is read-only."""
    return _BY_KIND.get(definition, "variable"), modifiers | (_READONLY if definition == PARAM else 0)


def _name_kinds(index: Index | None, functions: Collection[str]
                ) -> dict[tuple[int, int], tuple[str, int]]:
    """The token kind of each name the index knows, by its 1-based line and column; a
    name from elsewhere is a function when it is one of `functions`."""
    if index is None:
        return {}
    out: dict[tuple[int, int], tuple[str, int]] = {}
    for d in index.definitions:
        out[(d.span.line, d.span.col)] = _kind(d.kind, _DECLARATION)
    for u in index.uses:
        if u.target is not None and u.target.kind != IMPORTED:
            out[(u.span.line, u.span.col)] = _kind(u.target.kind, 0)
        elif u.name in functions:
            out[(u.span.line, u.span.col)] = ("function", 0)
    for k in index.keywords:
        out[(k.span.line, k.span.col)] = ("parameter", 0)
    return out


def semantic_tokens(lines: Lines, index: Index | None, functions: Collection[str] = ()
                    ) -> list[int]:
    """The LSP's relative encoding: for each token its line delta, start delta, length,
    type and modifiers. `functions` are the imported names that are functions."""
    names = _name_kinds(index, functions)
    data: list[int] = []
    last_line = last_start = 0
    for offset, token, value in DarchLexer().get_tokens_unprocessed(lines.text):
        kind = _pygments_kind(token)
        if kind is None or not value or "\n" in value:
            continue
        start = lines.position_at(offset)
        if token in Name:
            line = start.line + 1
            col = offset - lines.starts[start.line] + 1
            kind = names.get((line, col), kind)
        length = lines.codec.client_num_units(value)
        delta_line = start.line - last_line
        delta_start = start.character - last_start if delta_line == 0 else start.character
        data.extend((delta_line, delta_start, length, TOKEN_TYPES.index(kind[0]), kind[1]))
        last_line, last_start = start.line, start.character
    return data
