"""The budget of one evaluation: how far to train, what to report, where to keep state.

A scheduler (`--scheduler median|halving|hyperband|asha`) stops poor candidates early
and continues good ones later, so an evaluator that takes part trains in pieces. It
receives a `Budget` as the keyword argument `budget` and follows three rules:

1. **Train to `budget.epochs` epochs in total** (a rung of the schedule), counting the
   epochs a loaded checkpoint already holds.
2. **Report after each epoch** (or budget unit): `budget.report(step, value)` with the
   validation score so far. It returns False when the scheduler says stop (median
   stopping): return the result at once.
3. **Continue from a checkpoint**: `budget.load()` gives the state saved by the
   previous rung (None on the first one); once the rung is trained, `budget.save(state)`
   keeps it for the next one (a no-op when no later rung can use it). A state is a
   dict of tensors, numbers, strings and lists, saved with `torch.save` and loaded with
   `torch.load(..., weights_only=True)`: model, optimizer, learning-rate schedule and
   random state, so a promoted candidate trains the epochs of its highest rung, not
   their sum.

    def evaluate(arch, *, budget=None):
        state = budget.load() if budget else None
        ...restore it, or start fresh...
        for epoch in range(done + 1, (budget.epochs if budget else EPOCHS) + 1):
            ...train one epoch...
            if budget and not budget.report(epoch, val_accuracy):
                break
        if budget:
            budget.save({...})
        return best_val_accuracy

The budget travels to worker processes with the architecture (it is plain data) and
its reports come back in the result (`EvalResult.curve`), so the journal records every
intermediate value as `(step, value, time)`.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Budget:
    """One rung of one candidate: train to `epochs`; `stop_below[step]` is the score a
    run must have reached by `step` to go on (median stopping); `load_from` and
    `save_to` are checkpoint files (None: nothing to load, nothing worth saving)."""

    epochs: int
    rung: int = 0
    load_from: str | None = None
    save_to: str | None = None
    stop_below: dict[int, float] = field(default_factory=dict)
    curve: list[tuple[int, float, float]] = field(default_factory=list)
    stopped: bool = False

    def report(self, step: int, value: float) -> bool:
        """Record an intermediate value; False means stop now (the scheduler pruned it)."""
        value = float(value)
        self.curve.append((int(step), value, time.time()))
        threshold = self.stop_below.get(int(step))
        finite = [v for _, v, _ in self.curve if math.isfinite(v)]
        best = max(finite) if finite else -math.inf
        if threshold is not None and best < threshold:
            self.stopped = True
        return not self.stopped

    def load(self) -> dict[str, Any] | None:
        """The state the previous rung saved, or None on a candidate's first rung."""
        if self.load_from is None:
            return None
        import torch

        with open(self.load_from, "rb") as file:
            return torch.load(file, weights_only=True)

    def save(self, state: dict[str, Any]) -> None:
        """Keep the state for the next rung (written whole or not at all)."""
        if self.save_to is None:
            return
        import torch

        target = Path(self.save_to)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.part")
        with open(partial, "wb") as file:
            torch.save(state, file)
        os.replace(partial, target)


def takes_budget(evaluate: Any) -> bool:
    """Whether an evaluation function accepts the `budget` keyword."""
    import inspect

    try:
        params = inspect.signature(evaluate).parameters
    except (TypeError, ValueError):
        return False
    return "budget" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD
                                     for p in params.values())
