"""Synthetic objectives: known functions of the decisions, for testing and comparing
searchers in milliseconds instead of GPU-hours.

`NKObjective` is Kauffman's NK landscape carried over to a search space: each active
choice contributes a value that depends on its own option and on the options of the
`k` choices after it (in the space's static order, an inactive one reading as "off"),
and the score is the mean contribution. `k = 0` is additive (each choice can be
tuned on its own); each step of `k` adds interactions and makes the landscape more
rugged. Contributions are uniform in [0, 1], drawn from the seed and the choice names,
so an objective is the same on every machine and for every searcher.

    objective = NKObjective(space, k=1, seed=0)
    objective(space.sample(3))        # a float in [0, 1]
"""

from __future__ import annotations

import hashlib
import math
import struct
import time

from darchlang.arch.graph import Architecture
from darchlang.space.space import Space
from darchlang.train.budget import Budget


class NKObjective:
    """Mean over active choices of f_i(own option, options of the next `k` choices)."""

    def __init__(self, space: Space, k: int = 1, seed: int = 0):
        if k < 0:
            raise ValueError("k must be >= 0")
        self.k = k
        self.seed = seed
        names = [c.name for c in space.choices]
        self.neighbours = {
            name: [names[(i + j) % len(names)] for j in range(1, k + 1) if len(names) > j]
            for i, name in enumerate(names)
        }
        self._memo: dict[tuple, float] = {}

    def __call__(self, arch: Architecture) -> float:
        taken = dict(zip(arch.names, arch.decisions, strict=True))
        if not taken:
            return 0.0
        total = 0.0
        for name, index in taken.items():
            key = (name, index, *(taken.get(n, -1) for n in self.neighbours[name]))
            value = self._memo.get(key)
            if value is None:
                value = self._memo[key] = self._draw(key)
            total += value
        return total / len(taken)

    def _draw(self, key: tuple) -> float:
        text = f"{self.seed}\x1f" + "\x1f".join(map(str, key))
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return struct.unpack("<Q", digest)[0] / 2.0**64


class NKCurves:
    """An NK landscape learnt over epochs: a synthetic evaluator for schedulers.

    An architecture's score after `e` epochs is `f * (1 - exp(-e / tau) / 2)`, where
    `f` is its `NKObjective` value and `tau` (between 1 and 5 epochs, drawn from the
    seed and its decisions) how slowly it learns: the ranking after a few epochs
    resembles the final one without matching it, as with real training. It takes a
    `Budget` like any scheduled evaluator: continues from the budget's checkpoint,
    reports every epoch, saves its state; `epoch_seconds` makes each epoch take time.
    """

    def __init__(self, space: Space, k: int = 1, seed: int = 0, *, epochs: int = 9,
                 epoch_seconds: float = 0.0):
        self.objective = NKObjective(space, k, seed)
        self.epochs, self.epoch_seconds = epochs, epoch_seconds

    def value(self, arch: Architecture, epoch: int) -> float:
        final = self.objective(arch)
        tau = 1.0 + 4.0 * self.objective._draw(("tau", *arch.decisions))
        return final * (1.0 - math.exp(-epoch / tau) / 2.0)

    def __call__(self, arch: Architecture, *, budget: Budget | None = None) -> float:
        return self.evaluate(arch, budget=budget)

    def evaluate(self, arch: Architecture, *, budget: Budget | None = None) -> float:
        state = budget.load() if budget is not None else None
        done = 0 if state is None else int(state["epochs"])
        best = -math.inf if state is None else float(state["best"])
        last = self.epochs if budget is None else budget.epochs
        for epoch in range(done + 1, last + 1):
            if self.epoch_seconds:
                time.sleep(self.epoch_seconds)
            best = max(best, self.value(arch, epoch))
            if budget is not None and not budget.report(epoch, self.value(arch, epoch)):
                return best
        if budget is not None:
            budget.save({"epochs": last, "best": best})
        return best
