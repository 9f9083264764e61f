"""Exact counting of architectures without enumerating them.

The count is the number of distinct decision sequences, which is the number of
consistent pairs (set of active choices, values for them). Parts of a space with no
undecided choice in common multiply. A choice shared by several parts is conditioned
on: with `none` meaning "never active",

    total = N(v = none) + sum over options x of (N(v = x) - N(v = none))

because every world where v stays inactive is counted once for each x. Conditions and
repeat counts that depend on choices are conditioned on the same way, the choices that
decide which parts are active first.

Conditioning is a search over decisions, and most of its branches lead to the same
rest of the problem: once the edges so far are decided, the rest of an edge budget
depends only on their sum. So results are memoised twice: on (node, the decided choices
inside it), which is cheap, and on the node's *residual* under the decisions, the values
of its largest fully decided parts (a sum, a comparison, a decided option) that the
undecided rest reads. Parts that share choices are first split into the groups that
still share an undecided choice once the decided conditions and options are resolved.
That is a dynamic program over the values of derived expressions: a budget over 21
edges takes a few hundred conditionings, not 2^21. A motif's choices (shared parts
that use all of them whenever they are used, and whose values no condition outside
reads) are one factor: K ways when used, with K the product of their option counts
(of the options that may be used, where some choice they may reach is ruled out), so a
hierarchical space of six shared motifs counts in 2^6 branches, not 7^36. Where every
undecided choice of a part is used whatever the others decide (one DARTS cell's packed
genes), the count is their product without conditioning. What it cannot do is see inside
arithmetic: a condition on a number packed from ten choices (`top // 7 ** k % 7`) needs
all ten decided, and that passes the limit with an error naming the condition.
"""

from __future__ import annotations

import itertools
import types
from typing import Any

from darchlang.arch.graph import Ref
from darchlang.errors import CountOutOfReach, Related
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

# Units of work (a node looked at while resolving, keying or visiting under new
# decisions) allowed per counting step: a conditioning costs a few hundred units on the
# entangled spaces that count, and the budget stops the ones that cannot well under a
# second, however large their nodes are.
WORK_PER_STEP = 110


class _Undecided:
    """A value that needs choice `uid` decided first."""

    __slots__ = ("uid",)

    def __init__(self, uid: int):
        self.uid = uid


_INACTIVE_HIT = object()  # the value needs a choice that `env` rules out
_MISSING = object()


def _pending(value: Any) -> bool:
    return value is _INACTIVE_HIT or isinstance(value, _Undecided)


