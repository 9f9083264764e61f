"""Regularized (aging) evolution, after Real et al., "Regularized Evolution for Image
Classifier Architecture Search" (AAAI 2019).

The population is a queue of the most recent successful evaluations. Each new
candidate is a mutation of the best of a random sample (a tournament) of it, and the
oldest member dies when a new one arrives, so an architecture that scored well once by
luck cannot dominate for ever. Until the population is full, candidates are random.

A mutation changes one active decision to another option and walks the space again,
keeping every other decision by choice name; decisions that become active only now,
or whose old option no longer exists, are drawn at random.

With several objectives there is no best contestant, so the tournament goes by
NSGA-II's crowded comparison (Deb et al. 2002) over the current population: the
contestant on the lowest non-dominated front wins, and within a front the one with
the largest crowding distance, so the population spreads along the Pareto front
instead of crowding one end of it. Members still age out oldest first.
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
)
from darchlang.search.pareto import rank_and_crowding
from darchlang.space.space import Space
from darchlang.train.result import EvalResult


@dataclass
class _Member:
    values: tuple[float, ...]  # every objective, higher is better
    arch: Architecture

    @property
    def score(self) -> float:
        return self.values[0]


class EvolutionSearcher(Searcher):
    """Aging evolution: `population` members, tournaments of `sample`, one mutation each.

    Failed evaluations never join the population. A child equal to a candidate already
    handed out is mutated again (up to `retries` times) so that the budget is not
    spent on duplicates.
    """

    name = "evolution"
    several_objectives = True

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
        parent = self._winner(contestants)
        child = parent.arch
        for _ in range(self.retries + 1):
            child = mutate(self.space, parent.arch, rng)
            if not self.seen(child.decisions):
                break
        return child

    def _winner(self, contestants: list[_Member]) -> _Member:
        """The best score; with several objectives, the lowest front of the whole
        population, then the largest crowding distance (the first on a tie)."""
        if not self.objectives.several:
            return max(contestants, key=lambda m: m.score)
        members = list(self.members)
        rank, crowd = rank_and_crowding([m.values for m in members])
        where = {id(m): i for i, m in enumerate(members)}
        return min(contestants, key=lambda m: (rank[where[id(m)]], -crowd[where[id(m)]]))

    def learn(self, candidate: Candidate, result: EvalResult) -> None:
        values = self.values(result)
        if values is None:
            return
        arch = candidate.arch
        self.members.append(_Member(values, arch))
        while len(self.members) > self.population:
            self.members.popleft()

    def _fresh(self, rng: random.Random) -> Architecture:
        arch = self.space.sample(rng)
        for _ in range(self.retries):
            if not self.seen(arch.decisions):
                break
            arch = self.space.sample(rng)
        return arch
