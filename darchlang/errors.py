"""Diagnostics: every user-facing error is data (message, span, help, notes).

Drawing an error for a terminal, the REPL or JSON is kept apart from raising it, so
the same error can be shown with a caret in a shell and as a position in an editor.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


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


class Span(NamedTuple):
    """A region of a source, 1-based lines and columns, end exclusive.

    A named tuple rather than a frozen dataclass: the parser makes one per node, and a
    frozen dataclass takes three times as long to make (a sixth of parsing)."""

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


@dataclass(frozen=True)
class Related:
    """A second place an error involves (where a failing layer is written, when the
    error points at the call that made it), drawn after the error with its own line."""

    span: Span
    message: str

    def render(self, gutter: int = 0) -> list[str]:
        return [f"{self.span.where}: note: {self.message}", *_excerpt(self.span, gutter)]

    def to_json(self) -> dict:
        return {"message": self.message, "file": self.span.source.name,
                "line": self.span.line, "col": self.span.col}


@dataclass
class DarchError(Exception):
    """The one error type that bad input may raise; it always renders without a traceback.

    `related` are further places with their own excerpt (a layer's definition beside
    the call that made it), `notes` one-line remarks, `help` what would fix it."""

    message: str
    span: Span | None = None
    help: str | None = None
    notes: list[str] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def render(self, severity: str = "error") -> str:
        """Compiler-style text: `FILE:LINE:COL: error: MESSAGE`, the line, a caret
        (`warning:` for what a command reports and goes on past)."""
        spans = [r.span for r in self.related]
        if self.span is None:
            out = [f"{severity}: {self.message}"]
        else:
            out = [f"{self.span.where}: {severity}: {self.message}"]
            spans.append(self.span)
        # one gutter width for every excerpt, as the widest line number needs
        gutter = max((len(str(s.line)) for s in spans), default=0)
        if self.span is not None:
            out.extend(_excerpt(self.span, gutter))
        for place in self.related:
            out.extend(place.render(gutter))
        for note in self.notes:
            out.append(f"  = note: {note}")
        if self.help:
            out.append(f"  = help: {self.help}")
        return "\n".join(out)

    def to_json(self) -> dict:
        data: dict = {"message": self.message, "help": self.help, "notes": list(self.notes)}
        if self.span is not None:
            data.update(file=self.span.source.name, line=self.span.line, col=self.span.col)
        if self.related:
            data["related"] = [place.to_json() for place in self.related]
        return data

    def at_call_site(self, trace: Sequence[tuple[str, Span]]) -> DarchError:
        """This error, about a layer a darchlang function made, moved to the program's
        call that made it (`trace`: (function, call span) pairs, outermost first, as
        `arch.Layer.trace`), the calls between and the layer's own line kept as
        related places. An error elsewhere, or with no calls, is returned as it is."""
        if not trace or self.span is None:
            return self
        calls = list(trace)
        related = [Related(span, f"`{outer}` calls `{function}` here")
                   for (outer, _), (function, span) in zip(calls, calls[1:], strict=False)]
        related.append(Related(self.span, f"the layer is written here, in `{calls[-1][0]}`"))
        return DarchError(self.message, calls[0][1], self.help, list(self.notes),
                          related + self.related)


class UnknownDefine(DarchError):
    """A `-D NAME=VALUE` for a `param` the program does not declare: a mistake in the
    command line, not in the program, so the shell's usage error (exit 2)."""


class CountOutOfReach(DarchError):
    """The exact count of a space is past the counting limits (too entangled). The
    space itself is fine: sampling, compiling, shape proofs and searches do not need
    the count, so only `darch count` fails on this; `check` and `show` warn and go on."""


MAX_ERRORS = 20


class DarchErrors(DarchError):
    """Several independent errors of one program, in source order (at most MAX_ERRORS),
    reported together as a compiler does. It reads as its first error where one error is
    expected (`message`, `span`); `errors` holds them all."""

    def __init__(self, errors: list[DarchError]):
        ordered = sorted(errors, key=_position)[:MAX_ERRORS]
        first = ordered[0]
        super().__init__(first.message, first.span, first.help, list(first.notes),
                         list(first.related))
        self.errors = ordered

    def render(self, severity: str = "error") -> str:
        return ("\n\n".join(e.render(severity) for e in self.errors)
                + f"\n\n{len(self.errors)} {severity}s")

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


_WINDOW = 100  # characters of a very long line shown around the caret


def _excerpt(span: Span, gutter: int = 0) -> list[str]:
    text = span.source.line(span.line).expandtabs(1)
    number = str(span.line).rjust(gutter)
    pad = " " * len(number)
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = 1
    width = max(1, min(width, max(1, len(text) - span.col + 2)))
    col = span.col
    if len(text) > 2 * _WINDOW:  # a line of 240,000 characters is shown around the spot
        start = max(0, min(col - 1 - _WINDOW // 2, len(text) - _WINDOW))
        head = "..." if start else ""
        text = head + text[start:start + _WINDOW] + ("..." if start + _WINDOW < len(text) else "")
        col += len(head) - start
        width = max(1, min(width, _WINDOW + len(head) - col + 1))
    caret = " " * (col - 1) + "^" * width
    return [f"{pad} |", f"{number} | {_printable(text)}", f"{pad} | {caret}"]


def _printable(text: str) -> str:
    """The line with each character a terminal would act on (escape sequences, bells,
    carriage returns: a binary file's bytes) shown as U+FFFD, one for one, so the
    caret below still lines up and nothing in a file can drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `help:` text naming the closest known spelling, if one is close enough."""
    close = closest(name, candidates)
    return f"did you mean `{close}`?" if close else None


# What PyTorch and Keras users type first, for what darchlang names otherwise (offered
# only where the darchlang name is one of the candidates).
_OTHER_NAMES = {
    "linear": "affine", "dense": "affine", "fc": "affine", "sequential": "concat",
    "conv": "conv2d", "maxpool2d": "max_pool2d",
    "avgpool2d": "avg_pool2d", "batchnorm2d": "batch_norm", "layernorm": "layer_norm",
    "choice": "one_of", "lr": "learning_rate_init", "learning_rate": "learning_rate_init",
    "epochs": "max_epochs", "optim": "optimizer",
}


def closest(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known spelling a mistyped `name` most likely meant, or None.

    The same word in other case first, or what darchlang calls a name PyTorch or Keras
    use (`affine` for `linear`); then a name the mistake is the start of
    (`learning_rate` for `learning_rate_init`, `max_epoch`), the first of those in the
    order given, so callers list the most used first (a set is taken in sorted order);
    then the one most alike by difflib's ratio, over `cutoff`, ties to the first given.
    """
    options = (sorted(candidates) if isinstance(candidates, set | frozenset)
               else list(dict.fromkeys(candidates)))
    options = [o for o in options if o != name]
    if not name or not options:
        return None
    folded = name.casefold()
    for option in options:
        if option.casefold() == folded:
            return option
    other = _OTHER_NAMES.get(folded)
    if other in options:
        return other
    if len(name) >= 3:
        for option in options:
            if option.casefold().startswith(folded):
                return option
        for option in options:  # the name with more written after it (`activation`: `act`)
            if len(option) >= 3 and folded.startswith(option.casefold()):
                return option
    best, score = None, cutoff
    matcher = difflib.SequenceMatcher(b=name)
    for option in options:
        matcher.set_seq1(option)
        if matcher.real_quick_ratio() >= score and matcher.quick_ratio() >= score:
            ratio = matcher.ratio()
            if ratio > score or (best is None and ratio >= score):
                best, score = option, ratio
    return best
