"""What a search found: the best architectures, running best, per-choice statistics,
CSV/JSON export and a plot. Used by `run_search`, `darch search` and `darch report`
alike, so the Python API and the command line report the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from darchlang.errors import DarchError
from darchlang.search.journal import Evaluation, dumps


@dataclass
class SearchResult:
    """The finished evaluations of a search (in the order results arrived) and its end.

    `exhausted` is true when the searcher ran out of architectures before the budget
    (a grid over a small space). `refused` holds the candidates refused before
    training (status `invalid`, not among `evaluations`); `stopped` says why the
    search ended early on them (too many in a row, or no valid architecture left),
    None otherwise.
    """

    evaluations: list[Evaluation]
    budget: int
    exhausted: bool = False
    journal: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    refused: list[Evaluation] = field(default_factory=list)
    stopped: str | None = None

    @property
    def done(self) -> int:
        return len(self.evaluations)

    @property
    def failed(self) -> int:
        return sum(not e.ok for e in self.evaluations)

    @property
    def invalid(self) -> int:
        """How many candidates were refused before training (no budget used)."""
        return len(self.refused)

    def rows(self) -> list[Evaluation]:
        """Every row: the finished evaluations and the refused candidates, in the order
        they were told."""
        return sorted(self.evaluations + self.refused, key=lambda e: e.told_at or 0)

    @property
    def best(self) -> Evaluation | None:
        return best_of(self.evaluations)

    def top(self, k: int = 5) -> list[Evaluation]:
        return top(self.evaluations, k)

    def running_best(self) -> list[float | None]:
        return running_best(self.evaluations)

    def __repr__(self) -> str:
        from darchlang.notebook import search_repr

        return search_repr(self)

    def _repr_html_(self) -> str:
        from darchlang.notebook import search_html

        return search_html(self)

    def to_json(self) -> dict[str, Any]:
        return report_json(self.rows(), self.config, budget=self.budget, exhausted=self.exhausted,
                           stopped=self.stopped)

    def to_csv(self, target: str | Path | IO[str]) -> None:
        write_csv(self.rows(), target)


def best_of(evaluations: list[Evaluation]) -> Evaluation | None:
    """The highest-scoring successful evaluation (the earliest one on a tie)."""
    best = None
    for e in evaluations:
        if e.ok and e.score is not None and (best is None or e.score > best.score):
            best = e
    return best


def top(evaluations: list[Evaluation], k: int = 5) -> list[Evaluation]:
    """The `k` best distinct architectures (a reused result counts once)."""
    seen: set[str] = set()
    out = []
    ranked = sorted((e for e in evaluations if e.ok and e.score is not None),
                    key=lambda e: (-e.score, e.index))
    for e in ranked:
        if e.identity in seen:
            continue
        seen.add(e.identity)
        out.append(e)
        if len(out) == k:
            break
    return out


def running_best(evaluations: list[Evaluation]) -> list[float | None]:
    """Best score after each evaluation (None until the first success)."""
    out: list[float | None] = []
    best: float | None = None
    for e in evaluations:
        if e.ok and e.score is not None and (best is None or e.score > best):
            best = e.score
        out.append(best)
    return out


@dataclass
class OptionStat:
    """How the architectures that took one option of one choice did."""

    index: int
    value: Any
    count: int = 0
    ok: int = 0
    total: float = 0.0
    best: float | None = None

    @property
    def mean(self) -> float | None:
        return self.total / self.ok if self.ok else None


@dataclass
class ChoiceStat:
    name: str
    options: list[OptionStat]

    @property
    def leader(self) -> OptionStat | None:
        """The option with the best mean score (more successes break a tie)."""
        scored = [o for o in self.options if o.mean is not None]
        return max(scored, key=lambda o: (o.mean, o.ok)) if scored else None


def choice_stats(evaluations: list[Evaluation],
                 labels: dict[str, list[str]] | None = None) -> list[ChoiceStat]:
    """For every choice, each option's count, mean and best score.

    Repeated architectures (reused results) count once, so a searcher that keeps
    proposing one favourite does not inflate its options. With `labels` (the
    journal's `options` record: choice name -> option labels) choices come in the
    space's order and sub-space options read by their outline instead of `option N`.
    """
    table: dict[str, dict[int, OptionStat]] = {}
    seen: set[str] = set()
    for e in evaluations:
        if e.identity in seen:
            continue
        seen.add(e.identity)
        for name, index, value in zip(e.names, e.decisions, e.values, strict=True):
            if value == f"option {index}" and labels and index < len(labels.get(name, ())):
                value = labels[name][index]
            stat = table.setdefault(name, {}).setdefault(index, OptionStat(index, value))
            stat.count += 1
            if e.ok and e.score is not None:
                stat.ok += 1
                stat.total += e.score
                stat.best = e.score if stat.best is None else max(stat.best, e.score)
    names = list(table)
    if labels is not None:
        order = {name: i for i, name in enumerate(labels)}
        names.sort(key=lambda n: order.get(n, len(order)))
    return [ChoiceStat(name, sorted(table[name].values(), key=lambda o: o.index))
            for name in names]


def summary(evaluations: list[Evaluation]) -> dict[str, Any]:
    """Counts, best score and time spent (evaluator seconds and wall-clock span)."""
    done = [e for e in evaluations if e.done]
    best = best_of(done)
    starts = [e.started for e in evaluations if e.started]
    ends = [e.finished for e in evaluations if e.finished]
    return {
        "done": len(done),
        "ok": sum(e.ok for e in done),
        "failed": sum(e.status == "failed" for e in done),
        "reused": sum(e.reused is not None for e in done),
        "invalid": sum(e.invalid for e in evaluations),
        "unfinished": sum(not e.settled for e in evaluations),
        "best_score": None if best is None else best.score,
        "best_index": None if best is None else best.index,
        "eval_seconds": sum(e.seconds or 0.0 for e in done if e.reused is None),
        "wall_seconds": (max(ends) - min(starts)) if starts and ends else 0.0,
    }


def report_json(evaluations: list[Evaluation], config: dict[str, Any] | None = None,
                top_k: int = 5, labels: dict[str, list[str]] | None = None,
                **extra: Any) -> dict[str, Any]:
    """Everything a report shows, as plain JSON data."""
    done = [e for e in evaluations if e.done]
    return {
        **extra,
        "config": config or {},
        "summary": summary(evaluations),
        "best": [e.to_json() for e in top(done, top_k)],
        "choices": [
            {
                "name": c.name,
                "leader": None if c.leader is None else c.leader.index,
                "options": [
                    {"index": o.index, "value": o.value, "count": o.count, "ok": o.ok,
                     "mean": o.mean, "best": o.best}
                    for o in c.options
                ],
            }
            for c in choice_stats(done, labels)
        ],
        "evaluations": [e.to_json() for e in evaluations],
    }


def write_csv(evaluations: list[Evaluation], target: str | Path | IO[str]) -> None:
    """One row per evaluation: outcome columns, one column per choice, scalar metrics."""
    names: dict[str, None] = {}
    metric_keys: dict[str, None] = {}
    for e in evaluations:
        names.update(dict.fromkeys(e.names))
        metric_keys.update(dict.fromkeys(k for k, v in e.metrics.items() if _scalar(v)))
    header = ["index", "status", "score", "identity", "seconds", "reused", "reason", "decisions"]
    header += [f"choice:{n}" for n in names] + [f"metric:{k}" for k in metric_keys]
    curves = any(e.metrics.get("curve") for e in evaluations)  # a scheduled search
    if curves:
        header.append("curve")

    def rows():
        yield header
        for e in evaluations:
            choices = e.choices()
            yield [
                e.index, e.status, "" if e.score is None else repr(e.score), e.identity,
                "" if e.seconds is None else f"{e.seconds:.3f}",
                "" if e.reused is None else e.reused, e.reason or "", dumps(e.decisions),
                *[_cell(choices[n]) if n in choices else "" for n in names],
                *[_cell(e.metrics[k]) if k in e.metrics else "" for k in metric_keys],
                *([dumps(e.metrics.get("curve") or [])] if curves else []),
            ]

    if isinstance(target, str | Path):
        try:
            with open(target, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(rows())
        except OSError as err:
            raise DarchError(f"cannot write the CSV to {target}: {err.strerror or err}") from None
    else:
        csv.writer(target).writerows(rows())


def csv_text(evaluations: list[Evaluation]) -> str:
    buffer = io.StringIO()
    write_csv(evaluations, buffer)
    return buffer.getvalue()


def rung_counts(rungs: list[Any]) -> list[tuple[int, int, int]]:
    """(rung from 1, candidates that ran it, how many of them went on to the next) from
    a scheduled search's rung rows (`Journal.rung_results`); empty without any."""
    ran: dict[int, set[int]] = {}
    for row in rungs:
        ran.setdefault(row.rung, set()).add(row.index)
    top = max(ran, default=-1)
    return [(r + 1, len(ran.get(r, ())), len(ran.get(r, set()) & ran.get(r + 1, set())))
            for r in range(top + 1)]


def _scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str) or value is None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value)
