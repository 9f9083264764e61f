"""Edits: formatting through `darch fmt`'s formatter, and quick fixes from errors' help.

A quick fix is offered where an error's `help:` names the fix exactly: "did you mean
`conv2d`?" replaces the misspelt name (one the message quotes, found at the error's
span or, for a keyword argument, as the `name:` just before its value), and "keyword
arguments use `:`" (or "record fields use `:`") turns the `=` into `:`.
"""

from __future__ import annotations

import re

from lsprotocol import types

from darchlang.errors import DarchError
from darchlang.lsp.diagnostics import message
from darchlang.lsp.positions import Lines
from darchlang.syntax.formatter import format_source

_DID_YOU_MEAN = re.compile(r"did you mean `([A-Za-z_]\w*)`\?")
_QUOTED = re.compile(r"`([A-Za-z_]\w*)`")
_BEFORE = 200  # how far before an argument's value its `name:` may start
_USE_COLON = ("keyword arguments use `:`", "record fields use `:`")


def formatting(lines: Lines, name: str) -> list[types.TextEdit]:
    """One edit that replaces the document with its canonical layout (none when it is
    already formatted or does not parse: a syntax error is a diagnostic already)."""
    try:
        formatted = format_source(lines.text, name)
    except (DarchError, RecursionError):
        return []
    if formatted == lines.text:
        return []
    return [types.TextEdit(lines.whole(), formatted)]


def quick_fix(err: DarchError, lines: Lines) -> tuple[str, types.TextEdit] | None:
    """The title and edit that fix `err`, when its help says exactly what to write."""
    span = err.span
    if span is None or not err.help:
        return None
    start = lines.offset(lines.position(span.line, span.col))
    end = lines.offset(lines.position(span.end_line, span.end_col))
    match = _DID_YOU_MEAN.search(err.help)
    if match:
        found = _misspelt(err.message, lines.text, start, match.group(1))
        if found is None:
            return None
        wrong, at = found
        edit = types.TextEdit(lines.range_at(at, at + len(wrong)), match.group(1))
        return f"Change `{wrong}` to `{match.group(1)}`", edit
    if err.help.startswith(_USE_COLON) and lines.text[start:end] == "=":
        return "Write `:` instead of `=`", types.TextEdit(lines.range_at(start, end), ":")
    return None


def _misspelt(message: str, text: str, start: int, right: str) -> tuple[str, int] | None:
    """The misspelt name the message quotes and its offset: at `start`, or written as
    `name:` shortly before it."""
    for wrong in reversed(_QUOTED.findall(message)):
        if wrong == right:
            continue
        word = re.compile(rf"(?<![\w]){re.escape(wrong)}(?!\w)")
        if word.match(text, start):
            return wrong, start
        before = [m.start() for m in re.finditer(rf"{word.pattern}\s*:",
                                                 text[max(0, start - _BEFORE):start])]
        if before:
            return wrong, max(0, start - _BEFORE) + before[-1]
    return None


def code_actions(errors: list[DarchError], lines: Lines, uri: str, wanted: types.Range
                 ) -> list[types.CodeAction]:
    """Quick fixes for the errors whose range meets `wanted`."""
    out = []
    for err in errors:
        fix = quick_fix(err, lines)
        if fix is None:
            continue
        title, edit = fix
        if not _meets(lines.range(err.span), wanted):
            continue
        diagnostic = types.Diagnostic(lines.range(err.span), message(err),
                                      severity=types.DiagnosticSeverity.Error, source="darch")
        out.append(types.CodeAction(
            title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
            is_preferred=True, edit=types.WorkspaceEdit(changes={uri: [edit]})))
    return out


def _meets(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
