"""The search-space IR: a static graph of value, layer and choice nodes.

Interpreting a program builds the whole space once. A `Choice` object is one
hyperparameter: every place that refers to the same object shares its decision
(binding ties); each call of a function makes new objects (calling copies). Every
node records the set of choice ids inside it (`vars`) so that counting can tell
independent parts apart without looking inside them again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from darchlang.errors import Span
from darchlang.layers.defs import LayerDef

_EMPTY: frozenset[int] = frozenset()
_uids = itertools.count(1)


def _union(nodes) -> frozenset[int]:
    out = _EMPTY
    for n in nodes:
        if n.vars:
            out = out | n.vars if out else n.vars
    return out


class SNode:
    """Base of space nodes; `vars` is the set of choice ids reachable from the node."""

    __slots__ = ("vars",)
    type_label = "space"


class Const(SNode):
    """A fixed value (number, string, boolean, initializer, list of those)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value
        self.vars = _EMPTY


class Choice(SNode):
    """One hyperparameter: pick one of `options` (values or whole sub-spaces).

    `weights` (normalised, one per option) bias random sampling only; counting,
    replay and uniform sampling ignore them.
    """

    __slots__ = ("uid", "options", "span", "name", "user_named", "bound_name", "weights")
    type_label = "choice"

    def __init__(self, options: tuple[SNode, ...], span: Span | None, name: str | None = None,
                 weights: tuple[float, ...] | None = None):
        self.uid = next(_uids)
        self.options = options
        self.weights = weights
        self.span = span
        self.name = name or ""
        self.user_named = name is not None
        self.bound_name: str | None = None
        self.vars = _union(options) | {self.uid}


class Derived(SNode):
    """A value computed from other nodes (`2 * w`, `w == 64`): no decision of its own."""

    __slots__ = ("fn", "args", "label", "span")
    type_label = "derived value"

    def __init__(self, fn: Callable[..., Any], args: tuple[SNode, ...], label: str, span: Span | None):
        self.fn = fn
        self.args = args
        self.label = label
        self.span = span
        self.vars = _union(args)


class Cond(SNode):
    """`if pred then a else b` where `pred` depends on choices."""

    __slots__ = ("pred", "then", "orelse", "span")

    def __init__(self, pred: SNode, then: SNode, orelse: SNode, span: Span | None):
        self.pred, self.then, self.orelse, self.span = pred, then, orelse, span
        self.vars = _union((pred, then, orelse))


class ListNode(SNode):
    """A list whose items depend on choices."""

    __slots__ = ("items",)
    type_label = "list"

    def __init__(self, items: tuple[SNode, ...]):
        self.items = items
        self.vars = _union(items)


class InitNode(SNode):
    """An initializer whose gain depends on choices."""

    __slots__ = ("kind", "gain")
    type_label = "initializer"

    def __init__(self, kind: str, gain: SNode):
        self.kind, self.gain = kind, gain
        self.vars = gain.vars


class LayerNode(SNode):
    """A layer primitive with its parameters (in signature order)."""

    __slots__ = ("layer", "params", "span")

    def __init__(self, layer: LayerDef, params: tuple[tuple[str, SNode], ...], span: Span | None):
        self.layer, self.params, self.span = layer, params, span
        self.vars = _union(p for _, p in params)


class SeqNode(SNode):
    """Sub-spaces applied one after the other (`concat`)."""

    __slots__ = ("items", "span")

    def __init__(self, items: tuple[SNode, ...], span: Span | None):
        self.items, self.span = items, span
        self.vars = _union(items)


class ResidualNode(SNode):
    """`residual(body)`: the body's output added to its input."""

    __slots__ = ("body", "join", "span")

    def __init__(self, body: SNode, join: SNode, span: Span | None):
        self.body, self.join, self.span = body, join, span
        self.vars = _union((body, join))


