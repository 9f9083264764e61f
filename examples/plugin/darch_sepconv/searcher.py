"""A hill-climbing searcher: a plugin can add searchers as well as layers."""

from __future__ import annotations

import random

from darchlang.search import Searcher, mutate, score_of


class HillClimb(Searcher):
    """Start from the first option of every choice, then mutate the best so far."""

    name = "hill_climb"

    def __init__(self, space, seed=None):
        super().__init__(space, seed)
        self.best = None
        self.best_score = None

    def propose(self, rng: random.Random):
        if self.best is None:
            return self.space.walk(lambda choice: 0)
        return mutate(self.space, self.best, rng)

    def learn(self, candidate, result) -> None:
        score = score_of(result)
        if score is not None and (self.best_score is None or score > self.best_score):
            self.best, self.best_score = candidate.arch, score