def _hashable(value: Any) -> Any:
    """A memo-key form of a value: lists as tuples, the type kept (True is not 1)."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value.__class__, value


class Counter(Visitor):
    """Counts a space's architectures, optionally with some choices already decided."""

    def __init__(self, choices: dict[int, Choice] | dict[int, NamedChoice],
                 steps: int = 2_000):
        self.choices = choices
        self.per_count = steps  # conditionings allowed per count (`Limits.count_steps`)
        self.limit = self.steps = steps  # this count's limit, and what is left of it
        self.work = steps * WORK_PER_STEP
        self.memo: dict[tuple, int] = {}
        self.sure = _Sure().sure
        self._known = _Known()
        self.known = self._known.value
        self.settled = self._known.settled
        self.canon = _Canon().of
        # the conditionings under way, outermost first: (choice uid, the node whose
        # condition or count needs it, or None for a choice shared by several parts)
        self.stack: list[tuple[int, SNode | None]] = []

    def total(self, items: list[SNode], env: Env, steps: int | None = None) -> int:
        """The count of `items` together, with a fresh budget of counting steps (the
        counter's limit, or `steps`)."""
        self.limit = self.steps = self.per_count if steps is None else steps
        self.work = self.limit * WORK_PER_STEP
        self.stack.clear()
        self._known.forget()
        self._known.computed = 0
        return self.count_items(items, env)

    def count(self, node: SNode, env: Env) -> int:
        if not node.vars:
            return 1
        if env:
            self.work -= 1 + (len(env) >> 3)  # reading the decisions inside
            key = self._decided_key(node, env)
            if key is None:
                return 1
        else:
            key = (id(node), ())
        hit = self.memo.get(key)
        if hit is None:
            self.work -= 1
            hit = self.visit(node, env)
            self.memo[key] = hit
        return hit

    @staticmethod
    def _decided_key(node: SNode, env: Env) -> tuple | None:
        """(node, the decisions inside it), or None when every choice inside is decided
        and none is ruled out (one way, consistent)."""
        inside = node.vars
        # read from the smaller of the two (a node high up holds thousands of choices;
        # a conditioning decides a few)
        decided = sorted((u, x) for u, x in env.items() if u in inside) \
            if len(env) < len(inside) else sorted((u, env[u]) for u in inside if u in env)
        if len(decided) == len(inside) and all(x != INACTIVE for _, x in decided):
            return None
        return id(node), tuple(decided)

    def _count_rest(self, node: SNode, env: Env) -> int:
        """`count` for a branch of a conditioning, memoised on the node's residual: the
        same rest under other decisions (another edge set of the same sum) counts once.
        With one or two decisions inside, the residual is rarely coarser than they are."""
        inside = node.vars
        if len(env) < 3 or sum(1 for u in env if u in inside) < 3:
            return self.count(node, env)
        plain = self._decided_key(node, env)
        if plain is None:
            return 1
        hit = self.memo.get(plain)
        if hit is None:
            key = ("r", id(node), *self._residual(node, env))
            hit = self.memo.get(key)
            if hit is None:
                hit = self.count(node, env)
                self.memo[key] = hit
            self.memo[plain] = hit
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
        parts = self._live_parts(node, env)
        if not isinstance(parts, list):
            return self._pending(node, parts, env)
        return self.count_items(parts, env)

    def _live_parts(self, node: GraphNode, env: Env) -> list[SNode] | Any:
        """The parts of a graph block that count under `env`: the arguments and
        operations of the steps that reach the output; else the pending value of the
        first input choice that decides which do."""
        pending: list[Any] = []
        self.work -= len(node.steps)

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
            return pending[0]
        for k in live[1]:
            op = node.steps[k].op
            if op is not None:
                parts.append(op)
        return parts

    def _pending(self, node: SNode, value: Any, env: Env) -> int:
        if value is _INACTIVE_HIT:
            return 0
        free = node.vars.difference(env) if env else node.vars
        if self._all_sure([node], free, env):
            # what the undecided choices decide, they are all used whatever they decide
            # (one DARTS cell: its packed genes pick its steps' inputs, and every gene is
            # read): the worlds are their options' combinations, as for shared parts
            return self._product(free)
        return self._condition(node, value.uid, env, self._count_rest, node)

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
            return self._product(seen)
        if not shared:
            total = 1
            for it in live:
                total *= self.count(it, env)
                if not total:
                    return 0
            return total
        return self._entangled(live, env)

    def _entangled(self, items: list[SNode], env: Env) -> int:
        """Parts that share undecided choices: resolve what the decisions fix, split
        into groups that still share one, and condition within each group."""
        decided = set(env)
        parts: list[SNode] = []
        seen: set[int] = set()
        for it in items:
            if not self._resolve(it, env, decided, parts, seen):
                return 0
        total = 1
        for group in self._groups(parts, env):
            total *= self._group(group, env, decided)
            if not total:
                return 0
        return total

    def _group(self, group: list[SNode], env: Env, decided: set[int]) -> int:
        if len(group) == 1:
            return self.count(group[0], env)
        free: set[int] = set()
        shared: set[int] = set()
        for it in group:
            mine = it.vars.difference(decided)
            shared |= free & mine
            free |= mine
        if self._all_sure(group, free, env):
            return self._product(free)
        key = self._group_key(group, env, decided)
        hit = self.memo.get(key)
        if hit is None:
            uid, guard = self._pick(group, env, shared)
            block = None if guard is not None else self._block(group, uid, decided, env)
            if block:
                hit = self._condition_block(group, block, env)
            else:
                hit = self._condition(group, uid, env, self.count_items, guard)
            self.memo[key] = hit
        return hit

    def _block(self, group: list[SNode], uid: int, decided: set[int],
               env: Env) -> tuple[list[int], int, Env] | None:
        """The choices that `uid` is always used with, as one motif: the undecided
        choices B of the largest parts holding `uid` that use all of B whenever they are
        used and whose values no condition reads, when no other part uses any of B.
        With it, how many assignments of B those parts may be used with, and one of
        them (see `_allowed`). None when there is no such block of two or more."""
        found: list[SNode] = []
        seen: set[int] = set()

        def holders(node: SNode, control: bool) -> bool:
            if id(node) in seen or uid not in node.vars:
                return True
            seen.add(id(node))
            self.work -= 1
            free = node.vars - decided
            if not control and free <= self.sure(node):
                found.append(node)
                return True
            if type(node) is Choice and node.uid == uid:
                return False  # read on its own, or where its value decides something
            heads = _control_parts(node)
            return all(holders(p, control or p in heads) for p in node.parts())

        if not all(holders(it, False) for it in group) or not found:
            return None
        block = found[0].vars - decided
        if len(block) < 2 or any(q.vars - decided != block for q in found):
            return None
        inside = {id(q) for q in found}
        outside: set[int] = set()

        def strays(node: SNode) -> bool:
            if id(node) in inside or id(node) in outside or node.vars.isdisjoint(block):
                return False
            outside.add(id(node))
            self.work -= 1
            return (type(node) is Choice and node.uid in block) or any(
                strays(p) for p in node.parts())

        if any(strays(it) for it in group):
            return None
        return self._allowed(found, block, env)

    def _allowed(self, found: list[SNode], block: set[int],
                 env: Env) -> tuple[list[int], int, Env] | None:
        """How many assignments of the motif's choices `block` its parts `found` may be
        used with, and one of them. With no choice ruled out inside, every assignment
        (a fully decided part is consistent). Where some are ruled out (a tied cell's
        edges when a motif they may pick is unused), an option of a choice of B may use
        them: the parts are then usable with exactly the assignments whose options all
        count, a product over B's choices, when each choice of B picks among options
        that hold no other choice of B and is allowed the same options wherever it is
        made, and no condition, repeat count or graph input over B decides whether a
        part holding a ruled-out choice is used. None otherwise (conditioning decides)."""
        ruled = {u for u, x in env.items() if x == INACTIVE}
        masks: dict[int, tuple[bool, ...]] = {}
        unrestricted: set[int] = set()  # made somewhere with every option allowed
        seen: set[int] = set()

        def walk(node: SNode) -> bool:
            if id(node) in seen or node.vars.isdisjoint(block):
                return True
            seen.add(id(node))
            self.work -= 1
            if node.vars.isdisjoint(ruled):
                unrestricted.update(node.vars & block)
                return True
            if type(node) is Choice and node.uid in block:
                if any(not o.vars.isdisjoint(block) for o in node.options):
                    return False
                mask = tuple(self.count(o, env) != 0 for o in node.options)
                return masks.setdefault(node.uid, mask) == mask
            if any(not h.vars.isdisjoint(block) for h in _control_parts(node)):
                return False
            return all(walk(p) for p in node.parts())

        if ruled and not all(walk(q) for q in found):
            return None
        ways = 1
        pick: Env = {}
        for u in sorted(block):
            mask = masks.get(u)
            if mask is None:
                ways *= len(self.choices[u].options)
                pick[u] = 0
            elif u in unrestricted and not all(mask):
                return None  # allowed different options in different places
            else:
                ways *= sum(mask)
                pick[u] = mask.index(True) if any(mask) else 0
        return sorted(block), ways, pick

    def _condition_block(self, group: list[SNode], block: tuple[list[int], int, Env],
                         env: Env) -> int:
        """A motif's choices as one factor: with K the number of assignments its parts
        may be used with, every one of them counts alike (the parts then count 1 and no
        condition reads the choices), and every other makes those parts unusable, so

            total = K * N(one of them) + (1 - K) * N(the choices never used)"""
        uids, ways, pick = block
        self.steps -= 1
        if self.steps < 0 or self.work < self._known.computed:
            raise self._too_entangled()
        self.stack.append((uids[0], None))
        fork = self._known.fork(env)
        unused = self._branch(self.count_items, group, env, dict.fromkeys(uids, INACTIVE), fork)
        used = self._branch(self.count_items, group, env, pick, fork) if ways else 0
        self._known.back(fork)
        self.stack.pop()
        return ways * used + (1 - ways) * unused

    def _pick(self, group: list[SNode], env: Env, shared: set[int]) -> tuple[int, SNode | None]:
        """The shared choice to condition on: one that decides which parts are active
        (a condition's, a repeat count's, an undecided option), else the first made."""
        for it in group:
            kind = type(it)
            if kind is Choice:
                if it.uid in shared:
                    return it.uid, None
                continue
            if kind is Cond:
                value = self.known(it.pred, env)
            elif kind is RepeatNode:
                value = self.known(it.times, env)
            else:
                continue
            if isinstance(value, _Undecided) and value.uid in shared:
                return value.uid, it
        return min(shared), None

    def _resolve(self, node: SNode, env: Env, decided: set[int], out: list[SNode],
                 seen: set[int]) -> bool:
        """Append to `out` the parts that `node` still counts as under `env`: a decided
        condition's branch, a decided option, the parts of a node whose parts are all
        used; False when the decisions rule the node out. A node reached twice counts
        once, and so do two that count alike (`_Canon`)."""
        inside = node.vars
        if not inside:
            return True
        number = self.canon(node)
        if number in seen:
            return True
        seen.add(number)
        self.work -= 1
        if inside.isdisjoint(decided):
            out.append(node)
            return True
        if inside <= decided or self.settled(node, env):
            return self.count(node, env) != 0
        kind = type(node)
        if kind is Choice:
            index = env.get(node.uid)
            if index is None:
                out.append(node)
                return True
            return index != INACTIVE and self._resolve(node.options[index], env, decided, out, seen)
        if kind is Cond or kind is RepeatNode:
            value = self.known(node.pred if kind is Cond else node.times, env)
            if value is _INACTIVE_HIT:
                return False
            if isinstance(value, _Undecided):
                out.append(node)
                return True
            if kind is Cond:
                return self._resolve(node.then if value else node.orelse, env, decided, out, seen)
            if not isinstance(value, int) or value <= 0:
                return True
            body = node.copies[:1] if node.tied else node.copies[:value]
            return all(self._resolve(c, env, decided, out, seen) for c in body)
        if kind is GraphNode:
            # its live parts, where its decided input choices fix them and the decisions
            # resolve some of them: two uses of an edge-budget cell then split into the
            # edges still undecided, whose rest reads only the sums so far
            parts = self._live_parts(node, env)
            if parts is _INACTIVE_HIT:
                return False
            if not isinstance(parts, list):
                out.append(node)
                return True
            mine: list[SNode] = []
            if not all(self._resolve(p, env, decided, mine, seen) for p in parts):
                return False
            whole = {id(p) for p in parts}
            if all(id(p) in whole for p in mine) and len(mine) == sum(1 for p in parts if p.vars):
                out.append(node)  # nothing resolved: the block stays one part
            else:
                out.extend(mine)
            return True
        return all(self._resolve(p, env, decided, out, seen) for p in node.parts())

    def _groups(self, parts: list[SNode], env: Env) -> list[list[SNode]]:
        """`parts` split into groups that share no undecided choice (union-find)."""
        parent = list(range(len(parts)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[int, int] = {}
        seen_ids: set[int] = set()
        for i, p in enumerate(parts):
            if id(p) in seen_ids:
                parent[i] = -1  # the same node twice counts once
                continue
            seen_ids.add(id(p))
            for u in p.vars.difference(env) if env else p.vars:
                j = owner.setdefault(u, i)
                if j != i:
                    a, b = root(i), root(j)
                    if a != b:
                        parent[a] = b
        groups: dict[int, list[SNode]] = {}
        for i, p in enumerate(parts):
            if parent[i] != -1:
                groups.setdefault(root(i), []).append(p)
        return list(groups.values())

    # -- residuals: what the undecided rest of a node reads of the decisions ----------
    def _group_key(self, group: list[SNode], env: Env, decided: set[int]) -> tuple:
        """The group's parts, each followed by its residual; a node that several parts
        read (the level of a lattice path, read by every step after it) is walked once."""
        out: list[Any] = ["g"]
        seen: set[int] = set()
        for it in group:
            out.append(id(it))
            if not it.vars.isdisjoint(decided):
                self._front(it, env, decided, out, seen)
        return tuple(out)

    def _residual(self, node: SNode, env: Env, decided: set[int] | None = None) -> tuple:
        out: list[Any] = []
        self._front(node, env, set(env) if decided is None else decided, out, set())
        return tuple(out)

    def _front(self, node: SNode, env: Env, decided: set[int], out: list[Any],
               seen: set[int]) -> None:
        """The largest settled parts of `node` (decided as far as they are used, see
        `_Known.settled`) that its undecided rest reads, each with its value and
        whether it is consistent; decided options on the way. A node reached twice is
        looked at once (the order of the walk is fixed)."""
        inside = node.vars
        if not inside or id(node) in seen:
            return
        self.work -= 1
        if inside.isdisjoint(decided):
            return
        seen.add(id(node))
        if inside <= decided or self.settled(node, env):
            out.append((id(node), _hashable(self.known(node, env)), self.count(node, env)))
            return
        kind = type(node)
        if kind is Choice:
            index = env.get(node.uid)
            if index is None:
                for o in node.options:
                    self._front(o, env, decided, out, seen)
                return
            out.append((node.uid, index))
            if index != INACTIVE:
                self._front(node.options[index], env, decided, out, seen)
            return
        if kind is Cond or kind is RepeatNode:
            head = node.pred if kind is Cond else node.times
            self._front(head, env, decided, out, seen)
            value = self.known(head, env)
            if not _pending(value):
                if kind is Cond:
                    self._front(node.then if value else node.orelse, env, decided, out, seen)
                    return
                if not isinstance(value, int) or value <= 0:
                    return
                for c in node.copies[:1] if node.tied else node.copies[:value]:
                    self._front(c, env, decided, out, seen)
                return
            parts = (node.then, node.orelse) if kind is Cond else node.copies
            for p in parts:
                self._front(p, env, decided, out, seen)
            return
        for p in node.parts():
            self._front(p, env, decided, out, seen)

    # -- conditioning -------------------------------------------------------------------
    def _condition(self, target: Any, uid: int, env: Env, fn, guard: SNode | None) -> int:
        self.steps -= 1
        if self.steps < 0 or self.work < self._known.computed:
            raise self._too_entangled()
        self.stack.append((uid, guard))
        fork = self._known.fork(env)
        items = target if isinstance(target, list) else [target]
        if any(uid in self.sure(it) for it in items):
            none = 0  # the choice is visited whenever these parts are: it cannot stay inactive
        else:
            none = self._branch(fn, target, env, {uid: INACTIVE}, fork)
        total = none
        for i in range(len(self.choices[uid].options)):
            total += self._branch(fn, target, env, {uid: i}, fork) - none
        self._known.back(fork)
        self.stack.pop()
        return total

    def _branch(self, fn, target: Any, env: Env, decide: Env, fork: tuple | None) -> int:
        """`fn(target)` under `env` with `decide` added, its values seeded from `fork`."""
        child = {**env, **decide}
        self._known.enter(child, fork)
        return fn(target, child)

    def _too_entangled(self) -> CountOutOfReach:
        """Where the search over decisions went deep: the outermost conditioning on
        behalf of a condition, repeat count or graph block, else the outermost shared
        choice; and which limit it passed (steps, or the work they may take)."""
        limit = (f"passed the limit of {self.limit:,} counting steps" if self.steps < 0 else
                 f"passed the work that {self.limit:,} counting steps may take "
                 f"(after {self.limit - self.steps:,} of them)")
        if not self.stack:
            return CountOutOfReach(f"this space is too entangled to count exactly: it {limit}")
        uid, guard = next(((u, g) for u, g in self.stack if g is not None), self.stack[0])
        choice = self.choices[uid]
        name = getattr(choice, "name", "") or "a choice"
        made = [Related(choice.span, f"`{name}` is made here")] if choice.span else []
        kind = type(guard)
        if kind is Cond or kind is RepeatNode:
            head = guard.pred if kind is Cond else guard.times
            what = "condition" if kind is Cond else "repeat count"
            return CountOutOfReach(
                f"this space is too entangled to count exactly: this {what} reads a value "
                f"computed from {len(head.vars):,} choices, so counting decides them one "
                f"at a time (`{name}` first) and {limit}",
                getattr(head, "span", None) or guard.span or choice.span,
                help=f"make the {what} read fewer choices: bind each value it tests to "
                     f"a choice of its own (`x = one_of(...)`) rather than computing them "
                     f"from one number; sampling and searching do not need the count",
                related=made,
            )
        if kind is GraphNode:
            return CountOutOfReach(
                "this space is too entangled to count exactly: which steps of this graph "
                "block are used depends on its input choices, so counting decides them "
                f"one at a time (`{name}` first) and {limit}",
                guard.span or choice.span,
                help="give fewer steps an input choice (or fewer options each), or fix "
                     "the steps that every architecture uses; sampling and searching do "
                     "not need the count",
                related=made,
            )
        return CountOutOfReach(
            f"this space is too entangled to count exactly: choice `{name}` is shared by "
            f"parts that other choices may leave unused, and conditioning on such choices "
            f"{limit}",
            choice.span,
            help=f"bind the part that uses `{name}` once and share it whole rather than "
                 f"sharing `{name}` among several parts, or make `{name}` always used",
        )

    def _product(self, uids) -> int:
        """The number of combinations of the options of choices `uids`."""
        total = 1
        for uid in uids:
            total *= len(self.choices[uid].options)
        return total

    def _all_sure(self, items: list[SNode], free: set[int], env: Env) -> bool:
        if env:
            # a ruled-out choice inside may or may not be visited: no product then
            ruled_out = [u for u, x in env.items() if x == INACTIVE]
            if ruled_out and any(u in it.vars for u in ruled_out for it in items):
                return False
        sure: set[int] = set()
        for it in items:
            sure |= self.sure(it)
        return free <= sure


def _control_parts(node: SNode) -> tuple[SNode, ...]:
    """The parts of `node` whose values decide what else is used: a condition, a
    repeat count, the arguments of a graph block's steps and its return."""
    kind = type(node)
    if kind is Cond:
        return (node.pred,)
    if kind is RepeatNode:
        return (node.times,)
    if kind is GraphNode:
        return (*(a for st in node.steps for a in st.args), node.output)
    return ()


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
        return self.union(node, node.parts())

    def union(self, node: SNode, parts) -> frozenset[int]:
        """The choices sure in some of `parts`, looked at until they are all of the
        node's (a graph block whose every gene its output's condition reads is done
        there, without its steps' operations)."""
        out: frozenset[int] = frozenset()
        for p in parts:
            out = out | self.sure(p)
            if len(out) == len(node.vars):
                break
        return out

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
        """The output and the arguments and operations of the steps that every
        architecture uses (an input choice may leave the other steps unused)."""
        out = self.sure(node.output)
        if len(out) == len(node.vars):
            return out  # its condition reads every choice (packed genes)
        n = len(node.inputs)
        # reach[i]: the values that value i uses in every architecture, itself too
        reach: list[frozenset[int]] = [frozenset({i}) for i in range(n)]
        for k, st in enumerate(node.steps):
            reach.append(frozenset({n + k}).union(*(_reached(a, reach) for a in st.args)))
        used = [node.steps[i - n] for i in sorted(_reached(node.output, reach)) if i >= n]
        args = (a for st in used for a in st.args)
        ops = (st.op for st in used if st.op is not None)
        return out | self.union(node, itertools.chain(args, ops))


def _reached(arg: SNode, reach: list[frozenset[int]]) -> frozenset[int]:
    """The values of a graph block that argument `arg` uses in every architecture:
    those its references use, and where a condition or an input choice picks the
    reference, those that every pick uses (`cat(x, y)` or `add(x, y)`: x and y)."""
    kind = type(arg)
    if kind is Const:
        return frozenset().union(*(reach[i] for i in ref_indices(arg.value)))
    if kind is Cond:
        return _reached(arg.then, reach) & _reached(arg.orelse, reach)
    if kind is Choice and arg.options:
        return frozenset.intersection(*(_reached(o, reach) for o in arg.options))
    return frozenset()


class _Canon:
    """Numbers that say which nodes count alike: two nodes get one number when they
    read the same choices in the same way, so that every architecture uses the same
    choices of both (a cell called at three widths: the constants that only its
    layers read do not count). Parts of one number are one part: NAS-Bench-101's
    cell with its edge budget, one per stack, counts as one cell, not three that
    each conditioning walks. A function computed from choices is told apart by what
    it computes (the operator of `+`), anything else by identity."""

    def __init__(self) -> None:
        self.memo: dict[int, int] = {}  # id(node) -> its number
        self.numbers: dict[tuple, int] = {}

    def of(self, node: SNode) -> int:
        got = self.memo.get(id(node))
        if got is None:
            key = self._key(node)
            got = self.memo[id(node)] = self.numbers.setdefault(key, len(self.numbers))
        return got

    def _key(self, node: SNode) -> tuple:
        kind = type(node)
        if kind is Const:
            value = node.value
            if isinstance(value, Ref) or (isinstance(value, list) and value
                                          and all(isinstance(v, Ref) for v in value)):
                return Ref, tuple(ref_indices(value))  # the graph block reads the index
            return Const, _hashable(value)
        if kind is Choice:
            return Choice, node.uid  # one object: the same options
        if kind is Derived:
            fn = node.fn
            inner = getattr(fn, "fn", None)  # an `Operation`: the operator it applies
            what = (type(fn), inner, getattr(fn, "label", None)) \
                if isinstance(inner, _FUNCTIONS) else id(fn)
            return Derived, what, tuple(self.of(a) for a in node.args)
        if kind is GraphNode:
            steps = tuple((st.kind, -1 if st.op is None else self.of(st.op),
                           tuple(self.of(a) for a in st.args)) for st in node.steps)
            return GraphNode, len(node.inputs), steps, self.of(node.output)
        if kind is Cond or kind is ListNode or kind is RepeatNode:
            tied = node.tied if kind is RepeatNode else None
            return kind, tied, tuple(self.of(p) for p in node.parts())
        # layers and the like: their value is no condition's, only their choices count
        return kind, tuple(self.of(p) for p in node.parts() if p.vars)


_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType)


class _Known(Visitor):
    """The value of a value node under `env`, or which choice must be decided first.

    Values are cached per decisions (`env` objects are not changed once made): an edge
    budget's edges read the sums of the edges before them, so without the cache one
    value is computed once per path to it, 2^n times."""

    def __init__(self) -> None:
        self.env: Env | None = None
        self.cache: dict[int, Any] = {}
        self.done: dict[int, bool] = {}  # `settled`, per node, under `env`
        self.computed = 0  # derived values computed, for the counter's budget of work

    def value(self, node: SNode, env: Env) -> Any:
        if env is not self.env:
            self.env, self.cache, self.done = env, {}, {}
        return self.visit(node, env)

    def forget(self) -> None:
        """Drop the cache (the caller may change its decisions between counts)."""
        self.env, self.cache, self.done = None, {}, {}

    def fork(self, env: Env) -> tuple | None:
        """The caches of `env` (None unless they are the current ones), with what of
        them holds under any more decisions: a value that needed no undecided choice,
        a node settled. A conditioning on `env` seeds each branch with it (`enter`)
        and returns to it after (`back`): a branch then computes only what its new
        decision changes, not every value of a chain anew."""
        if env is not self.env:
            return None
        kept = {k: v for k, v in self.cache.items() if type(v) is not _Undecided}
        sure = {k: True for k, v in self.done.items() if v}
        return env, self.cache, self.done, kept, sure

    def enter(self, env: Env, fork: tuple | None) -> None:
        """Take `env`, an extension of the forked decisions, as the current one."""
        if fork is not None:
            kept, sure = fork[3], fork[4]
            self.computed += (len(kept) + len(sure)) >> 4  # the copies are work too
            self.env, self.cache, self.done = env, dict(kept), dict(sure)

    def back(self, fork: tuple | None) -> None:
        """Return to the forked decisions and their caches."""
        if fork is not None:
            self.env, self.cache, self.done = fork[:3]

    def settled(self, node: SNode, env: Env) -> bool:
        """Whether `env` decides `node` as far as it is used: every choice on the path
        its value takes is decided (the option a decided choice picks, the branch a
        decided condition takes, the copies a decided count makes), so its value and
        count no longer depend on the choices left undecided inside, which it never
        uses. A level of a lattice path is settled once the steps to it are decided,
        though the options the walk did not take stay undecided: the rest then reads
        its value only, and counts once per value (see `Counter._front`)."""
        if not node.vars:
            return True
        if env is not self.env:
            self.env, self.cache, self.done = env, {}, {}
        got = self.done.get(id(node))
        if got is None:
            self.computed += 1
            got = self._settle(node, env)
            self.done[id(node)] = got
        return got

    def _settle(self, node: SNode, env: Env) -> bool:
        kind = type(node)
        if kind is Choice:
            index = env.get(node.uid)
            return index is not None and (index == INACTIVE
                                          or self.settled(node.options[index], env))
        if kind is Cond or kind is RepeatNode:
            head = node.pred if kind is Cond else node.times
            if not self.settled(head, env):
                return False
            value = self.visit(head, env)
            if _pending(value):
                return True  # ruled out: it counts 0 whatever is undecided
            if kind is Cond:
                return self.settled(node.then if value else node.orelse, env)
            if not isinstance(value, int) or value <= 0:
                return True
            return all(self.settled(c, env)
                       for c in (node.copies[:1] if node.tied else node.copies[:value]))
        return all(self.settled(p, env) for p in node.parts())

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
        got = self.cache.get(id(node), _MISSING)
        if got is not _MISSING:
            return got
        self.computed += 1
        args = self.all(node.args, env)
        if not isinstance(args, list):
            got = args
        else:
            try:
                got = node.fn(*args)
            except (ArithmeticError, TypeError, ValueError):
                got = None
        self.cache[id(node)] = got
        return got

    def visit_Cond(self, node: Cond, env: Env) -> Any:
        got = self.cache.get(id(node), _MISSING)
        if got is not _MISSING:
            return got
        pred = self.visit(node.pred, env)
        got = pred if _pending(pred) else self.visit(node.then if pred else node.orelse, env)
        self.cache[id(node)] = got
        return got

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
