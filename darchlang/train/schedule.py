"""The learning-rate and early-stopping schedule, as a small pure object.

The evaluator feeds it each validation accuracy and does what it says; keeping the
rules here, with no model and no clock, lets a test drive them with a scripted
sequence of accuracies and check every drop and the stop exactly.

The `schedule` setting picks how the rate moves:

- `"plateau"` (the default, DeepArchitect's): the rate drops when validation accuracy
  stops improving, by the rules below;
- `"cosine"`: the rate follows a cosine from `learning_rate_init` down to
  `learning_rate_min` over `max_epochs`, set once per epoch as torch's
  `CosineAnnealingLR(T_max=max_epochs, eta_min=learning_rate_min)` stepped after each
  epoch (epoch e, counted from 1, trains at min + (init - min) * (1 + cos(pi * (e - 1)
  / max_epochs)) / 2), as DARTS and NAS-Bench-201 train;
- `"constant"`: the rate stays `learning_rate_init`.

The rate of an epoch depends only on the epoch's number, so training continued from a
checkpoint in a later rung follows the same curve. The rules, after each validation
evaluation (3 and 4 only for `"plateau"`; the others never drop the rate on a plateau
and never stop for it):

1. A strictly higher accuracy than every earlier one is an improvement: it becomes the
   best (the evaluator keeps that checkpoint) and both patience counts restart.
2. Otherwise both counts grow by one. When the stop count reaches `stop_patience`,
   training stops.
3. When the rate count reaches `rate_patience`, the learning rate is multiplied by
   `rate_mult` and the rate count restarts, so the next drop needs another
   `rate_patience` evaluations without improvement.
4. When a drop takes the learning rate below `learning_rate_min`, training stops.

The time budget and `max_epochs` are the evaluator's business, not the schedule's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STOP_PATIENCE = "stop_patience"
LEARNING_RATE_MIN = "learning_rate_min"
SCHEDULES = ("plateau", "cosine", "constant")


@dataclass(frozen=True)
class Verdict:
    """What to do after one evaluation: keep the checkpoint?, the rate to use, stop?"""

    improved: bool
    learning_rate: float
    rate_dropped: bool
    stop: str | None  # None, STOP_PATIENCE or LEARNING_RATE_MIN


class Schedule:
    """Counts evaluations without improvement; drops the rate and stops by the rules."""

    def __init__(
        self,
        learning_rate: float,
        *,
        rate_patience: int,
        rate_mult: float,
        stop_patience: int,
        learning_rate_min: float,
        kind: str = "plateau",
        max_epochs: int = 1,
    ):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}: use one of {', '.join(SCHEDULES)}")
        self.kind = kind
        self.max_epochs = max_epochs
        self.learning_rate_init = learning_rate
        self.learning_rate = learning_rate
        self.rate_patience = rate_patience
        self.rate_mult = rate_mult
        self.stop_patience = stop_patience
        self.learning_rate_min = learning_rate_min
        self.best = -math.inf
        self.best_evaluation = 0
        self.evaluations = 0
        self.since_best = 0
        self.since_drop = 0

    _STATE = ("learning_rate", "best", "best_evaluation", "evaluations", "since_best",
              "since_drop")

    def state(self) -> dict[str, float]:
        """The counts and rate, for a checkpoint (training continued in a later rung)."""
        return {name: getattr(self, name) for name in self._STATE}

    def restore(self, state: dict[str, float]) -> None:
        for name in self._STATE:
            setattr(self, name, state[name])

    def rate_for_epoch(self, epoch: int) -> float | None:
        """The rate epoch `epoch` (from 1) trains at under `"cosine"`; None where the rate
        is not set by the epoch (`"plateau"` drops it on observing, `"constant"` never)."""
        if self.kind != "cosine":
            return None
        low, high = self.learning_rate_min, self.learning_rate_init
        done = min(epoch - 1, self.max_epochs)
        self.learning_rate = low + (high - low) * (1 + math.cos(math.pi * done / self.max_epochs)) / 2
        return self.learning_rate

    def observe(self, accuracy: float) -> Verdict:
        """Apply the rules to one validation accuracy."""
        self.evaluations += 1
        if accuracy > self.best:
            self.best = accuracy
            self.best_evaluation = self.evaluations
            self.since_best = self.since_drop = 0
            return Verdict(True, self.learning_rate, False, None)
        self.since_best += 1
        self.since_drop += 1
        if self.since_best >= self.stop_patience:
            return Verdict(False, self.learning_rate, False, STOP_PATIENCE)
        if self.kind != "plateau":
            return Verdict(False, self.learning_rate, False, None)
        dropped = False
        if self.since_drop >= self.rate_patience:
            self.learning_rate *= self.rate_mult
            self.since_drop = 0
            dropped = True
            if self.learning_rate < self.learning_rate_min:
                return Verdict(False, self.learning_rate, True, LEARNING_RATE_MIN)
        return Verdict(False, self.learning_rate, dropped, None)
