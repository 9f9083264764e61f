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
import struct

from darchlang.arch.graph import Architecture
from darchlang.space.space import Space


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
