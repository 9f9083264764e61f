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

Unlike textbook UCT, which may sample a leaf again, a complete architecture is never
proposed twice: a prefix whose every completion has been handed out is *exhausted*
and skipped, both in the tree and in rollouts. Re-evaluating a known architecture
would only spend budget on a result the journal already has. When the root itself is
exhausted, the whole space has been proposed and `ask` returns None.
"""

from __future__ import annotations

import math
import random

from darchlang.arch.graph import Architecture
from darchlang.search.base import Candidate, Searcher, check_option
from darchlang.space.nodes import Choice
from darchlang.space.space import Space
from darchlang.train.result import EvalResult

Prefix = tuple[int, ...]


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


class MCTSSearcher(Searcher):
    """UCT with exploration constant `exploration` on min-max normalised scores."""

    name = "mcts"

    def __init__(self, space: Space, seed: int | None = None, *, exploration: float = 0.15,
                 retries: int = 20):
        super().__init__(space, seed)
        check_option(self.name, "exploration", exploration, exploration >= 0, "at least 0")
        check_option(self.name, "retries", retries, retries >= 0, "at least 0")
        self.exploration = exploration
        self.retries = retries
        self.tree: dict[Prefix, _Stats] = {(): _Stats()}
        self.low = math.inf
        self.high = -math.inf
        self._sizes: dict[Prefix, int] = {}  # options of the choice after a prefix
        self._exhausted: set[Prefix] = set()

    def propose(self, rng: random.Random) -> Architecture | None:
        if () in self._exhausted:
            return None
        arch = self._descend(rng)
        for _ in range(self.retries):
            if not self.seen(arch.decisions):
                break
            arch = self._descend(rng)
        return arch

    def _descend(self, rng: random.Random) -> Architecture:
        prefix: list[int] = []
        inside = [True]

        def decide(choice: Choice) -> int:
            size = len(choice.options)
            here = tuple(prefix)
            node = self.tree.get(here) if inside[0] else None
            if node is None:
                inside[0] = False
                index = self._rollout(here, size, rng)
            else:
                index = self._select(node, here, size, rng)
            prefix.append(index)
            return index

        return self.space.walk(decide)

    def _open(self, here: Prefix, size: int) -> list[int]:
        """Options under `here` with completions not yet handed out (all, if none is)."""
        options = [i for i in range(size) if (*here, i) not in self._exhausted]
        return options or list(range(size))

    def _rollout(self, here: Prefix, size: int, rng: random.Random) -> int:
        return rng.choice(self._open(here, size))

    def _select(self, node: _Stats, here: Prefix, size: int, rng: random.Random) -> int:
        options = self._open(here, size)
        unvisited = [i for i in options if (*here, i) not in self.tree]
        if unvisited:
            return rng.choice(unvisited)
        log_parent = math.log(max(node.visits, 1))
        best: list[int] = []
        best_value = -math.inf
        for i in options:
            child = self.tree[(*here, i)]
            value = self._mean(child) + self.exploration * math.sqrt(log_parent / max(child.visits, 1))
            if value > best_value + 1e-12:
                best, best_value = [i], value
            elif abs(value - best_value) <= 1e-12:
                best.append(i)
        return best[0] if len(best) == 1 else rng.choice(best)

    def _mean(self, stats: _Stats) -> float:
        visits = stats.visits
        if visits == 0 or stats.ok == 0:
            return 0.0
        span = self.high - self.low
        mean = stats.total / stats.ok
        normalised = (mean - self.low) / span if span > 0 else 0.5
        return stats.ok * normalised / visits

    def _path(self, decisions: Prefix) -> list[Prefix]:
        """Tree nodes on a candidate's path, plus the first node outside the tree."""
        path = []
        for depth in range(len(decisions) + 1):
            prefix = decisions[:depth]
            path.append(prefix)
            if prefix not in self.tree:
                break
        return path

    def on_pending(self, candidate: Candidate) -> None:
        decisions = candidate.decisions
        path = self._path(decisions)
        for prefix in path:
            stats = self.tree.get(prefix)
            if stats is None:
                stats = self.tree[prefix] = _Stats()
            stats.virtual += 1
        candidate.token = path
        self._mark_exhausted(candidate)

    def _mark_exhausted(self, candidate: Candidate) -> None:
        """The candidate's architecture is taken; so is any prefix with nothing left."""
        decisions = candidate.decisions
        for depth, name in enumerate(candidate.arch.names):
            self._sizes[decisions[:depth]] = len(self.space.by_name[name].options)
        self._exhausted.add(decisions)
        for depth in range(len(decisions) - 1, -1, -1):
            prefix = decisions[:depth]
            size = self._sizes[prefix]
            if any((*prefix, i) not in self._exhausted for i in range(size)):
                break
            self._exhausted.add(prefix)

    def learn(self, candidate: Candidate, result: EvalResult) -> None:
        score = self.score(result)
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
