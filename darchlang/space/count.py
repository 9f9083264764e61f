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

from darchlang.errors import DarchError
from darchlang.space.naming import NamedChoice
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    GraphNode,
    ListNode,
    RepeatNode,
    SNode,
    ref_indices,
)
from darchlang.space.visitor import Visitor

INACTIVE = -1
Env = dict[int, int]  # choice uid -> option index, or INACTIVE


class _Undecided:
    """A value that needs choice `uid` decided first."""

    __slots__ = ("uid",)

    def __init__(self, uid: int):
        self.uid = uid


_INACTIVE_HIT = object()  # the value needs a choice that `env` rules out


def _pending(value: Any) -> bool:
    return value is _INACTIVE_HIT or isinstance(value, _Undecided)


class Counter(Visitor):
    """Counts a space's architectures, optionally with some choices already decided."""

    def __init__(self, choices: dict[int, Choice] | dict[int, NamedChoice],
                 steps: int = 2_000):
        self.choices = choices
        self.steps = steps  # conditionings allowed (`Limits.count_steps`), so it never hangs
        self.memo: dict[tuple, int] = {}
        self.sure = _Sure().sure
        self.known = _Known().visit

    def count(self, node: SNode, env: Env) -> int:
        inside = node.vars
        if not inside:
            return 1
        if env:
            # the decisions inside the node, read from the smaller of the two (a node
            # high up holds thousands of choices; a conditioning decides a few)
            decided = sorted((u, x) for u, x in env.items() if u in inside) \
                if len(env) < len(inside) else sorted((u, env[u]) for u in inside if u in env)
            if len(decided) == len(inside) and all(x != INACTIVE for _, x in decided):
                # every choice inside is decided and none is ruled out: one way, consistent
                return 1
            key = (id(node), tuple(decided))
        else:
            key = (id(node), ())
        hit = self.memo.get(key)
        if hit is None:
            hit = self.visit(node, env)
            self.memo[key] = hit
        return hit

    # -- the kinds that decide what is active ---------------------------------------
    def visit_SNode(self, node: SNode, env: Env) -> int:
        return self.count_items(node.parts(), env)

    def visit_Choice(self, node: Choice, env: Env) -> int:
        index = env.get(node.uid)
        if index is None:
            return sum(self.count(o, env) for o in node.options)
        if index == INACTIVE:
            return 0
        return self.count(node.options[index], env)

    def visit_Cond(self, node: Cond, env: Env) -> int:
        pred = self.known(node.pred, env)
        if _pending(pred):
            return self._pending(node, pred, env)
        return self.count(node.then if pred else node.orelse, env)

    def visit_RepeatNode(self, node: RepeatNode, env: Env) -> int:
        times = self.known(node.times, env)
        if _pending(times):
            return self._pending(node, times, env)
        if not isinstance(times, int) or times <= 0:
            return 1
        body = node.copies[:1] if node.tied else node.copies[:times]
        return self.count_items(body, env)

    def visit_GraphNode(self, node: GraphNode, env: Env) -> int:
        """Only the steps that reach the output count: condition on the input choices
        until the live steps are known, then count the live parts."""
        pending: list[Any] = []

        def refs_of(arg: SNode) -> list[int] | None:
            value = self.known(arg, env)
            if _pending(value):
                pending.append(value)
                return None
            parts.append(arg)
            return ref_indices(value)

        parts: list[SNode] = []
        live = node.live_steps(refs_of)
        if live is None:
            return self._pending(node, pending[0], env)
        for k in live[1]:
            op = node.steps[k].op
            if op is not None:
                parts.append(op)
        return self.count_items(parts, env)

    def _pending(self, node: SNode, value: Any, env: Env) -> int:
        if value is _INACTIVE_HIT:
            return 0
        return self._condition(node, value.uid, env, self.count)

    # -- independent parts multiply; shared choices are conditioned on ---------------
    def count_items(self, items, env: Env) -> int:
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

    def _condition(self, target: Any, uid: int, env: Env, fn) -> int:
        self.steps -= 1
        if self.steps < 0:
            choice = self.choices[uid]
            raise DarchError(
                "this space is too entangled to count exactly: its parts share choices "
                "that other choices may leave unused, and conditioning on them passed "
                "the limit of counting steps",
                choice.span,
                help="share the whole graph block (bind it once) rather than choices used "
                     "by several blocks, or make the shared choices always used",
            )
        items = target if isinstance(target, list) else [target]
        if any(uid in self.sure(it) for it in items):
            none = 0  # the choice is visited whenever these parts are: it cannot stay inactive
        else:
            none = fn(target, {**env, uid: INACTIVE})
        total = none
        for i in range(len(self.choices[uid].options)):
            total += fn(target, {**env, uid: i}) - none
        return total

    def _all_sure(self, items: list[SNode], free: set[int], env: Env) -> bool:
        if env and any(env.get(u) == INACTIVE for it in items for u in it.vars):
            return False
        sure: set[int] = set()
        for it in items:
            sure |= self.sure(it)
        return free <= sure


