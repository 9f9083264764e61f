"""Graph blocks: named values, layers applied to them, merges and input choices.

Inside `graph(x) { ... return v }` a name can hold a *graph value* (a `Ref`). Calling a
sub-space with graph values applies it (`conv2d(filters: 8, size: 3)(x)`); `add` and
`cat` merge values; `one_of(a, b)` over graph values is an input choice and
`choose(k, a, b, c)` picks k of them. The block becomes a `GraphNode`, a sub-space
like any other, so it can be repeated, wrapped in a residual or chosen.
"""

from __future__ import annotations

import itertools
import math
import weakref
from typing import Any

from darchlang.arch.graph import Ref
from darchlang.errors import DarchError, Span
from darchlang.semantics.tied import share
from darchlang.semantics.values import Arg, Call, expect_int
from darchlang.space.nodes import Choice, Cond, Const, GraphNode, GraphStepNode, ListNode, SNode
from darchlang.syntax import ast
from darchlang.text import describe

_graph_ids = itertools.count(1)


class GraphBuilder:
    """Collects the steps of one graph block while its bindings are evaluated."""

    def __init__(self, inputs: list[str]):
        self.gid = next(_graph_ids)
        self.inputs = tuple(inputs)
        self.steps: list[GraphStepNode] = []
        self.open = True

    def ref(self, index: int) -> Ref:
        n = len(self.inputs)
        name = self.inputs[index] if index < n else self.steps[index - n].name
        return Ref(self.gid, index, name)

    def add(self, kind: str, op: SNode | None, args: tuple[SNode, ...], span: Span | None) -> Ref:
        index = len(self.inputs) + len(self.steps)
        self.steps.append(GraphStepNode(f"_{index}", kind, op, args, span))
        return self.ref(index)

    def rename(self, ref: Ref, name: str) -> Ref:
        """Give a step the name it is bound to (the first binding wins)."""
        step = self.steps[ref.index - len(self.inputs)] if ref.index >= len(self.inputs) else None
        if step is not None and step.name.startswith("_"):
            step.name = name
            return self.ref(ref.index)
        return ref


def _agreed(value: Any, measure) -> int | None:
    """For a choice or an `if`, the measure all its options share (-1 if they differ);
    None for anything else."""
    t = type(value)
    if t is Choice:
        options = value.options
    elif t is Cond:
        options = (value.then, value.orelse)
    else:
        return None
    counts = {measure(o) for o in options}
    return counts.pop() if len(counts) == 1 else -1


def arity(value: Any) -> int:
    """How many inputs a sub-space takes: a graph block its inputs, anything else one."""
    if type(value) is GraphNode:
        return len(value.inputs)
    agreed = _agreed(value, arity)
    return 1 if agreed is None else agreed


def width(value: Any) -> int:
    """How many graph values an argument passes: a `choose(k, ...)` passes k, a value
    one; -1 when the options of an input choice pass different numbers."""
    if isinstance(value, list):
        return len(value)
    if type(value) is Const:
        return width(value.value)
    agreed = _agreed(value, width)
    return 1 if agreed is None else agreed


def refs_in(node: SNode) -> set[int]:
    """Graph ids of the references a value node may evaluate to (empty if none)."""
    t = type(node)
    if t is Const:
        v = node.value
        if isinstance(v, Ref):
            return {v.graph}
        if isinstance(v, list) and v and all(isinstance(x, Ref) for x in v):
            return {x.graph for x in v}
        return set()
    if t is Choice:
        out: set[int] = set()
        for o in node.options:
            out |= refs_in(o)
        return out
    if t is Cond:
        return refs_in(node.then) | refs_in(node.orelse)
    return set()


