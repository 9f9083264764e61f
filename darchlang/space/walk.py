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
from darchlang.errors import DarchError
from darchlang.layers.defs import describe
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    GraphNode,
    InitNode,
    LayerNode,
    ListNode,
    RecordNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
    ref_indices,
)

if TYPE_CHECKING:
    from darchlang.space.naming import NamedChoice

Decide = Callable[["NamedChoice"], int]


def draw(choice: Choice | NamedChoice, rng: random.Random) -> int:
    """A random option of `choice`: uniform, or by its `weights` when it has them."""
    if choice.weights is None:
        return rng.randrange(len(choice.options))
    return rng.choices(range(len(choice.options)), weights=choice.weights)[0]


class Walk:
    """One pass over a space; collects the decisions it made and what they chose."""

    __slots__ = ("decide", "named", "paths", "decided", "decisions", "names", "values")

    def __init__(self, decide: Decide, named: dict[int, NamedChoice], paths: dict[int, str]):
        self.decide = decide
        self.named = named  # choice uid -> the choice as the space names it
        self.paths = paths  # id of a structural node -> its path
        self.decided: dict[int, int] = {}
        self.decisions: list[int] = []
        self.names: list[str] = []
        self.values: list[Any] = []

    def run(self, node: SNode) -> Any:
        return _DISPATCH[type(node)](self, node)

    def _const(self, node: Const) -> Any:
        return node.value

    def _choice(self, node: Choice) -> Any:
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
            self.values.append(option.value if type(option) is Const else f"option {index}")
            return self.run(option)
        return self.run(node.options[index])

    def _derived(self, node: Derived) -> Any:
        args = [self.run(a) for a in node.args]
        try:
            return node.fn(*args)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise DarchError(f"cannot compute `{node.label}`: {exc}", node.span) from None

    def _cond(self, node: Cond) -> Any:
        pred = self.run(node.pred)
        if not isinstance(pred, bool):
            raise DarchError(f"`if` needs a boolean condition, got {describe(pred)}", node.span)
        return self.run(node.then if pred else node.orelse)

    def _list(self, node: ListNode) -> list[Any]:
        return [self.run(i) for i in node.items]

    def _init(self, node: InitNode) -> arch.Init:
        return arch.Init(node.kind, self.run(node.gain))

    def _layer(self, node: LayerNode) -> arch.Layer:
        attrs = {}
        for (name, value), param in zip(node.params, node.layer.params, strict=True):
            v = self.run(value)
            if type(value) is not Const:
                problem = param.type.check(v)
                if problem:
                    raise DarchError(
                        f"argument `{name}` of `{node.layer.name}`: {problem}", node.span
                    )
            attrs[name] = v
        return arch.Layer(node.layer.name, attrs, self.paths.get(id(node), ""), node.span, node.layer)

    def _seq(self, node: SeqNode) -> arch.Seq:
        return arch.Seq(tuple([self.run(i) for i in node.items]))

    def _residual(self, node: ResidualNode) -> arch.Residual:
        body = self.run(node.body)
        return arch.Residual(body, self.run(node.join), self.paths.get(id(node), ""), node.span)

    def _repeat(self, node: RepeatNode) -> arch.Node:
        times = self.run(node.times)
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            raise DarchError(
                f"a repeat count must be a non-negative integer, got {describe(times)}", node.span
            )
        if node.tied:
            if times == 0:
                return arch.Seq(())
            return arch.Repeat(self.run(node.copies[0]), times, self.paths.get(id(node), ""))
        if times > len(node.copies):
            raise DarchError(
                f"repeat count {times} exceeds the {len(node.copies)} copies built", node.span
            )
        return arch.Seq(tuple([self.run(c) for c in node.copies[:times]]))

    def _graph(self, node: GraphNode) -> arch.Graph:
        """Only the steps whose value reaches the output are active: the input choices
        are decided first, from the output back, then the ops of the live steps in
        order. A step that is not used is neither decided nor built."""
        n = len(node.inputs)
        out = ref_indices(self.run(node.output))[0]
        live = {out}
        inputs: dict[int, list[int]] = {}
        for k in range(len(node.steps) - 1, -1, -1):
            if k + n in live:
                ids = [i for a in node.steps[k].args for i in ref_indices(self.run(a))]
                inputs[k] = ids
                live.update(ids)
        renumber = {i: i for i in range(n)}
        steps = []
        for k, st in enumerate(node.steps):
            if k + n in live:
                renumber[k + n] = n + len(steps)
                op = self.run(st.op) if st.op is not None else None
                ids = tuple(renumber[i] for i in inputs[k])
                steps.append(arch.GraphStep(st.name, st.kind, op, ids, st.span))
        return arch.Graph(node.inputs, tuple(steps), renumber[out], self.paths.get(id(node), ""),
                          node.span)

    def _record(self, node: RecordNode) -> dict[str, Any]:
        return {name: self.run(v) for name, v in node.fields}


_DISPATCH: dict[type, Callable[[Walk, Any], Any]] = {
    Const: Walk._const,
    Choice: Walk._choice,
    Derived: Walk._derived,
    Cond: Walk._cond,
    ListNode: Walk._list,
    InitNode: Walk._init,
    LayerNode: Walk._layer,
    SeqNode: Walk._seq,
    ResidualNode: Walk._residual,
    RepeatNode: Walk._repeat,
    RecordNode: Walk._record,
    GraphNode: Walk._graph,
}
