"""The input shape a command plans a network for, decided in one place and one order.

Every command that needs an input shape (`darch check --shapes`, `compile`, `draw`,
the REPL's `:compile`) takes it from, in order:

1. `--input` (or the REPL's INPUT argument), when given;
2. the program's own `# darch: input 3x224x224` line (the stdlib spaces each declare
   the input they are proved for), the first such line of the file;
3. the shape of the dataset, when the command names one;
4. `DEFAULT_INPUT` (3x32x32, CIFAR's).

A command that trains (`darch train`, `search`, the REPL's `:train`) feeds its
dataset's examples, so there the input is the dataset's shape whatever the file
says; a `# darch: input` line that says otherwise is a warning at that line
(`mismatch`), since the shapes it was proved for are not the ones it will train on.

Whichever was used is said (`for input 3x32x32 (the default; pass --input)`) unless
it was given on the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from darchlang.errors import DarchError, Source, Span

DEFAULT_INPUT = "3x32x32"

_PRAGMA = re.compile(r"^[ \t]*#[ \t]*darch:[ \t]*input[ \t]+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Input:
    """A decided input shape, and where it came from: "given" (the command line),
    "declared" (the file's `# darch: input` line, at `span`), "dataset" (named by
    `dataset`) or "default"."""

    shape: tuple[int, ...]
    origin: str
    span: Span | None = None
    dataset: str | None = None

    @property
    def text(self) -> str:
        return "x".join(map(str, self.shape))

    def source(self, flag: str = "--input") -> str | None:
        """Where the shape came from, in words; None when the user gave it."""
        if self.origin == "declared" and self.span is not None:
            return f"declared by `# darch: input` at {self.span.source.name}:{self.span.line}"
        if self.origin == "dataset":
            return f"the shape of dataset {self.dataset}"
        if self.origin == "default":
            return f"the default; pass {flag}"
        return None

    def described(self, flag: str = "--input") -> str:
        """`3x32x32 (the default; pass --input)`, or just `3x32x32` when it was given."""
        where = self.source(flag)
        return self.text if where is None else f"{self.text} ({where})"

    def to_json(self) -> dict[str, str]:
        return {"shape": self.text, "from": self.origin}


def parse_input_shape(text: str) -> tuple[int, ...]:
    """`3x32x32` or `64` as a shape; a DarchError saying what is expected otherwise."""
    from darchlang.layers.shapes import parse_shape

    return parse_shape(text)


def declared_input(text: str) -> str | None:
    """The shape text of the first `# darch: input SHAPE` line, if any (unchecked)."""
    match = _PRAGMA.search(text)
    return match.group(1) if match else None


def declared(source: Source | None) -> Input | None:
    """The input the file's `# darch: input` line declares, or None without one; a
    shape that does not read is an error at that line."""
    if source is None:
        return None
    match = _PRAGMA.search(source.text)
    if match is None:
        return None
    line = source.text.count("\n", 0, match.start(1)) + 1
    col = match.start(1) - (source.text.rfind("\n", 0, match.start(1)) + 1) + 1
    span = Span(source, line, col, line, col + len(match.group(1)))
    try:
        shape = parse_input_shape(match.group(1))
    except DarchError as err:
        raise DarchError(err.message, span, err.help) from None
    return Input(shape, "declared", span)


def decide_input(given: str | None, source: Source | None = None,
                 dataset: tuple[str, tuple[int, ...]] | None = None) -> Input:
    """The input shape in the order the module names: `given`, the `# darch: input`
    line of `source`, the shape of `dataset` (its name and shape), the default."""
    if given is not None:
        return Input(parse_input_shape(given), "given")
    found = declared(source)
    if found is not None:
        return found
    if dataset is not None:
        return Input(tuple(dataset[1]), "dataset", dataset=dataset[0])
    return Input(parse_input_shape(DEFAULT_INPUT), "default")


def mismatch(source: Source | None, dataset: str, shape: tuple[int, ...]) -> DarchError | None:
    """For a command that trains on `dataset`: a warning at the file's `# darch: input`
    line when it declares another shape than the examples have, else None."""
    found = declared(source)
    if found is None or found.shape == tuple(shape):
        return None
    text = "x".join(map(str, shape))
    return DarchError(
        f"the program declares input {found.text}, but dataset {dataset} has inputs of "
        f"{text}: its networks are planned and trained for {text}", found.span,
        help=f"train on a dataset of {found.text} inputs (--dataset), or declare "
             f"`# darch: input {text}`")
