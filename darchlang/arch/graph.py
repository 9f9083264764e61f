"""The architecture IR: a series-parallel graph of concrete layer nodes.

`Seq` chains, `Residual` branches around its body and joins, `Repeat` stacks one
concrete body several times (the body is stored once, so a deep tied repeat costs
nothing to build or hash; backends unroll it with separate weights per copy).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from darchlang.errors import Span


@dataclass(frozen=True)
class Init:
    """A weight initializer with its gain; fan-in formulas live in the backend."""

    kind: str
    gain: float


class CallSite(NamedTuple):
    """One call of a darchlang function on the way to a layer: the function's name and
    the span of the call (`inner(...)` at line 31, for a layer written in `inner`)."""

    function: str
    span: Span


class Node:
    """Base of concrete architecture nodes."""

    __slots__ = ()


@dataclass(eq=False, slots=True)
class Layer(Node):
    """A concrete layer; `definition` is the primitive it came from (its LayerDef), so
    backends need no environment to find a plugin's or a session's layers. `trace` is
    the calls of darchlang functions that made it, outermost first (empty for a layer
    written at the top level): the innermost says where the function was called from."""

    kind: str
    attrs: dict[str, Any]
    path: str = ""
    span: Span | None = None
    definition: Any = field(default=None, repr=False)
    trace: tuple[CallSite, ...] = field(default=(), repr=False)
    text: str | None = field(default=None, repr=False)
    """Its printed form, when the walk that built it knew it already: a layer whose
    arguments are all fixed prints the same in every architecture of the space, and a
    search prints every candidate (its identity is the hash of its text)."""


@dataclass(eq=False, slots=True)
class Seq(Node):
    items: tuple[Node, ...]


@dataclass(eq=False, slots=True)
class Residual(Node):
    body: Node
    join: str = "pad"
    path: str = ""
    span: Span | None = None


@dataclass(eq=False, slots=True)
class Repeat(Node):
    body: Node
    times: int
    path: str = ""


@dataclass(frozen=True, slots=True)
class Ref:
    """A named value inside a graph block: input `index` < number of inputs, else a step."""

    type_label = "graph value"
    graph: int
    index: int
    name: str


@dataclass(eq=False, slots=True)
class GraphStep:
    """One node of a graph block: a layer `op` applied to inputs, or a merge of them."""

    name: str
    kind: str  # "apply", "add" or "cat"
    op: Node | None
    inputs: tuple[int, ...]
    span: Span | None = None  # where the step is written, for the backend's merge errors


@dataclass(eq=False, slots=True)
class Graph(Node):
    """A dataflow block; value i < len(inputs) is an input, then one per step in order."""

    inputs: tuple[str, ...]
    steps: tuple[GraphStep, ...]
    output: int
    path: str = ""
    span: Span | None = None

    def value_name(self, index: int) -> str:
        n = len(self.inputs)
        return self.inputs[index] if index < n else self.steps[index - n].name


def layers_of(node: Node | None) -> Iterator[Layer]:
    """Every layer of a network, in printing order (a repeated body once)."""
    if isinstance(node, Layer):
        yield node
    elif isinstance(node, Seq):
        for item in node.items:
            yield from layers_of(item)
    elif isinstance(node, Residual | Repeat):
        yield from layers_of(node.body)
    elif isinstance(node, Graph):
        for step in node.steps:
            yield from layers_of(step.op)


@dataclass(eq=False)
class Architecture:
    """One point of a space: the network, the evaluator settings and how it was picked.

    `decisions[i]` is the option index taken at the i-th active choice, in visiting
    order, and `names[i]` that choice's stable name; replaying `decisions` on the same
    space rebuilds this architecture exactly.
    """

    network: Node | None
    hyperparams: dict[str, Any] = field(default_factory=dict)
    decisions: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    network_name: str = "space"
    hyperparams_name: str = "train"
    _text: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The architecture as `.darch` source with no choices left (canonical)."""
        if self._text is None:
            from darchlang.arch.printer import architecture_text
            from darchlang.process import deep_recursion

            with deep_recursion():  # architectures nest as deep as programs do
                self._text = architecture_text(self)
        return self._text

    @functools.cached_property
    def identity(self) -> str:
        """A stable id: the hash of the canonical text, so equal architectures match
        (kept, like the text: a search asks for it several times per candidate)."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        from darchlang.notebook import architecture_repr

        return architecture_repr(self)

    def _repr_html_(self) -> str:
        from darchlang.notebook import architecture_html

        return architecture_html(self)

    def choices(self) -> dict[str, Any]:
        """Each active choice's name mapped to the value it took."""
        return dict(zip(self.names, self.values, strict=True))

    def to_json(self) -> dict[str, Any]:
        from darchlang.arch.printer import to_jsonable

        return {
            "identity": self.identity,
            "decisions": list(self.decisions),
            "choices": [
                {"name": n, "index": d, "value": to_jsonable(v)}
                for n, d, v in zip(self.names, self.decisions, self.values, strict=True)
            ],
            "hyperparams": {k: to_jsonable(v) for k, v in self.hyperparams.items()},
            "text": self.text,
        }
