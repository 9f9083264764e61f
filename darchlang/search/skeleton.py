"""Decision sequences without architectures: the searchers' fast path through a space.

A model-based searcher scores many candidates to propose one. Building each as an
architecture (layers, values, printed text) only to read which choices it took costs
a full walk of the space per candidate. But which choices a walk visits, and in what
order, depends only on the decisions of *structural* choices: those with a sub-space
among their options, or whose value a computation, a condition or a repeat count
reads. The other choices (*free* ones: constants placed into layers) change values,
never the shape of the walk.

`Skeleton` learns the shape once per distinct set of structural decisions: a trie
whose key is the structural decisions taken so far and whose entry lists the choices
visited until the next structural one. Decisions are then drawn against the trie,
choice by choice, exactly as `Space.walk` would ask for them (the same `decide`
calls in the same order, so the same random draws); a real walk runs only where the
trie has not been there yet, and fills it in. The result is a pair of lists (choice
names, option indices) that `Space.replay` turns into the very architecture a walk
with the same `decide` would have built.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from darchlang.search.base import mutation
from darchlang.space.nodes import Choice, Cond, Const, Derived, RepeatNode
from darchlang.space.space import Space

Decide = Callable[[Choice], int]
LIMIT = 200_000  # trie entries kept; past it, new shapes are walked but not stored


def structural_choices(space: Space) -> set[int]:
    """The uids of choices whose decision can change which choices come next."""
    out: set[int] = set()
    seen: set[int] = set()
    stack = [root for root in (space.network, space.hyperparams) if root is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        t = type(node)
        if t is Choice and any(type(o) is not Const for o in node.options):
            out.add(node.uid)
        # Every choice read by a computed value, a condition or a repeat count.
        elif t is Derived:
            out |= node.vars or set()
        elif t is Cond:
            out |= node.pred.vars or set()
        elif t is RepeatNode:
            out |= node.times.vars or set()
        stack.extend(node.parts())
    return out


class Skeleton:
    """The trie of a space's walk shapes, filled in as decisions are drawn."""

    def __init__(self, space: Space):
        self.space = space
        self.structural = structural_choices(space)
        # structural decisions so far -> (choices visited until the next structural
        # one, included; whether the walk ends after them)
        self._trie: dict[tuple[int, ...], tuple[list[Choice], bool]] = {}

    def draw(self, decide: Decide) -> tuple[list[str], list[int]]:
        """The names and decisions a walk with `decide` takes, walking only if needed."""
        names: list[str] = []
        decisions: list[int] = []
        key: tuple[int, ...] = ()
        while True:
            entry = self._trie.get(key)
            if entry is None:
                return self._walk(decide, names, decisions)
            segment, ends = entry
            for choice in segment:
                names.append(choice.name)
                decisions.append(decide(choice))
            if ends:
                return names, decisions
            key = (*key, decisions[-1])

    def _walk(self, decide: Decide, names: list[str], decisions: list[int]
              ) -> tuple[list[str], list[int]]:
        """A real walk: replay what is decided, ask `decide` for the rest, learn the shape."""
        known = len(decisions)

        def step(choice: Choice) -> int:
            position = len(calls)
            calls.append(choice)
            return decisions[position] if position < known else decide(choice)

        calls: list[Choice] = []
        arch = self.space.walk(step)
        by_name = self.space.by_name
        visited = [by_name[name] for name in arch.names]
        if len(self._trie) < LIMIT:
            key: tuple[int, ...] = ()
            segment: list[Choice] = []
            for choice, index in zip(visited, arch.decisions, strict=True):
                segment.append(choice)
                if choice.uid in self.structural:
                    self._trie.setdefault(key, (segment, False))
                    key, segment = (*key, index), []
            self._trie.setdefault(key, (segment, True))
        return list(arch.names), list(arch.decisions)

    def mutate(self, names: list[str], decisions: list[int], rng: random.Random
               ) -> tuple[list[str], list[int]]:
        """`base.mutate` on decision lists: the same draws and the same result, without
        building the architecture."""
        decide = mutation(self.space, names, decisions, rng)
        return (names, decisions) if decide is None else self.draw(decide)
