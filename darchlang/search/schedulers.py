"""Schedulers: how many epochs each candidate gets, over any searcher.

A searcher picks architectures; a scheduler decides how far each one trains. Every
candidate runs in *rungs* of growing epochs (`min_epochs`, `min_epochs * eta`, ...,
`max_epochs`); after each rung the scheduler says whether it goes on to the next one
(continuing from its checkpoint) or stops there. Its fate is then *settled*: the
searcher is told its score at the highest rung it reached, with the whole curve.

- `median`: every candidate trains to `max_epochs` but stops after any epoch (from
  `min_epochs` on) at which its best score so far is below the median of the
  completed candidates' scores at that epoch: Optuna's `MedianPruner`
  (5 startup candidates, warm-up `min_epochs`).
- `halving`: synchronous successive halving. Brackets of `eta ** R` candidates start
  at `min_epochs`; when every member of a rung is in, the best `1/eta` go on.
- `hyperband`: synchronous Hyperband; brackets cycle from the most aggressive (like
  `halving`) to one that trains a few candidates to `max_epochs` straight away.
- `asha`: asynchronous successive halving as Ray Tune's ASHA does it: when a result
  at a rung arrives it goes on unless it is below the `1 - 1/eta` quantile of the
  results recorded there before it, so no worker ever waits for a rung to fill.

A scheduler is a deterministic function of the admissions, rung results and
truncations it is shown in order: the journal records all three, so a resumed search
rebuilds it by replaying them. A plugin adds one with `env.add_scheduler(name, cls)`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from darchlang.errors import DarchError

STOP = -1  # the decision that settles a candidate; any other is the rung it runs next


@dataclass(frozen=True)
class RungResult:
    """What one rung of one candidate gave: its score (None when it failed), whether
    it trained all the rung's epochs, whether median stopping cut it, its curve."""

    index: int
    rung: int
    value: float | None
    trained_all: bool = True
    pruned: bool = False
    curve: tuple[tuple[int, float], ...] = ()

    @property
    def can_go_on(self) -> bool:
        return self.value is not None and self.trained_all and not self.pruned


