"""The search-space IR: a static graph of value, layer and choice nodes.

Interpreting a program builds the whole space once. A `Choice` object is one
hyperparameter: every place that refers to the same object shares its decision
(binding ties); each call of a function makes new objects (calling copies). Every
node records the set of choice ids inside it (`vars`) so that counting can tell
independent parts apart without looking inside them again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from darchlang.arch.graph import CallSite
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


Child = tuple[str, "SNode"]  # a child node with the path segment that leads to it
MadeBy = tuple[str, tuple[tuple["str | None", Any], ...]]
"""A function's name and the arguments of the call that made a value: (name, value)."""


def each_once(root: SNode, into: Callable[[SNode], Iterable[Any]] | None = None
              ) -> Iterator[SNode]:
    """Every node reachable from `root`, each once, depth first: a space is a DAG (a
    value read twice, a sub-space used in two places), and as a tree its nodes could be
    exponentially many. `into(node)` gives the parts to go on to (default: all of
    them); what is not a space node among them is passed over."""
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, SNode):
            continue
        seen.add(id(node))
        yield node
        stack.extend(node.parts() if into is None else into(node))


class SNode:
    """Base of space nodes; `vars` is the set of choice ids reachable from the node.

    Each kind declares its children (`children()`, in visiting order, each with the
    path segment that leads to it) and the segment it adds itself (`segment`), so the
    passes over a space need cases only for the kinds they treat specially.
    """

    __slots__ = ("vars",)
    type_label = "space"
    segment = ""

    def children(self) -> tuple[Child, ...]:
        return ()

    def parts(self) -> tuple[SNode, ...]:
        """The children without their labels (kinds whose labels are made up for each
        child give their tuple as it is: the passes and `vars` ask for it per node)."""
        return tuple(c for _, c in self.children())

    def _seal(self) -> None:
        self.vars = _union(self.parts())


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

    __slots__ = ("uid", "options", "span", "name", "user_named", "bound_name", "weights", "trace")
    type_label = "choice"

    def __init__(self, options: tuple[SNode, ...], span: Span | None, name: str | None = None,
                 weights: tuple[float, ...] | None = None, trace: tuple[CallSite, ...] = ()):
        self.uid = next(_uids)
        self.trace = trace  # the function calls that made it, as `LayerNode.trace`
        self.options = options
        self.weights = weights
        self.span = span
        self.name = name or ""
        self.user_named = name is not None
        self.bound_name: str | None = None
        self.vars = _union(options) | {self.uid}

    def children(self) -> tuple[Child, ...]:
        return tuple((f"or{i}", o) for i, o in enumerate(self.options))

    def parts(self) -> tuple[SNode, ...]:  # the same, without making the labels
        return self.options


class Derived(SNode):
    """A value computed from other nodes (`2 * w`, `w == 64`): no decision of its own.

    `made_by` is the call of another file's function (a library's: the prelude's
    `make_divisible`) that returned it, when one did: the function's name and the
    arguments given (`make_divisible(16 * width, 8)`), which `show` writes instead of
    the library's body."""

    __slots__ = ("fn", "args", "label", "span", "made_by", "born")
    type_label = "derived value"

    def __init__(self, fn: Callable[..., Any], args: tuple[SNode, ...], label: str, span: Span | None):
        self.fn = fn
        self.args = args
        self.label = label
        self.span = span
        self.made_by: MadeBy | None = None
        self.born = 0  # the interpreter's count of values made, when it made this one
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return tuple((str(i), a) for i, a in enumerate(self.args))

    def parts(self) -> tuple[SNode, ...]:
        return self.args


class Cond(SNode):
    """`if pred then a else b` where `pred` depends on choices (`made_by`: as `Derived`'s)."""

    __slots__ = ("pred", "then", "orelse", "span", "made_by", "born")

    def __init__(self, pred: SNode, then: SNode, orelse: SNode, span: Span | None):
        self.pred, self.then, self.orelse, self.span = pred, then, orelse, span
        self.made_by: MadeBy | None = None
        self.born = 0
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return (("if", self.pred), ("then", self.then), ("else", self.orelse))

    def parts(self) -> tuple[SNode, ...]:
        return (self.pred, self.then, self.orelse)


class ListNode(SNode):
    """A list whose items depend on choices."""

    __slots__ = ("items",)
    type_label = "list"

    def __init__(self, items: tuple[SNode, ...]):
        self.items = items
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return tuple((str(i), a) for i, a in enumerate(self.items))

    def parts(self) -> tuple[SNode, ...]:
        return self.items


class InitNode(SNode):
    """An initializer whose gain depends on choices."""

    __slots__ = ("kind", "gain")
    type_label = "initializer"

    def __init__(self, kind: str, gain: SNode):
        self.kind, self.gain = kind, gain
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return ((f"{self.kind}.gain", self.gain),)


class LayerNode(SNode):
    """A layer primitive with its parameters (in signature order). `trace` holds the
    calls of darchlang functions that made it (`arch.CallSite`s), outermost first;
    empty for a layer written at the top level."""

    __slots__ = ("layer", "params", "span", "trace", "_arguments")

    def __init__(self, layer: LayerDef, params: tuple[tuple[str, SNode], ...], span: Span | None,
                 trace: tuple[CallSite, ...] = ()):
        self.layer, self.params, self.span, self.trace = layer, params, span, trace
        self._arguments: tuple[dict[str, Any], tuple[tuple[str, SNode, Any], ...]] | None = None
        self._seal()

    @property
    def arguments(self) -> tuple[dict[str, Any], tuple[tuple[str, SNode, Any], ...]]:
        """The arguments as a walk builds them: every one by name in signature order, the
        fixed ones with their values, and those with choices (name, node, parameter type)
        to compute per architecture. Made once: a search walks a layer thousands of times."""
        if self._arguments is None:
            fixed: dict[str, Any] = {}
            chosen = []
            for (name, value), param in zip(self.params, self.layer.params, strict=True):
                fixed[name] = value.value if type(value) is Const else None
                if type(value) is not Const:
                    chosen.append((name, value, param.type))
            self._arguments = fixed, tuple(chosen)
        return self._arguments

    @property
    def segment(self) -> str:  # type: ignore[override]
        return self.layer.name

    def children(self) -> tuple[Child, ...]:
        return self.params


