"""The classifier evaluator's settings, read by name from wherever they are given.

A setting can come from the evaluator's own defaults, from the `train = hyperparams
{...}` block of a program (fixed or searched jointly with the architecture) and from
the command line, in that order of precedence, lowest first. Every source is checked
the same way: an unknown name is an error listing the known ones, and a value of the
wrong kind says what was expected.

The names and meanings follow DeepArchitect's `ClassifierEvaluator`; the defaults of
the schedule are the values of its overview notebook.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from darchlang.errors import DarchError, did_you_mean
from darchlang.text import value_text
from darchlang.train.schedule import SCHEDULES

OPTIMIZERS = ("adam", "adamw", "sgd", "sgd_mom", "nesterov")
DEVICES = ("cpu", "cuda", "cuda:N")
"""The devices a classifier trains on, as `--device` and `ClassifierEvaluator(device=...)`
take them (whether this machine has one is checked when it is used)."""
PRECISIONS = ("fp32", "bf16", "fp16")


POSITIVE = (lambda v: v > 0, "a positive number")
NON_NEGATIVE = (lambda v: v >= 0, "a number >= 0")
AT_LEAST_ONE = (lambda v: v >= 1, "a positive integer")
FRACTION = (lambda v: 0 < v <= 1, "a number in (0, 1]")
OPTIMIZER = (lambda v: v in OPTIMIZERS, "one of " + ", ".join(f'"{o}"' for o in OPTIMIZERS))
PRECISION = (lambda v: v in PRECISIONS, "one of " + ", ".join(f'"{p}"' for p in PRECISIONS))
SCHEDULE = (lambda v: v in SCHEDULES, "one of " + ", ".join(f'"{k}"' for k in SCHEDULES))
BOOLEAN = (lambda v: True, "true or false")

# What a search may optimise (docs/searchers.md#several-objectives): the evaluator's
# score (`accuracy` is its name for a classifier), the parameters, the multiply-adds
# and the measured latency of a model; a leading `-` minimises.
OBJECTIVES = ("accuracy", "score", "params", "macs", "latency")
DIRECTIONS = ("maximize", "minimize")
OBJECTIVE_LIST = (
    lambda v: bool(v) and all(isinstance(o, str) and o.removeprefix("-") in OBJECTIVES for o in v),
    "a non-empty list of objectives among " + ", ".join(f'"{o}"' for o in OBJECTIVES)
    + ' (a leading "-" minimises, e.g. ["accuracy", "-params"])',
)
DIRECTION = (lambda v: v in DIRECTIONS, "one of " + ", ".join(f'"{d}"' for d in DIRECTIONS))


def is_device_name(name: Any) -> bool:
    """Whether `name` is `cpu`, `cuda` or `cuda:N` (N a GPU index): the one rule of the
    command line's `--device` and of the Python API."""
    return isinstance(name, str) and (name in DEVICES[:2] or
                                      re.fullmatch(r"cuda:\d+", name) is not None)


def _setting(default: Any, kind: type, rule: tuple[Callable[[Any], bool], str], doc: str,
             *, search: bool = False) -> Any:
    """A setting's field; `search` marks one that belongs to the whole search rather than
    to one training run, so it may be fixed but never a choice of the space."""
    return field(
        default=default,
        metadata={"kind": kind, "ok": rule[0], "expected": rule[1], "doc": doc,
                  "search": search, "optional": default is None},
    )


