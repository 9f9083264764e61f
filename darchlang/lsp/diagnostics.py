"""Diagnostics: `darch check`'s errors as LSP diagnostics, and the shape check on save.

The message is the error's first line as `darch check` prints it, followed by its
notes and its `help:`; the range is its span. An error inside an imported file is
shown on the `import` that brings it in, with the file's own position in the text
and as related information, so it can be followed.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from darchlang.errors import DarchError
from darchlang.lsp.positions import Lines
from darchlang.syntax import ast

SOURCE = "darch"


def message(err: DarchError) -> str:
    lines = [err.message]
    lines.extend(f"note: {n}" for n in err.notes)
    if err.help:
        lines.append(f"help: {err.help}")
    return "\n".join(lines)


def to_diagnostic(err: DarchError, lines: Lines, name: str, imports: list[ast.Import],
                  severity: types.DiagnosticSeverity = types.DiagnosticSeverity.Error
                  ) -> types.Diagnostic:
    """The diagnostic for one error of the document `name`."""
    span = err.span
    if span is not None and same_file(span.source.name, name):
        return types.Diagnostic(lines.range(span), message(err), severity=severity,
                                source=SOURCE, related_information=_related(err) or None)
    if span is None:
        return types.Diagnostic(lines.range_at(0, 0), message(err), severity=severity,
                                source=SOURCE)
    where = _import_of(span.source.name, imports)
    target = Lines(span.source.text)
    related = [types.DiagnosticRelatedInformation(
        types.Location(Path(span.source.name).resolve().as_uri(), target.range(span)),
        err.message)] if not span.source.name.startswith("<") else None
    return types.Diagnostic(
        lines.range(where) if where is not None else lines.range_at(0, 0),
        f"{span.where}: {message(err)}", severity=severity, source=SOURCE,
        related_information=related)


def _related(err: DarchError) -> list[types.DiagnosticRelatedInformation]:
    """The error's further places (the line that writes a layer a call made), where
    they are files an editor can open."""
    return [types.DiagnosticRelatedInformation(
        types.Location(Path(r.span.source.name).resolve().as_uri(),
                       Lines(r.span.source.text).range(r.span)), r.message)
        for r in err.related if not r.span.source.name.startswith("<")]


def _import_of(path: str, imports: list[ast.Import]):
    """The import that names the file `path`, else the first (the error came in
    through an import of an import); None when there is no import."""
    stem = Path(path).stem
    for st in imports:
        if Path(st.path).stem == stem and st.span is not None:
            return st.span
    return imports[0].span if imports else None


def same_file(a: str, b: str) -> bool:
    """Whether two source names are the same file."""
    if a == b:
        return True
    if a.startswith("<") or b.startswith("<"):
        return False
    return Path(a).resolve() == Path(b).resolve()
