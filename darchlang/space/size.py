"""The size of a space's largest architecture, known without building one.

A space is a DAG: a binding used twice is one node reached twice, so forty bindings
`aK = concat [aK-1, aK-1]` make a space of forty nodes whose architectures have 2^40
layers. Counting layers is a sum over that DAG, memoised per node (a choice takes
its largest option, a tied repeat multiplies its body by its largest count, a graph
block adds up every step), so it takes time linear in the space's nodes however large
the architectures are, and a space whose architectures pass `Limits.layers` is refused
before anything tries to build, sample, compile or shape-check one.

The result is an upper bound: where shared choices rule out that every choice takes
its largest option at once, or where an input choice leaves a step unused, the real
largest architecture is smaller.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from darchlang.errors import DarchError, Span
from darchlang.space.nodes import Choice, Cond, Const, Derived, LayerNode, RepeatNode, SNode
from darchlang.space.visitor import Visitor

_VALUES_TRIED = 10_000  # combinations tried to find the largest value of a repeat count


class Largest(Visitor):
    """The largest total of `weight(layer)` over the layers of an architecture of a
    sub-space: with a weight of 1, its layer count (a tied repeat counts each copy, as
    the backend builds each with its own weights); with a layer's largest parameter
    count, an upper bound of its parameters."""

    def __init__(self, weight: Callable[[LayerNode], int] = lambda layer: 1) -> None:
        self.weight = weight
        self.memo: dict[int, int] = {}

    def layers(self, node: SNode) -> int:
        got = self.memo.get(id(node))
        if got is None:
            got = self.visit(node)
            self.memo[id(node)] = got
        return got

    def visit_SNode(self, node: SNode) -> int:
        return sum(self.layers(p) for p in node.parts())

    def visit_Const(self, node: Const) -> int:
        return 0

    def visit_LayerNode(self, node: LayerNode) -> int:
        return self.weight(node)

    def visit_Choice(self, node: Choice) -> int:
        return max((self.layers(o) for o in node.options), default=0)

    def visit_Cond(self, node: Cond) -> int:
        return max(self.layers(node.then), self.layers(node.orelse))

    def visit_RepeatNode(self, node: RepeatNode) -> int:
        if node.tied:
            return largest_int(node.times) * self.layers(node.copies[0])
        return sum(self.layers(c) for c in node.copies)


def largest_int(node: SNode) -> int:
    """The largest integer a repeat count can take (0 if it takes none)."""
    return max((v for v in _values(node, {}) if isinstance(v, int) and not isinstance(v, bool)),
               default=0)


def _values(node: SNode, memo: dict[int, set[Any]]) -> set[Any]:
    """The values of `node`, each part's computed once (`memo`, by node id): a count
    threaded through a recursion reads the previous one twice, and as a tree its
    parts would be computed a number of times exponential in the depth."""
    known = memo.get(id(node))
    if known is not None:
        return known
    t = type(node)
    out: set[Any] = set()
    if t is Const:
        out = {node.value} if not isinstance(node.value, list) else out
    elif t is Choice:
        out = out.union(*(_values(o, memo) for o in node.options))
    elif t is Cond:
        out = _values(node.then, memo) | _values(node.orelse, memo)
    elif t is Derived:
        pools = [sorted(_values(a, memo), key=repr) for a in node.args]
        for combo in itertools.islice(itertools.product(*pools), _VALUES_TRIED):
            try:
                out.add(node.fn(*combo))
            except (ArithmeticError, TypeError, ValueError, DarchError):
                continue
    memo[id(node)] = out
    return out


def check_largest(roots: list[SNode], limit: int) -> int:
    """The largest architecture's layer count; a `DarchError` at the node that first
    passes `limit` when it is larger."""
    sizes = Largest()
    total = sum(sizes.layers(r) for r in roots)
    if total <= limit:
        return total
    node = max(roots, key=sizes.layers)
    while True:  # go down to the smallest part that is already too large
        bigger = [p for p in node.parts() if sizes.layers(p) > limit]
        if not bigger:
            break
        node = max(bigger, key=sizes.layers)
    part = sizes.layers(node)
    if type(node) is RepeatNode:
        help = "lower the repeat count (each copy is built with its own weights)"
    else:
        help = ("a binding used twice is built twice, so doubling a block through "
                "bindings doubles its layers each time; use repeat_tied for a deep stack")
    raise DarchError(
        f"architectures of this space are too large: up to {amount(total)} layers, "
        f"more than the limit of {limit:,}",
        _span_of(node),
        help=help,
        notes=[f"this part alone makes up to {amount(part)} layers"] if part != total else [],
    )


def amount(n: int) -> str:
    """A count as errors write it: with commas, or `about 10^k` past a quadrillion."""
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def _span_of(node: SNode) -> Span | None:
    return getattr(node, "span", None)
