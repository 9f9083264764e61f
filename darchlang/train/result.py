"""The outcome of one evaluation, shared by evaluators, searchers and the journal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EvalResult:
    """What an evaluator reports: a failure is a result with a reason, not an exception.

    `score` is the number searchers maximise (validation accuracy for classifiers);
    `curve` holds the intermediate values `(step, value, time)` an evaluation given a
    `Budget` reported (see `darchlang.train.budget`).
    """

    status: str  # "ok" or "failed"
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    identity: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    curve: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def failed(cls, reason: str, **kw: Any) -> EvalResult:
        return cls(status="failed", reason=reason, **kw)
