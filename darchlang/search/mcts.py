"""Monte Carlo tree search over the decision tree (UCT), as in the DeepArchitect paper.

A node of the tree is a decision prefix; since the walk is deterministic, a prefix
fixes the next choice, and its children are that choice's options. Each candidate
descends from the root by UCT (an unvisited child first, else the child with the best
mean score plus an exploration bonus), leaves the tree at the first unvisited node,
and completes the architecture at random (the rollout). Its result updates every tree
node on its path and adds the node where it left the tree (one expansion per result).

Scores are normalised to [0, 1] by the lowest and highest seen so far, so one
exploration constant suits any score scale; a failed evaluation counts as the lowest
score. A pending candidate adds a *virtual loss* (a visit worth 0) to its path, so
parallel asks spread over the tree instead of descending the same path.
"""

from __future__ import annotations

import math
import random

from darchlang.arch.graph import Architecture
from darchlang.search.base import Candidate, Searcher, register_searcher, score_of
from darchlang.space.nodes import Choice
from darchlang.space.space import Space
from darchlang.train.result import EvalResult


class _Stats:
    __slots__ = ("ok", "total", "failed", "virtual")

    def __init__(self) -> None:
        self.ok = 0
        self.total = 0.0
        self.failed = 0
        self.virtual = 0

    @property
    def visits(self) -> int:
        return self.ok + self.failed + self.virtual


@register_searcher
class MCTSSearcher(Searcher):
    """UCT with exploration constant `exploration` on min-max normalised scores."""

    name = "mcts"

    def __init__(self, space: Space, seed: int | None = None, *, exploration: float = 0.15):
        super().__init__(space, seed)
        self.exploration = exploration
        self.tree: dict[tuple[int, ...], _Stats] = {(): _Stats()}
        self.low = math.inf
        self.high = -math.inf

    def propose(self, rng: random.Random) -> Architecture:
        prefix: list[int] = []
        inside = [True]

        def decide(choice: Choice) -> int:
            size = len(choice.options)
            if inside[0]:
                here = tuple(prefix)
                node = self.tree.get(here)
                if node is None:
                    inside[0] = False
                    index = rng.randrange(size)
                else:
                    index = self._select(node, here, size, rng)
            else:
                index = rng.randrange(size)
            prefix.append(index)
            return index

        return self.space.walk(decide)

    def _select(self, node: _Stats, here: tuple[int, ...], size: int, rng: random.Random) -> int:
        children = [self.tree.get((*here, i)) for i in range(size)]
        unvisited = [i for i, child in enumerate(children) if child is None]
        if unvisited:
            return rng.choice(unvisited)
        log_parent = math.log(max(node.visits, 1))
        best: list[int] = []
        best_value = -math.inf
        for i, child in enumerate(children):
            assert child is not None
            value = self._mean(child) + self.exploration * math.sqrt(log_parent / max(child.visits, 1))
            if value > best_value + 1e-12:
                best, best_value = [i], value
            elif abs(value - best_value) <= 1e-12:
                best.append(i)
        return best[0] if len(best) == 1 else rng.choice(best)

    def _mean(self, stats: _Stats) -> float:
        visits = stats.visits
        if visits == 0:
            return 0.0
        if stats.ok == 0:
            return 0.0
        span = self.high - self.low
        mean = stats.total / stats.ok
        normalised = (mean - self.low) / span if span > 0 else 0.5
        return stats.ok * normalised / visits

    def _path(self, decisions: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Tree nodes on a candidate's path, plus the first node outside the tree."""
        path = []
        for depth in range(len(decisions) + 1):
            prefix = decisions[:depth]
            path.append(prefix)
            if prefix not in self.tree:
                break
        return path

    def on_pending(self, candidate: Candidate) -> None:
        path = self._path(candidate.decisions)
        for prefix in path:
            stats = self.tree.get(prefix)
            if stats is None:
                stats = self.tree[prefix] = _Stats()
            stats.virtual += 1
        candidate.token = path

    def learn(self, candidate: Candidate, result: EvalResult) -> None:
        score = score_of(result)
        if score is not None:
            self.low = min(self.low, score)
            self.high = max(self.high, score)
        for prefix in candidate.token:
            stats = self.tree[prefix]
            stats.virtual -= 1
            if score is None:
                stats.failed += 1
            else:
                stats.ok += 1
                stats.total += score