class RepeatNode(SNode):
    """A body stacked `times` times; `tied` copies share one body (and its choices).

    Untied copies are built in full up to the largest count; copy k is active only
    when the count exceeds k.
    """

    __slots__ = ("copies", "times", "tied", "span")

    def __init__(self, copies: tuple[SNode, ...], times: SNode, tied: bool, span: Span | None):
        self.copies, self.times, self.tied, self.span = copies, times, tied, span
        self.vars = _union((times, *copies))


class RecordNode(SNode):
    """A `hyperparams { ... }` block: the evaluator's settings, by name."""

    __slots__ = ("fields", "span")
    type_label = "hyperparams block"

    def __init__(self, fields: tuple[tuple[str, SNode], ...], span: Span | None):
        self.fields, self.span = fields, span
        self.vars = _union(v for _, v in fields)


class GraphStepNode:
    """One step of a graph block: `op` applied to `args`, or a merge (`add`, `cat`).

    Each arg evaluates to a `Ref` (or, for merges, a list of them), so an input
    choice is an ordinary `Choice` whose options are references.
    """

    __slots__ = ("name", "kind", "op", "args", "span")

    def __init__(self, name: str, kind: str, op: SNode | None, args: tuple[SNode, ...],
                 span: Span | None):
        self.name, self.kind, self.op, self.args, self.span = name, kind, op, args, span


class GraphNode(SNode):
    """A dataflow block with named inputs, steps in order and one output."""

    __slots__ = ("inputs", "steps", "output", "span", "labels")

    def __init__(self, inputs: tuple[str, ...], steps: tuple[GraphStepNode, ...], output: SNode,
                 span: Span | None, labels: tuple[tuple[str, Choice], ...] = ()):
        self.inputs, self.steps, self.output, self.span = inputs, steps, output, span
        self.labels = labels  # choices bound to a name inside the block, named after it
        parts = [output]
        for st in steps:
            parts.extend(st.args)
            if st.op is not None:
                parts.append(st.op)
        self.vars = _union(parts)


def ref_indices(value: Any) -> list[int]:
    """The value indices a graph argument refers to (one `Ref`, or a list of them)."""
    if isinstance(value, list):
        return [r.index for r in value]
    return [value.index]


STRUCTURAL = (LayerNode, SeqNode, ResidualNode, RepeatNode, GraphNode)


def children(node: SNode) -> list[tuple[str, SNode]]:
    """Each child with the path segment that leads to it, in visiting order."""
    t = type(node)
    if t is Choice:
        return [(f"or{i}", o) for i, o in enumerate(node.options)]
    if t is Derived:
        return [(str(i), a) for i, a in enumerate(node.args)]
    if t is Cond:
        return [("if", node.pred), ("then", node.then), ("else", node.orelse)]
    if t is ListNode:
        return [(str(i), a) for i, a in enumerate(node.items)]
    if t is InitNode:
        return [(f"{node.kind}.gain", node.gain)]
    if t is LayerNode:
        return [(name, p) for name, p in node.params]
    if t is SeqNode:
        return [(str(i), a) for i, a in enumerate(node.items)]
    if t is ResidualNode:
        return [("body", node.body), ("join", node.join)]
    if t is RepeatNode:
        if node.tied:
            return [("times", node.times), ("body", node.copies[0])]
        return [("times", node.times)] + [(str(i), c) for i, c in enumerate(node.copies)]
    if t is RecordNode:
        return list(node.fields)
    if t is GraphNode:
        out: list[tuple[str, SNode]] = []
        for st in node.steps:
            if st.op is not None:
                out.append((st.name, st.op))
            out.extend((f"{st.name}.in{j}", a) for j, a in enumerate(st.args))
        out.append(("return", node.output))
        return out
    return []


def segment(node: SNode) -> str:
    """The path segment a node adds for its own kind (a layer adds its name)."""
    t = type(node)
    if t is LayerNode:
        return node.layer.name
    if t is RepeatNode:
        return "repeat_tied" if node.tied else "repeat"
    if t is ResidualNode:
        return "residual"
    if t is GraphNode:
        return "graph"
    return ""