class SeqNode(SNode):
    """Sub-spaces applied one after the other (`concat`)."""

    __slots__ = ("items", "span")

    def __init__(self, items: tuple[SNode, ...], span: Span | None):
        self.items, self.span = items, span
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return tuple((str(i), a) for i, a in enumerate(self.items))

    def parts(self) -> tuple[SNode, ...]:
        return self.items


class ResidualNode(SNode):
    """`residual(body)`: the body's output added to its input."""

    __slots__ = ("body", "join", "span")
    segment = "residual"

    def __init__(self, body: SNode, join: SNode, span: Span | None):
        self.body, self.join, self.span = body, join, span
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return (("body", self.body), ("join", self.join))


class RepeatNode(SNode):
    """A body stacked `times` times; `tied` copies share one body (and its choices).

    Untied copies are built in full up to the largest count; copy k is active only
    when the count exceeds k. A tied repeat holds its one body as its only copy.
    """

    __slots__ = ("copies", "times", "tied", "span")

    def __init__(self, copies: tuple[SNode, ...], times: SNode, tied: bool, span: Span | None):
        self.copies, self.times, self.tied, self.span = copies, times, tied, span
        self._seal()

    @property
    def segment(self) -> str:  # type: ignore[override]
        return "repeat_tied" if self.tied else "repeat"

    def children(self) -> tuple[Child, ...]:
        if self.tied:
            return (("times", self.times), ("body", self.copies[0]))
        return (("times", self.times), *((str(i), c) for i, c in enumerate(self.copies)))


class RecordNode(SNode):
    """A `hyperparams { ... }` block: the evaluator's settings, by name."""

    __slots__ = ("fields", "span")
    type_label = "hyperparams block"

    def __init__(self, fields: tuple[tuple[str, SNode], ...], span: Span | None):
        self.fields, self.span = fields, span
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return self.fields


class Fail(SNode):
    """`fail(message)` under a choice: an option that is an error when an architecture
    picks it (sampling, replay, compiling), and counts as written. `span` is where the
    error points (the program's outermost call that reached it), `related` the calls
    between and the `fail` itself; `message` may depend on choices."""

    __slots__ = ("message", "span", "related")
    type_label = "failure"

    def __init__(self, message: SNode, span: Span | None, related: tuple = ()):
        self.message, self.span, self.related = message, span, related
        self._seal()

    def children(self) -> tuple[Child, ...]:
        return (("message", self.message),)


class GraphStepNode:
    """One step of a graph block: `op` applied to `args`, or a merge (`add`, `cat`).

    Each arg evaluates to a `Ref` (or, for merges, a list of them), so an input
    choice is an ordinary `Choice` whose options are references.
    """

    __slots__ = ("name", "kind", "op", "args", "span")

    def __init__(self, name: str, kind: str, op: SNode | None, args: tuple[SNode, ...],
                 span: Span | None):
        self.name, self.kind, self.op, self.args, self.span = name, kind, op, args, span

    def parts(self) -> tuple[SNode, ...]:
        """The op (if any), then the args."""
        return self.args if self.op is None else (self.op, *self.args)


class GraphNode(SNode):
    """A dataflow block with named inputs, steps in order and one output.

    Value i < len(inputs) is an input, then one value per step. A step is active in
    an architecture only when its value reaches the output (`live_steps`).
    """

    __slots__ = ("inputs", "steps", "output", "span", "labels")
    segment = "graph"

    def __init__(self, inputs: tuple[str, ...], steps: tuple[GraphStepNode, ...], output: SNode,
                 span: Span | None, labels: tuple[tuple[str, Choice], ...] = ()):
        self.inputs, self.steps, self.output, self.span = inputs, steps, output, span
        self.labels = labels  # choices bound to a name inside the block, named after it
        self._seal()

    def children(self) -> tuple[Child, ...]:
        out: list[Child] = []
        for st in self.steps:
            if st.op is not None:
                out.append((st.name, st.op))
            out.extend((f"{st.name}.in{j}", a) for j, a in enumerate(st.args))
        out.append(("return", self.output))
        return tuple(out)

    def live_steps(self, refs_of: Callable[[SNode], list[int] | None]
                   ) -> tuple[list[int], dict[int, list[int]]] | None:
        """The value indices of the output, and for each step whose value reaches it the value
        indices of its inputs (last step first).

        `refs_of(arg)` gives the value indices an argument refers to (it may decide
        the argument's choices), or None to stop: the liveness depends on something
        the caller cannot tell yet. Arguments are asked from the output back.
        """
        n = len(self.inputs)
        out = refs_of(self.output)
        if out is None:
            return None
        live = set(out)
        inputs: dict[int, list[int]] = {}
        for k in range(len(self.steps) - 1, -1, -1):
            if k + n in live:
                ids: list[int] = []
                for a in self.steps[k].args:
                    got = refs_of(a)
                    if got is None:
                        return None
                    ids.extend(got)
                inputs[k] = ids
                live.update(ids)
        return out, inputs


def ref_indices(value: Any) -> list[int]:
    """The value indices a graph argument refers to (one `Ref`, or a list of them)."""
    if isinstance(value, list):
        return [r.index for r in value]
    return [value.index]
