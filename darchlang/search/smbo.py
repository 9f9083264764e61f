"""Sequential model-based optimisation, as in the DeepArchitect paper.

A surrogate model (a scikit-learn random forest) learns the score from features of the
decisions: one indicator per (choice name, option), zero for a choice that is not
active. Each ask scores a pool of candidates with the surrogate and proposes the best
predicted one not handed out before; with probability `epsilon`, or before
`startup` results are in, it proposes a random architecture instead (exploration).

The pool holds random architectures of the space, as in the paper, plus (a fraction
`local` of it) single mutations of the best architectures found so far: in a large
space few random draws land near the good region, and the surrogate is most reliable
close to what it has seen. `local=0` gives the paper's searcher exactly.

Pool candidates are decision sequences drawn through the space's `Skeleton`, never
built as architectures: only the one proposed is. The forest is refitted when the
results have grown by a twentieth since the last fit (every result early on, every
fifth at 100), which keeps an ask near 10 ms where refitting on every result cost
most of it.

Failed evaluations are learned as the lowest score seen, so the surrogate steers away
from architectures like them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from darchlang.arch.graph import Architecture
from darchlang.search.base import (
    Candidate,
    Searcher,
    check_option,
)
from darchlang.search.skeleton import Skeleton
from darchlang.space.space import Space
from darchlang.space.walk import draw
from darchlang.train.result import EvalResult

REFIT = 0.05  # refit once the results have grown by this fraction since the last fit

Decisions = tuple[list[str], list[int]]


class SMBOSearcher(Searcher):
    """Random-forest surrogate over decision features; best predicted of a candidate pool."""

    name = "smbo"

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        candidates: int = 128,
        epsilon: float = 0.1,
        startup: int = 10,
        local: float = 0.5,
        trees: int = 20,
    ):
        super().__init__(space, seed)
        check_option(self.name, "candidates", candidates, candidates >= 1, "at least 1")
        check_option(self.name, "epsilon", epsilon, 0 <= epsilon <= 1, "between 0 and 1")
        check_option(self.name, "startup", startup, startup >= 0, "at least 0")
        check_option(self.name, "local", local, 0 <= local <= 1, "between 0 and 1")
        check_option(self.name, "trees", trees, trees >= 1, "at least 1")
        self.candidates = candidates
        self.epsilon = epsilon
        self.startup = startup
        self.local = local
        self.trees = trees
        self._offset: dict[str, int] = {}
        width = 0
        for choice in space.choices:
            self._offset[choice.name] = width
            width += len(choice.options)
        self._width = width
        self._skeleton = Skeleton(space)
        self._rows: list[np.ndarray] = []
        self._scores: list[float | None] = []
        self._best: list[tuple[float, list[str], list[int]]] = []
        self._model = None
        self._fitted_on = -1

    def features(self, names: Sequence[str], decisions: Sequence[int]) -> np.ndarray:
        """One indicator per (choice, option) taken; inactive choices stay zero."""
        row = np.zeros(self._width, dtype=np.float32)
        offset = self._offset
        row[[offset[n] + i for n, i in zip(names, decisions, strict=True)]] = 1.0
        return row

    def propose(self, rng: random.Random) -> Architecture:
        known = sum(s is not None for s in self._scores)
        if known < max(self.startup, 1) or rng.random() < self.epsilon:
            return self._random(rng)
        model = self._fit(rng)
        pool = self._pool(rng)
        if not pool:
            return self._random(rng)
        predicted = model.predict(np.stack([self.features(*c) for c in pool]))
        return self.space.replay(pool[int(np.argmax(predicted))][1])

    def learn(self, candidate: Candidate, result: EvalResult) -> None:
        score = self.score(result)
        arch = candidate.arch
        self._rows.append(self.features(arch.names, arch.decisions))
        self._scores.append(score)
        if score is not None:
            self._best.append((score, list(arch.names), list(arch.decisions)))
            self._best.sort(key=lambda entry: -entry[0])
            del self._best[10:]

    def _fit(self, rng: random.Random):
        from sklearn.ensemble import RandomForestRegressor

        # Drawn on every ask, used or not: the k-th ask's stream stays a function of k.
        state = rng.randrange(2**31)
        if self._model is not None and len(self._rows) < self._fitted_on * (1 + REFIT):
            return self._model
        ok = [s for s in self._scores if s is not None]
        worst = min(ok)
        y = np.array([worst if s is None else s for s in self._scores], dtype=np.float64)
        model = RandomForestRegressor(n_estimators=self.trees, max_features=0.5,
                                      random_state=state)
        model.fit(np.stack(self._rows), y)
        self._model, self._fitted_on = model, len(self._rows)
        return model

    def _pool(self, rng: random.Random) -> list[Decisions]:
        n_local = int(self.candidates * self.local) if self._best else 0
        skeleton = self._skeleton
        pool: list[Decisions] = []
        for _ in range(self.candidates - n_local):
            pool.append(skeleton.draw(lambda c: draw(c, rng)))
        for i in range(n_local):
            _, names, decisions = self._best[i % len(self._best)]
            child = skeleton.mutate(names, decisions, rng)
            if rng.random() < 0.5:
                child = skeleton.mutate(*child, rng)
            pool.append(child)
        fresh: dict[tuple[int, ...], Decisions] = {}
        for names, decisions in pool:
            key = tuple(decisions)
            if key not in fresh and not self.seen(key):
                fresh[key] = (names, decisions)
        return list(fresh.values())

    def _random(self, rng: random.Random) -> Architecture:
        arch = self.space.sample(rng)
        for _ in range(20):
            if not self.seen(arch.decisions):
                break
            arch = self.space.sample(rng)
        return arch
