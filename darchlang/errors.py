"""Diagnostics: every user-facing error is data (message, span, help, notes).

Drawing an error for a terminal, the REPL or JSON is kept apart from raising it, so
the same error can be shown with a caret in a shell and as a position in an editor.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """A named program text; spans point into it so errors can show the line."""

    name: str
    text: str

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""


@dataclass(frozen=True)
class Span:
    """A region of a source, 1-based lines and columns, end exclusive."""

    source: Source
    line: int
    col: int
    end_line: int
    end_col: int

    @property
    def where(self) -> str:
        return f"{self.source.name}:{self.line}:{self.col}"

    def __repr__(self) -> str:  # keeps AST dumps readable
        return f"Span({self.where})"


@dataclass
class DarchError(Exception):
    """The one error type that bad input may raise; it always renders without a traceback."""

    message: str
    span: Span | None = None
    help: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """Compiler-style text: `FILE:LINE:COL: error: MESSAGE`, the line, a caret."""
        if self.span is None:
            out = [f"error: {self.message}"]
        else:
            out = [f"{self.span.where}: error: {self.message}"]
            out.extend(_excerpt(self.span))
        for note in self.notes:
            out.append(f"  = note: {note}")
        if self.help:
            out.append(f"  = help: {self.help}")
        return "\n".join(out)

    def to_json(self) -> dict:
        data: dict = {"message": self.message, "help": self.help, "notes": list(self.notes)}
        if self.span is not None:
            data.update(file=self.span.source.name, line=self.span.line, col=self.span.col)
        return data


MAX_ERRORS = 20


class DarchErrors(DarchError):
    """Several independent errors of one program, in source order (at most MAX_ERRORS),
    reported together as a compiler does. It reads as its first error where one error is
    expected (`message`, `span`); `errors` holds them all."""

    def __init__(self, errors: list[DarchError]):
        ordered = sorted(errors, key=_position)[:MAX_ERRORS]
        first = ordered[0]
        super().__init__(first.message, first.span, first.help, list(first.notes))
        self.errors = ordered

    def render(self) -> str:
        return "\n\n".join(e.render() for e in self.errors) + f"\n\n{len(self.errors)} errors"

    def to_json(self) -> dict:
        return {**self.errors[0].to_json(), "errors": [e.to_json() for e in self.errors]}


def all_errors(err: DarchError) -> list[DarchError]:
    """The errors one exception stands for."""
    return list(err.errors) if isinstance(err, DarchErrors) else [err]


def raise_all(errors: list[DarchError]) -> None:
    """Raise nothing, the one error, or all of them (with duplicates left out)."""
    unique: dict[tuple, DarchError] = {}
    for err in errors:
        for e in all_errors(err):
            unique.setdefault((e.message, *_position(e)), e)
    if len(unique) == 1:
        raise next(iter(unique.values()))
    if unique:
        raise DarchErrors(list(unique.values()))


def _position(err: DarchError) -> tuple[str, int, int]:
    span = err.span
    return ("", 0, 0) if span is None else (span.source.name, span.line, span.col)


def _excerpt(span: Span) -> list[str]:
    text = span.source.line(span.line).expandtabs(1)
    number = str(span.line)
    pad = " " * len(number)
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = 1
    width = max(1, min(width, max(1, len(text) - span.col + 2)))
    caret = " " * (span.col - 1) + "^" * width
    return [f"{pad} |", f"{number} | {text}", f"{pad} | {caret}"]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `help:` text naming the closest known spelling, if one is close enough."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None