class _Sure(Visitor):
    """Choices visited whenever a node is: on paths that no decision can skip."""

    def __init__(self) -> None:
        self.memo: dict[int, frozenset[int]] = {}

    def sure(self, node: SNode) -> frozenset[int]:
        got = self.memo.get(id(node))
        if got is None:
            got = self.visit(node) if node.vars else frozenset()
            self.memo[id(node)] = got
        return got

    def visit_SNode(self, node: SNode) -> frozenset[int]:
        return frozenset().union(*(self.sure(p) for p in node.parts()))

    def visit_Choice(self, node: Choice) -> frozenset[int]:
        inner = [self.sure(o) for o in node.options]
        return frozenset({node.uid}).union(frozenset.intersection(*inner) if inner else ())

    def visit_Cond(self, node: Cond) -> frozenset[int]:
        return self.sure(node.pred) | (self.sure(node.then) & self.sure(node.orelse))

    def visit_RepeatNode(self, node: RepeatNode) -> frozenset[int]:
        out = self.sure(node.times)
        fixed = node.times.value if type(node.times) is Const else 0
        for copy in node.copies[: (1 if node.tied else fixed)] if fixed else ():
            out = out | self.sure(copy)
        return out

    def visit_GraphNode(self, node: GraphNode) -> frozenset[int]:
        """The parts reached from the output through fixed arguments only (an input
        choice may leave the other steps unused)."""
        parts: list[SNode] = []

        def refs_of(arg: SNode) -> list[int]:
            parts.append(arg)
            return ref_indices(arg.value) if type(arg) is Const else []

        _, inputs = node.live_steps(refs_of)  # type: ignore[misc]
        for k in inputs:
            op = node.steps[k].op
            if op is not None:
                parts.append(op)
        return frozenset().union(*(self.sure(p) for p in parts))


class _Known(Visitor):
    """The value of a value node under `env`, or which choice must be decided first."""

    def visit_SNode(self, node: SNode, env: Env) -> Any:
        return None

    def visit_Const(self, node: Const, env: Env) -> Any:
        return node.value

    def visit_Choice(self, node: Choice, env: Env) -> Any:
        index = env.get(node.uid)
        if index is None:
            return _Undecided(node.uid)
        if index == INACTIVE:
            return _INACTIVE_HIT
        return self.visit(node.options[index], env)

    def visit_Derived(self, node: Derived, env: Env) -> Any:
        args = self.all(node.args, env)
        if not isinstance(args, list):
            return args
        try:
            return node.fn(*args)
        except (ArithmeticError, TypeError, ValueError):
            return None

    def visit_Cond(self, node: Cond, env: Env) -> Any:
        pred = self.visit(node.pred, env)
        if _pending(pred):
            return pred
        return self.visit(node.then if pred else node.orelse, env)

    def visit_ListNode(self, node: ListNode, env: Env) -> Any:
        return self.all(node.items, env)

    def all(self, nodes: tuple[SNode, ...], env: Env) -> Any:
        """The values of several nodes as a list, or the first reason one is unknown."""
        out = []
        for a in nodes:
            v = self.visit(a, env)
            if _pending(v):
                return v
            out.append(v)
        return out
