"""Walk a space in its one deterministic order, deciding each active choice once.

Every way of picking an architecture — random sampling, replaying a decision list,
enumeration, a searcher's policy — is this walk with a different `decide` callback,
so the visiting order and the architectures built are the same for all of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from darchlang import arch
from darchlang.arch.printer import layer_text
from darchlang.errors import DarchError
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    Fail,
    GraphNode,
    InitNode,
    LayerNode,
    ListNode,
    RecordNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    ref_indices,
)
from darchlang.space.visitor import Visitor
from darchlang.text import describe

if TYPE_CHECKING:
    from darchlang.space.naming import NamedChoice

Decide = Callable[["NamedChoice"], int]


def draw(choice: Choice | NamedChoice, rng: random.Random) -> int:
    """A random option of `choice`: uniform, or by its `weights` when it has them."""
    if choice.weights is None:
        return rng.randrange(len(choice.options))
    return rng.choices(range(len(choice.options)), weights=choice.weights)[0]


def uniform_draws(rng: random.Random) -> Callable[[NamedChoice], int]:
    """`draw` for a space without weighted choices: the same option from the same
    stream (`randrange(n)` is `_randbelow(n)` for every n > 0, which a choice's option
    count is), without the two calls around it, a fifth of a random walk."""
    below = getattr(rng, "_randbelow", None)
    if below is None:
        return lambda choice: rng.randrange(len(choice.node.options))
    return lambda choice: below(len(choice.node.options))


class LayerTexts:
    """The printed text of a space's layers, for the architectures of its walks
    (`arch.Layer.text`): a search prints every candidate, its identity being the hash of
    its text. A layer's text depends only on the options taken at the choices it reads
    (`vars`): a layer without choices prints the same in every walk, and one with
    choices the same for the same options, so each text is made once per layer node and
    options, up to LIMIT texts with choices."""

    LIMIT = 1 << 16

    __slots__ = ("fixed", "chosen", "order")

    def __init__(self) -> None:
        self.fixed: dict[int, str] = {}  # id of a layer node -> its text
        self.chosen: dict[tuple, str] = {}  # (id, options taken at its choices) -> text
        self.order: dict[int, tuple[int, ...]] = {}  # id -> the uids of its choices

    def text(self, node: LayerNode, layer: arch.Layer, decided: dict[int, int]) -> str | None:
        """The text of `layer`, built from `node` in a walk that took `decided`; None
        when a value in it has no spelling (printing it says so, where it prints)."""
        key = id(node)
        if not node.vars:
            text = self.fixed.get(key)
            if text is None:
                text = self.fixed[key] = _printed(layer)
            return text
        order = self.order.get(key)
        if order is None:
            order = self.order[key] = tuple(sorted(node.vars))
        # a choice it reads that is not decided (in a branch not taken) did not count
        taken = (key, *[decided.get(uid, -1) for uid in order])
        text = self.chosen.get(taken)
        if text is None:
            text = _printed(layer)
            if len(self.chosen) < self.LIMIT:
                self.chosen[taken] = text
        return text


def _printed(layer: arch.Layer) -> str | None:
    try:
        return layer_text(layer)
    except (TypeError, ValueError):
        return None


class Walk(Visitor):
    """One pass over a space; collects the decisions it made and what they chose."""

    __slots__ = ("decide", "named", "paths", "texts", "decided", "decisions", "names", "values",
                 "computed")

    def __init__(self, decide: Decide, named: dict[int, NamedChoice], paths: dict[int, str],
                 texts: LayerTexts | None = None):
        self.decide = decide
        self.named = named  # choice uid -> the choice as the space names it
        self.paths = paths  # id of a structural node -> its path
        self.texts = texts  # kept by the space; None: the layers' texts are not wanted
        self.decided: dict[int, int] = {}
        self.decisions: list[int] = []
        self.names: list[str] = []
        self.values: list[Any] = []
        # id of a derived value or condition -> what it computed in this walk. A value
        # threaded through a recursion reads the previous one twice or more (`x + (if x >
        # 3 then 1 else 0)`): the space is a DAG, and computing it as a tree would take
        # time exponential in the depth. The nodes outlive the walk, so ids are stable.
        self.computed: dict[int, Any] = {}

    def visit(self, node: Any) -> Any:  # `Visitor.visit` without extra arguments: the hot path
        fn = self._table.get(type(node))
        if fn is None:
            fn = self._method(type(node))
        return fn(self, node)

    def visit_Const(self, node: Const) -> Any:
        return node.value

    def visit_Choice(self, node: Choice) -> Any:
        index = self.decided.get(node.uid)
        if index is None:
            named = self.named[node.uid]
            index = self.decide(named)
            if not 0 <= index < len(node.options):
                raise DarchError(
                    f"decision {index} is out of range for choice `{named.name}` "
                    f"with {len(node.options)} options",
                    node.span,
                )
            self.decided[node.uid] = index
            self.decisions.append(index)
            self.names.append(named.name)
            option = node.options[index]
            if type(option) is Const:  # most options: the value, without a dispatch
                self.values.append(option.value)
                return option.value
            self.values.append(f"option {index}")
            return self.visit(option)
        option = node.options[index]
        return option.value if type(option) is Const else self.visit(option)

    def visit_Derived(self, node: Derived) -> Any:
        computed = self.computed
        key = id(node)
        if key in computed:
            return computed[key]
        args = [self.visit(a) for a in node.args]
        try:
            value = computed[key] = node.fn(*args)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise DarchError(f"cannot compute `{node.label}`: {exc}", node.span) from None
        return value

    def visit_Cond(self, node: Cond) -> Any:
        """The branch the condition takes; a value (not a sub-space, which each use
        builds afresh) is kept for the other uses of the same `if` in this walk."""
        computed = self.computed
        key = id(node)
        if key in computed:
            return computed[key]
        pred = self.visit(node.pred)
        if not isinstance(pred, bool):
            raise DarchError(f"`if` needs a boolean condition, got {describe(pred)}", node.span)
        value = self.visit(node.then if pred else node.orelse)
        if not isinstance(value, arch.Node):
            computed[key] = value
        return value

    def visit_ListNode(self, node: ListNode) -> list[Any]:
        return [self.visit(i) for i in node.items]

    def visit_InitNode(self, node: InitNode) -> arch.Init:
        return arch.Init(node.kind, self.visit(node.gain))

    def visit_LayerNode(self, node: LayerNode) -> arch.Layer:
        fixed, chosen = node.arguments
        attrs = fixed.copy()  # every argument in order; those with choices filled in now
        for name, value, ptype in chosen:
            v = self.visit(value)
            problem = ptype.check(v)
            if problem:
                raise DarchError(f"argument `{name}` of `{node.layer.name}`: {problem}", node.span)
            attrs[name] = v
        layer = arch.Layer(node.layer.name, attrs, self.paths.get(id(node), ""), node.span,
                           node.layer, node.trace)
        if self.texts is not None:
            layer.text = self.texts.text(node, layer, self.decided)
        return layer

    def visit_SeqNode(self, node: SeqNode) -> arch.Seq:
        return arch.Seq(tuple([self.visit(i) for i in node.items]))

    def visit_ResidualNode(self, node: ResidualNode) -> arch.Residual:
        body = self.visit(node.body)
        return arch.Residual(body, self.visit(node.join), self.paths.get(id(node), ""), node.span)

    def visit_RepeatNode(self, node: RepeatNode) -> arch.Node:
        times = self.visit(node.times)
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            raise DarchError(
                f"a repeat count must be a non-negative integer, got {describe(times)}", node.span
            )
        if node.tied:
            if times == 0:
                return arch.Seq(())
            return arch.Repeat(self.visit(node.copies[0]), times, self.paths.get(id(node), ""))
        if times > len(node.copies):
            raise DarchError(
                f"repeat count {times} exceeds the {len(node.copies)} copies built", node.span
            )
        return arch.Seq(tuple([self.visit(c) for c in node.copies[:times]]))

    def visit_GraphNode(self, node: GraphNode) -> arch.Graph:
        """Only the steps whose value reaches the output are active: the input choices
        are decided first, from the output back, then the ops of the live steps in
        order. A step that is not used is neither decided nor built."""
        n = len(node.inputs)
        live = node.live_steps(lambda a: ref_indices(self.visit(a)))
        assert live is not None  # the walk decides every argument it asks about
        (out,), inputs = live
        renumber = {i: i for i in range(n)}
        steps = []
        for k, st in enumerate(node.steps):
            if k in inputs:
                renumber[k + n] = n + len(steps)
                op = self.visit(st.op) if st.op is not None else None
                ids = tuple(renumber[i] for i in inputs[k])
                steps.append(arch.GraphStep(st.name, st.kind, op, ids, st.span))
        return arch.Graph(node.inputs, tuple(steps), renumber[out], self.paths.get(id(node), ""),
                          node.span)

    def visit_Fail(self, node: Fail) -> Any:
        """A `fail(...)` this architecture takes: the program's own error."""
        raise DarchError(str(self.visit(node.message)), node.span, related=list(node.related))

    def visit_RecordNode(self, node: RecordNode) -> dict[str, Any]:
        return {name: self.visit(v) for name, v in node.fields}
