"""Searchers that learn nothing: random, uniform and grid.

They are the baselines every other searcher must beat, and the right tools when
evaluations are parallel and cheap, since each proposal depends only on the seed and
the ask number (the same architectures whatever order results come back in). For the
same reason they take any number of objectives: they ignore every one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from darchlang.arch.graph import Architecture
from darchlang.search.base import Searcher
from darchlang.space.space import Space


class RandomSearcher(Searcher):
    """Each active decision uniform over its options, as DeepArchitect's random search.

    Architectures in a larger sub-space are each less likely than ones in a smaller
    sibling (the decision at the fork is a fair coin); use `uniform` to weight every
    architecture the same.
    """

    name = "random"
    several_objectives = True

    def propose(self, rng: random.Random) -> Architecture:
        return self.space.sample(rng)


class UniformSearcher(Searcher):
    """Every architecture of the space equally likely, from the exact subtree counts."""

    name = "uniform"
    several_objectives = True

    def propose(self, rng: random.Random) -> Architecture:
        return self.space.sample_uniform(rng)


class GridSearcher(Searcher):
    """Every architecture once, in lexicographic order of decision sequences.

    The k-th ask gives the k-th architecture of `Space.enumerate`, so a resumed grid
    search skips what it already did; after the last one, `ask` returns None and the
    search ends before its budget. On a large space only the last decisions vary
    within any practical budget: use grid for small spaces.
    """

    name = "grid"
    several_objectives = True

    def __init__(self, space: Space, seed: int | None = None):
        super().__init__(space, seed)
        self._order: Iterator[Architecture] = space.enumerate()
        self._position = 0

    def propose(self, rng: random.Random) -> Architecture | None:
        # Adopted candidates (a resumed search) advanced `asked` without our iterator.
        while self._position < self.asked:
            if next(self._order, None) is None:
                return None
            self._position += 1
        arch = next(self._order, None)
        if arch is not None:
            self._position += 1
        return arch