def rung_epochs(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """`min_epochs * eta**r` for each rung below `max_epochs`, then `max_epochs`."""
    out = [min_epochs]
    while out[-1] * eta < max_epochs:
        out.append(out[-1] * eta)
    if out[-1] != max_epochs:
        out.append(max_epochs)
    return out


class Scheduler(ABC):
    """Base of the schedulers: rungs, options, and the interface the session uses.

    `admit(index)` places a new candidate (the rung it starts at); `can_admit()` says
    whether one may start now (a synchronous bracket waits for its rung); `record`
    takes a rung's result and returns decisions `(index, rung or STOP)`, for that
    candidate or, when a rung completes, for several; `truncate()` closes an open
    bracket when no more candidates will come (the budget is reached), returning the
    decisions that completes; `stop_below` gives median stopping's thresholds.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, min_epochs: int = 1, max_epochs: int = 9, eta: int = 3):
        if min_epochs < 1:
            raise DarchError(f"--min-epochs must be at least 1, got {min_epochs}")
        if max_epochs < min_epochs:
            raise DarchError(f"--max-epochs ({max_epochs}) must be at least --min-epochs "
                             f"({min_epochs})")
        if eta < 2:
            raise DarchError(f"--eta must be at least 2, got {eta}")
        self.min_epochs, self.max_epochs, self.eta = min_epochs, max_epochs, eta
        self.rungs = self.plan_rungs()

    def plan_rungs(self) -> list[int]:
        return rung_epochs(self.min_epochs, self.max_epochs, self.eta)

    @property
    def top(self) -> int:
        return len(self.rungs) - 1

    def config(self) -> dict[str, Any]:
        """What a journal records, and a resume must match."""
        return {"name": self.name, "min_epochs": self.min_epochs,
                "max_epochs": self.max_epochs, "eta": self.eta}

    def can_admit(self) -> bool:
        return True

    def admit(self, index: int) -> int:
        return 0

    @abstractmethod
    def record(self, result: RungResult) -> list[tuple[int, int]]:
        """Take one rung's result; the decisions it leads to."""

    def truncate(self) -> list[tuple[int, int]] | None:
        """No more candidates for the open bracket: None when there is none to close."""
        return None

    def stop_below(self, index: int, rung: int) -> dict[int, float]:
        return {}

    def current_rung(self) -> int:
        """The rung the search is working on (for the progress line)."""
        return 0


class MedianStopping(Scheduler):
    """Optuna's MedianPruner: stop a run whose best so far is below the median of the
    completed runs at the same epoch, once 5 have completed, from `min_epochs` on."""

    name = "median"
    STARTUP = 5

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._completed: list[dict[int, float]] = []

    def plan_rungs(self) -> list[int]:
        return [self.max_epochs]

    def record(self, result: RungResult) -> list[tuple[int, int]]:
        if result.value is not None and not result.pruned:
            self._completed.append(dict(result.curve))
        return [(result.index, STOP)]

    def stop_below(self, index: int, rung: int) -> dict[int, float]:
        if len(self._completed) < self.STARTUP:
            return {}
        out = {}
        for step in range(self.min_epochs, self.max_epochs + 1):
            values = [c[step] for c in self._completed if step in c]
            if values:
                out[step] = percentile(values, 50.0)
        return out


class ASHA(Scheduler):
    """Asynchronous successive halving, decided as each rung result arrives."""

    name = "asha"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._recorded: list[list[float]] = [[] for _ in self.rungs]
        self._highest = 0

    def record(self, result: RungResult) -> list[tuple[int, int]]:
        self._highest = max(self._highest, result.rung)
        if not result.can_go_on or result.rung == self.top:
            return [(result.index, STOP)]
        recorded = self._recorded[result.rung]
        cutoff = percentile(recorded, 100.0 * (1 - 1 / self.eta)) if recorded else None
        recorded.append(result.value)
        if cutoff is not None and result.value < cutoff:
            return [(result.index, STOP)]
        return [(result.index, result.rung + 1)]

    def current_rung(self) -> int:
        return self._highest


@dataclass
class _Bracket:
    size: int
    start: int
    members: dict[int, list[int]] = field(default_factory=dict)  # rung -> indices
    results: dict[tuple[int, int], RungResult] = field(default_factory=dict)
    closed: bool = False
    done_rungs: int = 0  # rungs (from `start`) whose promotions are decided

    @property
    def admitted(self) -> int:
        return len(self.members.get(self.start, []))


class Brackets(Scheduler):
    """Synchronous successive halving over a cycle of brackets (Hyperband's or one)."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._plan = self.brackets()
        self._bracket: _Bracket | None = None

    @abstractmethod
    def brackets(self) -> Iterator[tuple[int, int]]:
        """(candidates, start rung) of each bracket in turn, endlessly."""

    def _finished(self, bracket: _Bracket) -> bool:
        return bracket.start + bracket.done_rungs > self.top

    def can_admit(self) -> bool:
        b = self._bracket
        return b is None or self._finished(b) or (not b.closed and b.admitted < b.size)

    def admit(self, index: int) -> int:
        b = self._bracket
        if b is None or self._finished(b):
            size, start = next(self._plan)
            b = self._bracket = _Bracket(size, start, {start: []})
        b.members[b.start].append(index)
        return b.start

    def record(self, result: RungResult) -> list[tuple[int, int]]:
        b = self._bracket
        assert b is not None, "a rung result outside any bracket"
        b.results[(result.index, result.rung)] = result
        decisions = [(result.index, STOP)] if not result.can_go_on or result.rung == self.top \
            else []
        return decisions + self._advance(b)

    def truncate(self) -> list[tuple[int, int]] | None:
        b = self._bracket
        if b is None or b.closed or self._finished(b) or b.admitted >= b.size:
            return None
        b.closed = True
        return self._advance(b)

    def _advance(self, b: _Bracket) -> list[tuple[int, int]]:
        """Decide every rung whose members are all in, lowest first."""
        out: list[tuple[int, int]] = []
        while not self._finished(b):
            rung = b.start + b.done_rungs
            members = b.members.get(rung, [])
            full = rung > b.start or b.closed or b.admitted >= b.size
            if not full or any((i, rung) not in b.results for i in members):
                break
            b.done_rungs += 1
            if rung == self.top:
                continue  # each was settled as its result came in
            able = [b.results[(i, rung)] for i in members if b.results[(i, rung)].can_go_on]
            able.sort(key=lambda r: (-r.value, r.index))
            keep = max(1, len(members) // self.eta) if able else 0
            b.members[rung + 1] = sorted(r.index for r in able[:keep])
            out += [(r.index, rung + 1) for r in able[:keep]]
            out += [(r.index, STOP) for r in able[keep:]]
        return out

    def current_rung(self) -> int:
        b = self._bracket
        return 0 if b is None else min(self.top, b.start + b.done_rungs)


class SuccessiveHalving(Brackets):
    """Brackets of `eta ** R` candidates from `min_epochs`, the best `1/eta` going on."""

    name = "halving"

    def brackets(self) -> Iterator[tuple[int, int]]:
        while True:
            yield self.eta ** self.top, 0


class Hyperband(Brackets):
    """Hyperband: brackets s = R..0 of ceil((R+1)/(s+1) * eta**s) candidates from rung
    R - s, so the cycle hedges between many short runs and a few long ones."""

    name = "hyperband"

    def brackets(self) -> Iterator[tuple[int, int]]:
        R = self.top
        while True:
            for s in range(R, -1, -1):
                yield math.ceil((R + 1) / (s + 1) * self.eta ** s), R - s


def percentile(values: list[float], q: float) -> float:
    """NumPy's default (linear) percentile, without importing NumPy."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def make_scheduler(name: str | None, env: Any = None, **options: Any) -> Scheduler | None:
    """The scheduler registered as `name` (None for `none` or no name), built with
    `min_epochs`, `max_epochs` and `eta` from `options`."""
    if name is None or name == "none":
        return None
    from darchlang.environment import default_environment, resolve

    factory = resolve((env or default_environment()).scheduler(name))
    return factory(**options)