def _limit(doc: str) -> Any:
    """A cap that is off unless given (None): a positive whole number, which may be
    written in scientific notation (`1e6`), since caps are large round numbers."""
    return field(default=None, metadata={
        "kind": int, "ok": lambda v: v >= 1, "doc": doc, "optional": True, "whole": True,
        "expected": "a positive whole number (such as 1000000 or 1e6)"})


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a classifier is trained, with DeepArchitect's meanings."""

    time_minutes_max: float = _setting(
        60.0, float, POSITIVE,
        "time budget for one evaluation's training, in minutes (building the model, the "
        "optimizer and any torch.compile are setup, reported apart); when it is spent, "
        "training stops and the best checkpoint so far is the result (a failure if there "
        "was no validation yet)",
    )
    stop_patience: int = _setting(
        256, int, AT_LEAST_ONE,
        "stop after this many validation evaluations in a row without a new best accuracy",
    )
    schedule: str = _setting(
        "plateau", str, SCHEDULE,
        '"plateau" (drop the rate by rate_mult after rate_patience evaluations without a new '
        'best), "cosine" (anneal from learning_rate_init to learning_rate_min over '
        'max_epochs, set each epoch) or "constant"',
    )
    rate_patience: int = _setting(
        8, int, AT_LEAST_ONE,
        "multiply the learning rate by rate_mult after this many evaluations in a row without "
        "a new best accuracy (the count restarts after each drop)",
    )
    rate_mult: float = _setting(
        0.66, float, FRACTION, "factor applied to the learning rate at each drop"
    )
    optimizer: str = _setting(
        "adam", str, OPTIMIZER,
        '"adam" (Adam, weight_decay as an L2 penalty), "adamw" (AdamW: weight_decay '
        'decoupled), "sgd" (plain SGD), "sgd_mom" (SGD with momentum) or "nesterov" (SGD '
        'with Nesterov momentum)',
    )
    momentum: float = _setting(
        0.9, float, (lambda v: 0 <= v < 1, "a number in [0, 1)"),
        'momentum of "sgd_mom" and "nesterov" (0.9 is DeepArchitect\'s)',
    )
    learning_rate_init: float = _setting(2.5e-4, float, POSITIVE, "learning rate at the start")
    learning_rate_min: float = _setting(
        1e-9, float, NON_NEGATIVE, "stop once a drop takes the learning rate below this"
    )
    batch_size: int = _setting(
        32, int, AT_LEAST_ONE,
        "examples per optimizer step; each epoch is a fresh seeded shuffle cut into full "
        "batches (the last, partial batch is skipped)",
    )
    weight_decay: float = _setting(
        0.0, float, NON_NEGATIVE,
        'weight decay passed to the optimizer (an L2 penalty, decoupled for "adamw")',
    )
    label_smoothing: float = _setting(
        0.0, float, (lambda v: 0 <= v < 1, "a number in [0, 1)"),
        "label smoothing of the training loss (cross-entropy); validation accuracy is "
        "unaffected",
    )
    max_epochs: int = _setting(100, int, AT_LEAST_ONE, "stop after this many passes over the training split")
    eval_every: int = _setting(
        1, int, AT_LEAST_ONE,
        "evaluate on the validation split every this many epochs (and after the last one)",
    )

    precision: str = _setting(
        "fp32", str, PRECISION,
        '"fp32", or mixed precision under torch.autocast: "bf16" (CPU and recent GPUs) or '
        '"fp16" (with gradient scaling)',
    )
    compile: bool = _setting(
        False, bool, BOOLEAN,
        "compile the training step's model with torch.compile (falls back to eager, with a "
        "warning, where torch.compile is unavailable or fails)",
    )

    max_params: int | None = _limit(
        "constraint checked before training: a candidate with more trainable parameters "
        "is not trained (recorded `invalid` with its count) and does not use the search's "
        "budget; off when not given",
    )
    max_macs: int | None = _limit(
        "constraint checked before training: a candidate with more multiply-adds per "
        "example is not trained (recorded `invalid`) and does not use the budget; off when "
        "not given",
    )
    objectives: list = _setting(
        None, list, OBJECTIVE_LIST,
        'what the search optimises: ["accuracy"] (the evaluator\'s score) by default, or '
        'several of "accuracy", "params", "macs", "latency", each maximised or, with a '
        'leading "-", minimised; several give a Pareto front (docs/searchers.md)',
        search=True,
    )
    direction: str = _setting(
        None, str, DIRECTION,
        '"maximize" (the default) or "minimize" the single objective, e.g. an evaluator '
        "whose score is a loss",
        search=True,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = _coerce(f.name, getattr(self, f.name), f.metadata, "Settings(...)")
            object.__setattr__(self, f.name, value)

    @classmethod
    def names(cls) -> list[str]:
        """Every setting name, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """(name, kind, default, meaning) for every setting: for help text and docs."""
        return [
            (f.name, f.metadata["kind"].__name__, f.default, f.metadata["doc"])
            for f in dataclasses.fields(cls)
        ]

    def updated(self, values: Mapping[str, Any], origin: str) -> Settings:
        """These settings with `values` applied by name; `origin` says where they came from."""
        if not values:
            return self
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes = {}
        for name, value in values.items():
            spec = fields.get(name)
            if spec is None:
                raise DarchError(
                    f"unknown training setting `{name}` in {origin}",
                    help=did_you_mean(name, fields),
                    notes=["known settings: " + ", ".join(fields)],
                )
            changes[name] = _coerce(name, value, spec.metadata, origin)
        return dataclasses.replace(self, **changes)

    @classmethod
    def search_names(cls) -> list[str]:
        """The settings of the whole search (objectives, direction): fixed, never chosen."""
        return [f.name for f in dataclasses.fields(cls) if f.metadata.get("search")]

    def to_json(self) -> dict[str, Any]:
        """Every setting by name; one with no default value (None) only when it is set,
        so the settings of runs that leave it alone read as they always have."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if v is not None or getattr(Settings, k) is not None}


def _coerce(name: str, value: Any, meta: Mapping[str, Any], origin: str) -> Any:
    """The value as its setting's kind (any integer may stand for a float), or a clear error."""
    kind = meta["kind"]
    if value is None and meta.get("optional"):
        return None
    if meta.get("whole") and isinstance(value, float) and value.is_integer():
        value = int(value)  # 1e6
    if kind is list:
        value = _names(value)
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"  # from --set NAME=true
    if not isinstance(value, bool):  # a boolean never stands for a number
        if kind is int and isinstance(value, numbers.Integral):
            value = int(value)
        elif kind is float and isinstance(value, numbers.Real) and math.isfinite(value):
            value = float(value)
    right_kind = isinstance(value, kind) and (kind is bool or not isinstance(value, bool)) \
        and not (isinstance(value, float) and not math.isfinite(value))  # `--set lr=inf`
    if not right_kind or not meta["ok"](value):
        hint = None
        if name in ("optimizer", "precision", "direction", "schedule") and isinstance(value, str):
            hint = did_you_mean(value, {"optimizer": OPTIMIZERS, "precision": PRECISIONS,
                                        "direction": DIRECTIONS, "schedule": SCHEDULES}[name])
        if name == "objectives" and isinstance(value, list):
            wrong = [str(o) for o in value if str(o).removeprefix("-") not in OBJECTIVES]
            sign = "-" if wrong and wrong[0].startswith("-") else ""  # kept in the hint
            hint = did_you_mean(wrong[0], [sign + o for o in OBJECTIVES]) if wrong else None
        raise DarchError(
            f"training setting `{name}` in {origin} must be {meta['expected']}, got "
            f"{value_text(value)}",
            help=hint,
        )
    return value


def _names(value: Any) -> Any:
    """A list of objective names from a list or tuple of strings or from `a,-b` (the
    command line); anything else is left for the check to refuse."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return value


def parse_setting(text: str) -> tuple[str, Any]:
    """`NAME=VALUE` from the command line; the value is read as int, float or text."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise DarchError(f"expected NAME=VALUE, got `{text}`", help="for example: --set batch_size=64")
    value: Any = raw
    for convert in (int, float):
        try:
            value = convert(raw)
            break
        except ValueError:
            continue
    return name, value
