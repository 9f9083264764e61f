"""Exact counting of architectures without enumerating them.

The count is the number of distinct decision sequences, which is the number of
consistent pairs (set of active choices, values for them). Parts of a space with no
undecided choice in common multiply. A choice shared by several parts is conditioned
on: with `none` meaning "never active",

    total = N(v = none) + sum over options x of (N(v = x) - N(v = none))

because every world where v stays inactive is counted once for each x. Conditions and
repeat counts that depend on choices are conditioned on the same way. Results are
memoised on (node, the decided choices inside it), so tied repeats and shared blocks
are counted once.
"""

from __future__ import annotations

from typing import Any

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

INACTIVE = -1
_UNKNOWN = object()


class Counter:
    """Counts a space's architectures, optionally with some choices already decided."""

    def __init__(self, choices: dict[int, Choice]):
        self.choices = choices
        self.memo: dict[tuple, int] = {}
        self.sure_memo: dict[int, frozenset[int]] = {}

    def count(self, node: SNode, env: dict[int, int]) -> int:
        if not node.vars:
            return 1
        if env:
            decided = [env[u] for u in node.vars if u in env]
            if len(decided) == len(node.vars) and INACTIVE not in decided:
                # every choice inside is decided and none is ruled out: one way, consistent
                return 1
            key = (id(node), tuple(sorted((u, env[u]) for u in node.vars if u in env)))
        else:
            key = (id(node), ())
        hit = self.memo.get(key)
        if hit is None:
            hit = self._count(node, env)
            self.memo[key] = hit
        return hit

    def _count(self, node: SNode, env: dict[int, int]) -> int:
        t = type(node)
        if t is Choice:
            index = env.get(node.uid)
            if index is None:
                return sum(self.count(o, env) for o in node.options)
            if index == INACTIVE:
                return 0
            return self.count(node.options[index], env)
        if t is Cond:
            pred = self._known(node.pred, env)
            if isinstance(pred, _Undecided):
                return self._condition(node, pred.uid, env, self.count)
            if pred is _INACTIVE_HIT:
                return 0
            return self.count(node.then if pred else node.orelse, env)
        if t is RepeatNode:
            times = self._known(node.times, env)
            if isinstance(times, _Undecided):
                return self._condition(node, times.uid, env, self.count)
            if times is _INACTIVE_HIT:
                return 0
            if not isinstance(times, int) or times <= 0:
                return 1
            body = node.copies[:1] if node.tied else node.copies[:times]
            return self.count_items(body, env)
        if t is GraphNode:
            live = self._live(node, env)
            if isinstance(live, _Undecided):
                return self._condition(node, live.uid, env, self.count)
            if live is _INACTIVE_HIT:
                return 0
            return self.count_items(live, env)
        return self.count_items(_parts(node), env)

    def _live(self, node: GraphNode, env: dict[int, int]) -> Any:
        """The parts of a graph that are active under `env`: the output, and the args and
        op of each step whose value reaches it; or the input choice to decide first."""
        n = len(node.inputs)
        out = self._known(node.output, env)
        if isinstance(out, _Undecided) or out is _INACTIVE_HIT:
            return out
        live = set(ref_indices(out))
        parts: list[SNode] = [node.output]
        for k in range(len(node.steps) - 1, -1, -1):
            if k + n not in live:
                continue
            st = node.steps[k]
            for a in st.args:
                value = self._known(a, env)
                if isinstance(value, _Undecided) or value is _INACTIVE_HIT:
                    return value
                live.update(ref_indices(value))
                parts.append(a)
            if st.op is not None:
                parts.append(st.op)
        return parts

    def count_items(self, items, env: dict[int, int]) -> int:
        live = []
        seen_ids = set()
        for it in items:
            if it.vars and id(it) not in seen_ids:
                seen_ids.add(id(it))
                live.append(it)
        if not live:
            return 1
        if len(live) == 1:
            return self.count(live[0], env)
        seen: set[int] = set()
        shared: set[int] = set()
        for it in live:
            free = it.vars.difference(env) if env else it.vars
            shared |= seen & free
            seen |= free
        if shared and self._all_sure(live, seen, env):
            # every undecided choice is visited in every world and none is ruled out:
            # the worlds are exactly the combinations of their options
            total = 1
            for uid in seen:
                total *= len(self.choices[uid].options)
            return total
        if not shared:
            total = 1
            for it in live:
                total *= self.count(it, env)
                if not total:
                    return 0
            return total
        return self._condition(live, min(shared), env, self.count_items)

    def _condition(self, target: Any, uid: int, env: dict[int, int], fn) -> int:
        items = target if isinstance(target, list) else [target]
        if any(uid in self.sure(it) for it in items):
            none = 0  # the choice is visited whenever these parts are: it cannot stay inactive
        else:
            none = fn(target, {**env, uid: INACTIVE})
        total = none
        for i in range(len(self.choices[uid].options)):
            total += fn(target, {**env, uid: i}) - none
        return total

    def _all_sure(self, items: list[SNode], free: set[int], env: dict[int, int]) -> bool:
        if env and any(env.get(u) == INACTIVE for it in items for u in it.vars):
            return False
        sure: set[int] = set()
        for it in items:
            sure |= self.sure(it)
        return free <= sure

    def sure(self, node: SNode) -> frozenset[int]:
        """Choices visited whenever `node` is: on paths that no decision can skip."""
        got = self.sure_memo.get(id(node))
        if got is not None:
            return got
        t = type(node)
        if t is Choice:
            inner = [self.sure(o) for o in node.options]
            out = frozenset({node.uid}).union(frozenset.intersection(*inner) if inner else ())
        elif t is Cond:
            out = self.sure(node.pred) | (self.sure(node.then) & self.sure(node.orelse))
        elif t is RepeatNode:
            out = self.sure(node.times)
            fixed = node.times.value if type(node.times) is Const else 0
            for copy in node.copies[: (1 if node.tied else fixed)] if fixed else ():
                out = out | self.sure(copy)
        elif t is Const or not node.vars:
            out = frozenset()
        elif t is GraphNode:
            out = frozenset().union(*(self.sure(p) for p in _always_live(node)))
        else:
            out = frozenset().union(*(self.sure(p) for p in _parts(node)))
        self.sure_memo[id(node)] = out
        return out

    def _known(self, node: SNode, env: dict[int, int]) -> Any:
        """The value of a value node under `env`, or which choice must be decided first."""
        t = type(node)
        if t is Const:
            return node.value
        if t is Choice:
            index = env.get(node.uid)
            if index is None:
                return _Undecided(node.uid)
            if index == INACTIVE:
                return _INACTIVE_HIT
            return self._known(node.options[index], env)
        if t is Derived:
            args = self._known_all(node.args, env)
            if not isinstance(args, list):
                return args
            try:
                return node.fn(*args)
            except (ArithmeticError, TypeError, ValueError):
                return None
        if t is Cond:
            pred = self._known(node.pred, env)
            if isinstance(pred, _Undecided) or pred is _INACTIVE_HIT:
                return pred
            return self._known(node.then if pred else node.orelse, env)
        if t is ListNode:
            return self._known_all(node.items, env)
        return None

    def _known_all(self, nodes: tuple[SNode, ...], env: dict[int, int]) -> Any:
        """The values of several nodes as a list, or the first reason one is unknown."""
        out = []
        for a in nodes:
            v = self._known(a, env)
            if isinstance(v, _Undecided) or v is _INACTIVE_HIT:
                return v
            out.append(v)
        return out


class _Undecided:
    __slots__ = ("uid",)

    def __init__(self, uid: int):
        self.uid = uid


_INACTIVE_HIT = object()


def _always_live(node: GraphNode) -> list[SNode]:
    """The parts of a graph active in every world: reached from the output through
    fixed arguments only (an input choice may leave the others unused)."""
    n = len(node.inputs)
    parts: list[SNode] = [node.output]
    live = set(ref_indices(node.output.value)) if type(node.output) is Const else set()
    for k in range(len(node.steps) - 1, -1, -1):
        if k + n in live:
            st = node.steps[k]
            parts.extend(st.args)
            if st.op is not None:
                parts.append(st.op)
            for a in st.args:
                if type(a) is Const:
                    live.update(ref_indices(a.value))
    return parts


def _parts(node: SNode) -> tuple[SNode, ...]:
    t = type(node)
    if t is SeqNode or t is ListNode:
        return node.items
    if t is LayerNode:
        return tuple(p for _, p in node.params)
    if t is RecordNode:
        return tuple(v for _, v in node.fields)
    if t is ResidualNode:
        return (node.body, node.join)
    if t is InitNode:
        return (node.gain,)
    if t is Derived:
        return node.args
    return ()
