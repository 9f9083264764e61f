"""Regularized (aging) evolution, after Real et al., "Regularized Evolution for Image
Classifier Architecture Search" (AAAI 2019).

The population is a queue of the most recent successful evaluations. Each new
candidate is a mutation of the best of a random sample (a tournament) of it, and the
oldest member dies when a new one arrives, so an architecture that scored well once by
luck cannot dominate for ever. Until the population is full, candidates are random.

A mutation changes one active decision to another option and walks the space again,
keeping every other decision by choice name; decisions that become active only now,
or whose old option no longer exists, are drawn at random.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from darchlang.arch.graph import Architecture
from darchlang.search.base import (
    Candidate,
    Searcher,
    check_option,
    mutate,
    score_of,
)
from darchlang.space.space import Space
from darchlang.train.result import EvalResult


@dataclass
class _Member:
    score: float
    arch: Architecture


class EvolutionSearcher(Searcher):
    """Aging evolution: `population` members, tournaments of `sample`, one mutation each.

    Failed evaluations never join the population. A child equal to a candidate already
    handed out is mutated again (up to `retries` times) so that the budget is not
    spent on duplicates.
    """

    name = "evolution"

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        population: int = 20,
        sample: int = 5,
        retries: int = 20,
    ):
        super().__init__(space, seed)
        check_option(self.name, "population", population, population >= 1, "at least 1")
        check_option(self.name, "sample", sample, sample >= 1, "at least 1")
        check_option(self.name, "retries", retries, retries >= 0, "at least 0")
        self.population = population
        self.sample = sample
        self.retries = retries
        self.members: deque[_Member] = deque()

    def propose(self, rng: random.Random) -> Architecture:
        if len(self.members) < self.population:
            return self._fresh(rng)
        contestants = rng.sample(list(self.members), min(self.sample, len(self.members)))
        parent = max(contestants, key=lambda m: m.score)
        child = parent.arch
        for _ in range(self.retries + 1):
            child = mutate(self.space, parent.arch, rng)
            if not self.seen(child.decisions):
                break
        return child

    def learn(self, candidate: Candidate, result: EvalResult) -> None:
        score = score_of(result)
        if score is None:
            return
        arch = candidate.arch
        self.members.append(_Member(score, arch))
        while len(self.members) > self.population:
            self.members.popleft()

    def _fresh(self, rng: random.Random) -> Architecture:
        arch = self.space.sample(rng)
        for _ in range(self.retries):
            if not self.seen(arch.decisions):
                break
            arch = self.space.sample(rng)
        return arch
