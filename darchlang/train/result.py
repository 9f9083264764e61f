"""The outcome of one evaluation, shared by evaluators, searchers and the journal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EvalResult:
    """What an evaluator reports: a failure is a result with a reason, not an exception.

    `score` is the number searchers maximise (validation accuracy for classifiers).
    """

    status: str  # "ok" or "failed"
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    identity: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def failed(cls, reason: str, **kw: Any) -> EvalResult:
        return cls(status="failed", reason=reason, **kw)