class GraphSupport:
    """The interpreter's half of graph blocks: evaluating blocks, applying, merging."""

    def __init__(self, interp):
        # The interpreter owns this half; a strong link back would make the pair a cycle
        # that outlives every load until the cyclic collector runs (see `Closure`).
        self.interp = weakref.proxy(interp)
        self.builders: dict[int, GraphBuilder] = {}

    def block(self, node: ast.Graph, scope) -> GraphNode:
        from darchlang.semantics.interpreter import Scope

        builder = GraphBuilder(node.inputs)
        self.builders[builder.gid] = builder
        inner = Scope(scope)
        labels: list[tuple[str, Choice]] = []
        for i, name in enumerate(node.inputs):
            inner.names[name] = builder.ref(i)
        try:
            for b in node.bindings:
                value = self.interp.eval(b.value, inner)
                if isinstance(value, Ref) and value.graph == builder.gid:
                    value = builder.rename(value, b.name)
                elif isinstance(value, Choice) and not value.user_named:
                    labels.append((b.name, value))
                inner.names[b.name] = value
            out = self.interp.eval(node.output, inner)
        finally:
            builder.open = False
        output = self.value_arg(Arg(None, out, node.output.span), builder, "the graph's result")
        if width(output) != 1:
            raise DarchError("a graph returns one value", node.output.span,
                             help="merge the values with `add(...)` or `cat(...)` first")
        self.interp.made(node.span, len(builder.steps) + 1)
        return GraphNode(builder.inputs, tuple(builder.steps), output, node.span, tuple(labels))

    def builder_of(self, args: list[Arg], span: Span | None, what: str) -> GraphBuilder:
        gids: set[int] = set()
        for a in args:
            if isinstance(a.value, Ref):
                gids.add(a.value.graph)
            elif isinstance(a.value, SNode):
                gids |= refs_in(a.value)
            elif isinstance(a.value, list):
                gids |= {x.graph for x in a.value if isinstance(x, Ref)}
        if not gids:
            raise DarchError(f"{what} needs values of a graph block", span,
                             help="inside `graph(x) { ... }`, pass the names of graph values")
        if len(gids) > 1:
            raise DarchError(f"{what} mixes values of different graph blocks", span)
        builder = self.builders[gids.pop()]
        if not builder.open:
            raise DarchError("this graph value is used outside its graph block", span,
                             help="a graph value exists only between the braces of its block")
        return builder

    def value_arg(self, arg: Arg, builder: GraphBuilder, what: str) -> SNode:
        """A graph value (or a choice among them) as a space node; anything else is an error."""
        v = arg.value
        if isinstance(v, Ref):
            node: SNode = Const(v)
        elif isinstance(v, list) and v and all(isinstance(x, Ref) for x in v):
            node = Const(list(v))
        elif isinstance(v, SNode) and refs_in(v) and not isinstance(v, ListNode):
            node = v
        else:
            raise DarchError(f"{what} must be a value of the graph block, got {describe(v)}",
                             arg.span, help="name an input or an earlier value of this graph")
        if refs_in(node) - {builder.gid}:
            raise DarchError(f"{what} comes from another graph block", arg.span)
        return node

    def apply(self, func: Any, args: list[Arg], span: Span | None) -> Ref:
        """`layer(x)` inside a graph: a new step applying a sub-space to graph values."""
        for a in args:
            if a.name is not None:
                raise DarchError("a layer applied to graph values takes them positionally", a.span)
        builder = self.builder_of(args, span, "applying a layer")
        want = arity(func)
        if want < 0:
            raise DarchError("the options of this choice take different numbers of inputs", span)
        nodes = tuple(self.value_arg(a, builder, "an input") for a in args)
        widths = [width(n) for n in nodes]
        given = -1 if -1 in widths else sum(widths)
        if given >= 0 and given != want:  # when a choice decides, `check --shapes` tells
            raise DarchError(f"this takes {want} input{'s' if want != 1 else ''}, got {given}",
                             span, help="pass one value per input of the block "
                             "(`choose(k, ...)` passes k)")
        return builder.add("apply", func, nodes, span)

    def merge(self, kind: str, call: Call) -> Ref:
        args = [a for a in call.args if a.name is None]
        for a in call.args:
            if a.name is not None:
                raise DarchError(f"`{kind}` takes no keyword arguments", a.span)
        builder = self.builder_of(args, call.span, f"`{kind}`")
        nodes = tuple(self.value_arg(a, builder, f"an input of `{kind}`") for a in args)
        return builder.add(kind, None, nodes, call.span)

    def choose(self, call: Call) -> Choice:
        """`choose(k, a, b, c)`: an input choice of k values out of several."""
        if not call.args or call.args[0].name is not None:
            raise DarchError("`choose` needs k first, as in `choose(2, a, b, c)`", call.span)
        k = expect_int(call.args[0], "the k of `choose`")
        values = call.args[1:]
        self.builder_of(values, call.span, "`choose`")  # checks they belong to an open graph
        refs: list[Ref] = []
        for a in values:
            if not isinstance(a.value, Ref):
                raise DarchError("`choose` picks among named graph values", a.span)
            if any(r.index == a.value.index for r in refs):
                raise DarchError(f"`{a.value.name}` is listed twice in `choose`", a.span,
                                 help="list each value once: the choice is among distinct values")
            refs.append(a.value)
        if not 1 <= k <= len(refs):
            raise DarchError(f"`choose` needs 1 <= k <= {len(refs)}, got {k}", call.args[0].span)
        self.interp.spend(math.comb(len(refs), k), call.span)  # one option per combination
        options = tuple(Const(list(c)) for c in itertools.combinations(refs, k))
        self.interp.made(call.span)
        return share(call, Choice(options, self.interp.where(call.span), None, trace=self.interp.trace))
