"""What a search optimises: one objective or several, each maximised or minimised.

Objectives are named in the program's `train` block (`objectives: ["accuracy",
"-params"]`, `direction: "minimize"`) or on the command line (`--objectives
accuracy,-params`, `--direction minimize`), the command line winning; a leading `-`
minimises. Each is read from an evaluation:

- `accuracy` (or `score`): the evaluator's score, validation accuracy for a classifier;
- `params`: the model's parameters (the classifier's `parameters` metric, or a
  `params` metric an evaluator reports);
- `macs`: multiply-adds per example (the `macs` metric);
- `latency`: the classifier's measured `latency_ms` (or a `latency` metric).

The default, a single maximised score, is what every search did before objectives
existed, and leaves journals, configurations and reports exactly as they were.
Searchers compare *oriented* values, every objective turned into one to maximise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from darchlang.errors import DarchError
from darchlang.train.settings import Settings

SCORE_NAMES = ("accuracy", "score")
METRICS = {"params": ("params", "parameters"), "macs": ("macs",),
           "latency": ("latency_ms", "latency")}


@dataclass(frozen=True)
class Objective:
    """One objective: its name as written (without the sign) and whether it is minimised."""

    name: str
    minimize: bool = False

    @property
    def text(self) -> str:
        """As written on a command line: `accuracy`, `-params`."""
        return ("-" if self.minimize else "") + self.name

    @property
    def kind(self) -> str:
        """`score`, `params`, `macs` or `latency`: what is read."""
        return "score" if self.name in SCORE_NAMES else self.name

    @property
    def label(self) -> str:
        """A column heading: `accuracy`, `latency (ms)`."""
        return "latency (ms)" if self.name == "latency" else self.name

    def show(self, value: float | None) -> str:
        """A value as this objective reads: counts with thousands separators,
        milliseconds to three decimals, scores to four; `-` for none."""
        if value is None:
            return "-"
        if self.kind in ("params", "macs"):
            return f"{int(value):,}"
        return f"{value:.3f}" if self.kind == "latency" else f"{value:.4f}"

    def value(self, e: Any) -> float | None:
        """The raw value of a successful evaluation or result; None when it lacks one."""
        if getattr(e, "status", None) != "ok":
            return None
        if self.kind == "score":
            raw = e.score
        else:
            metrics = e.metrics or {}
            raw = next((metrics[k] for k in METRICS[self.kind] if k in metrics), None)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            return None
        return float(raw)


@dataclass(frozen=True)
class Objectives:
    """The objectives of a search, in order: the first is the one a single "best" and
    the progress line follow when there are several."""

    items: tuple[Objective, ...] = (Objective("score"),)

    @classmethod
    def parse(cls, names: Sequence[str] | None = None, direction: str | None = None
              ) -> Objectives:
        """From checked setting values (`Settings.objectives`, `Settings.direction`)."""
        items = tuple(Objective(n.removeprefix("-"), n.startswith("-"))
                      for n in (names or ["score"]))
        kinds = [o.kind for o in items]
        twice = next((o for o in items if kinds.count(o.kind) > 1), None)
        if twice is not None:
            raise DarchError(f"the objective `{twice.name}` is named twice in "
                             f"{', '.join(o.text for o in items)}",
                             help="name each objective once (`accuracy` and `score` are one)")
        if direction is not None:
            if len(items) > 1:
                raise DarchError(
                    f"`direction` is for a single objective; there are {len(items)}: "
                    f"{', '.join(o.text for o in items)}",
                    help='drop `direction` and mark each objective to minimise with a '
                         'leading "-" (e.g. "-params")')
            if items[0].minimize:
                raise DarchError(f"`direction: \"{direction}\"` and the objective "
                                 f"`{items[0].text}` both give a direction",
                                 help="give one of them")
            items = (Objective(items[0].name, direction == "minimize"),)
        return cls(items)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Objectives:
        """The objectives a journal's configuration records (the default when none)."""
        recorded = (config or {}).get("objectives")
        return cls.parse(recorded) if recorded else cls()

    def config(self) -> list[str] | None:
        """What a journal records: None for the default, which it leaves unrecorded."""
        return None if self.default else self.texts()

    def texts(self) -> list[str]:
        return [o.text for o in self.items]

    @property
    def default(self) -> bool:
        """The one maximised score every search had before objectives existed."""
        return len(self.items) == 1 and self.items[0].kind == "score" and \
            not self.items[0].minimize

    @property
    def several(self) -> bool:
        return len(self.items) > 1

    @property
    def first(self) -> Objective:
        return self.items[0]

    def values(self, e: Any) -> tuple[float, ...] | None:
        """The raw value of every objective; None when the evaluation failed or lacks one."""
        out = tuple(o.value(e) for o in self.items)
        return None if any(v is None for v in out) else out  # type: ignore[return-value]

    def oriented(self, e: Any) -> tuple[float, ...] | None:
        """The values turned so that higher is better on every one (minimised negated)."""
        values = self.values(e)
        if values is None:
            return None
        return tuple(-v if o.minimize else v for o, v in zip(self.items, values, strict=True))


def search_objectives(program: Any, overrides: Mapping[str, Any] | None = None) -> Objectives:
    """The objectives of a search: the program's `train` block, then the command line's
    `objectives`/`direction` over it; a wrong name is a `DarchError`."""
    from darchlang.semantics.builtins import possible_values
    from darchlang.space.nodes import RecordNode

    given: dict[str, Any] = {}
    record = program.names.get(program.hyperparams_name)
    if isinstance(record, RecordNode):
        for name, node in record.fields:
            if name in Settings.search_names():
                values = possible_values(node)
                if len(values) != 1:
                    raise DarchError(f"`{name}` belongs to the whole search, so it cannot be "
                                     f"a choice", node.span, help=f"give `{name}` one value")
                value = next(iter(values))
                given[name] = list(value) if isinstance(value, tuple) else value
    where = f"the `{program.hyperparams_name}` block"
    settings = Settings().updated(given, where)
    command_line = {k: v for k, v in (overrides or {}).items() if k in Settings.search_names()}
    settings = settings.updated(command_line, "the command line")
    return Objectives.parse(settings.objectives, settings.direction)
