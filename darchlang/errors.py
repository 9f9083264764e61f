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
