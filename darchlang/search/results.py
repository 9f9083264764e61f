"""What a search found: the best architectures, running best, per-choice statistics,
CSV/JSON export and a plot. Used by `run_search`, `darch search` and `darch report`
alike, so the Python API and the command line report the same numbers.

"Best" follows the search's objectives (`darchlang.search.objectives`, read from the
journal's configuration): the highest score by default, the lowest with `direction:
"minimize"`. With several objectives the answer is the Pareto front (`pareto_front`),
and a ranking (`top`, `darch export --rank`) lists the front first, in the order of
the first objective, then the next front, and so on.
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
from darchlang.search.objectives import Objectives
from darchlang.search.pareto import fronts


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
    labels: dict[str, list[str]] | None = None  # each choice's option labels (labels.py)

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
    def objectives(self) -> Objectives:
        return Objectives.from_config(self.config)

    @property
    def best(self) -> Evaluation | None:
        return best_of(self.evaluations, self.objectives)

    def top(self, k: int = 5) -> list[Evaluation]:
        return top(self.evaluations, k, self.objectives)

    def pareto_front(self) -> list[Evaluation]:
        return pareto_front(self.evaluations, self.objectives)

    def running_best(self) -> list[float | None]:
        return running_best(self.evaluations, self.objectives)

    def __repr__(self) -> str:
        from darchlang.notebook import search_repr

        return search_repr(self)

    def _repr_html_(self) -> str:
        from darchlang.notebook import search_html

        return search_html(self)

    def to_json(self) -> dict[str, Any]:
        return report_json(self.rows(), self.config, labels=self.labels, budget=self.budget,
                           exhausted=self.exhausted, stopped=self.stopped)

    def to_csv(self, target: str | Path | IO[str]) -> None:
        write_csv(self.rows(), target, self.objectives, self.labels)


def best_of(evaluations: list[Evaluation], objectives: Objectives | None = None
            ) -> Evaluation | None:
    """The successful evaluation best on the (first) objective, the highest score by
    default (the earliest one on a tie)."""
    objectives = objectives or Objectives()
    best, best_value = None, None
    for e in evaluations:
        values = objectives.oriented(e)
        if values is not None and (best_value is None or values[0] > best_value):
            best, best_value = e, values[0]
    return best


def top(evaluations: list[Evaluation], k: int = 5, objectives: Objectives | None = None
        ) -> list[Evaluation]:
    """The `k` best distinct architectures (a reused result counts once); with several
    objectives, the Pareto front first along the first objective, then the next front."""
    objectives = objectives or Objectives()
    seen: set[str] = set()
    out = []
    scored = [(e, v) for e in evaluations if (v := objectives.oriented(e)) is not None]
    level = dict.fromkeys(range(len(scored)), 0)
    if objectives.several:
        for r, front in enumerate(fronts([v for _, v in scored])):
            level.update(dict.fromkeys(front, r))
    order = sorted(range(len(scored)),
                   key=lambda i: (level[i], -scored[i][1][0], scored[i][0].index))
    for e in (scored[i][0] for i in order):
        if e.identity in seen:
            continue
        seen.add(e.identity)
        out.append(e)
        if len(out) == k:
            break
    return out


def pareto_front(evaluations: list[Evaluation], objectives: Objectives | None = None
                 ) -> list[Evaluation]:
    """The distinct successful architectures no other one beats on every objective, in
    the order of the first objective (the best first)."""
    objectives = objectives or Objectives()
    ranked = top(evaluations, len(evaluations), objectives)
    points = [objectives.oriented(e) for e in ranked]
    return [ranked[i] for i in (fronts(points)[0] if points else [])]  # type: ignore[arg-type]


def running_best(evaluations: list[Evaluation], objectives: Objectives | None = None
                 ) -> list[float | None]:
    """The best value of the (first) objective after each evaluation, as reported
    (not negated); None until the first success."""
    objectives = objectives or Objectives()
    out: list[float | None] = []
    best = None
    for e in evaluations:
        values = objectives.oriented(e)
        if values is not None and (best is None or values[0] > best):
            best = values[0]
        out.append(None if best is None else (-best if objectives.first.minimize else best))
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
    minimize: bool = False  # the search minimises the score: a lower mean leads

    @property
    def leader(self) -> OptionStat | None:
        """The option with the best mean score (more successes break a tie)."""
        scored = [o for o in self.options if o.mean is not None]
        sign = -1 if self.minimize else 1
        return max(scored, key=lambda o: (sign * o.mean, o.ok)) if scored else None


def option_value(name: str, index: int, value: Any,
                 labels: dict[str, list[str]] | None) -> Any:
    """A choice's value as reports print it: a constant as itself, a sub-space option
    (which an architecture records as `option N`) by its label (`relu, batch_norm`),
    the same in the tables, the CSV and the JSON."""
    if value == f"option {index}" and labels and index < len(labels.get(name, ())):
        return labels[name][index]
    return value


def labelled_choices(e: Evaluation, labels: dict[str, list[str]] | None) -> dict[str, Any]:
    """Each active choice's name mapped to its value, sub-space options by label."""
    return {n: option_value(n, d, v, labels)
            for n, d, v in zip(e.names, e.decisions, e.values, strict=True)}


def choice_stats(evaluations: list[Evaluation],
                 labels: dict[str, list[str]] | None = None,
                 objectives: Objectives | None = None) -> list[ChoiceStat]:
    """For every choice, each option's count, mean and best score.

    Repeated architectures (reused results) count once, so a searcher that keeps
    proposing one favourite does not inflate its options. With `labels` (the
    journal's `options` record: choice name -> option labels) choices come in the
    space's order and sub-space options read by their outline instead of `option N`.
    Where the search minimises the score, the option with the lowest mean leads.
    """
    minimize = any(o.kind == "score" and o.minimize for o in (objectives or Objectives()).items)
    table: dict[str, dict[int, OptionStat]] = {}
    seen: set[str] = set()
    for e in evaluations:
        if e.identity in seen:
            continue
        seen.add(e.identity)
        for name, index, value in zip(e.names, e.decisions, e.values, strict=True):
            value = option_value(name, index, value, labels)
            stat = table.setdefault(name, {}).setdefault(index, OptionStat(index, value))
            stat.count += 1
            if e.ok and e.score is not None:
                stat.ok += 1
                stat.total += e.score
                better = min if minimize else max
                stat.best = e.score if stat.best is None else better(stat.best, e.score)
    names = list(table)
    if labels is not None:
        order = {name: i for i, name in enumerate(labels)}
        names.sort(key=lambda n: order.get(n, len(order)))
    return [ChoiceStat(name, sorted(table[name].values(), key=lambda o: o.index), minimize)
            for name in names]


def summary(evaluations: list[Evaluation], objectives: Objectives | None = None
            ) -> dict[str, Any]:
    """Counts, best score and time spent (evaluator seconds and wall-clock span)."""
    done = [e for e in evaluations if e.done]
    best = best_of(done, objectives)
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
    """Everything a report shows, as plain JSON data; with objectives other than the
    score, each evaluation's `objectives` too, and with several the `pareto` front."""
    done = [e for e in evaluations if e.done]
    objectives = Objectives.from_config(config)
    out = {
        **extra,
        "config": config or {},
        "summary": summary(evaluations, objectives),
        "best": [_with_objectives(e, objectives, labels)
                 for e in top(done, top_k, objectives)],
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
            for c in choice_stats(done, labels, objectives)
        ],
        "evaluations": [_with_objectives(e, objectives, labels) for e in evaluations],
    }
    if objectives.several:
        out["pareto"] = [_with_objectives(e, objectives, labels)
                         for e in pareto_front(done, objectives)]
    return out


def _with_objectives(e: Evaluation, objectives: Objectives,
                     labels: dict[str, list[str]] | None = None) -> dict[str, Any]:
    data = e.to_json()
    for item in data["choices"]:
        item["value"] = option_value(item["name"], item["index"], item["value"], labels)
    if not objectives.default:
        data["objectives"] = {o.name: o.value(e) for o in objectives.items}
    return data


def write_csv(evaluations: list[Evaluation], target: str | Path | IO[str],
              objectives: Objectives | None = None,
              labels: dict[str, list[str]] | None = None) -> None:
    """One row per evaluation: outcome columns, one column per choice (a sub-space
    option by its label from `labels`, as the report's tables print it), scalar
    metrics, and, with objectives other than the score, one `objective:NAME` column
    each."""
    objectives = objectives or Objectives()
    named = [] if objectives.default else list(objectives.items)
    names: dict[str, None] = {}
    metric_keys: dict[str, None] = {}
    for e in evaluations:
        names.update(dict.fromkeys(e.names))
        metric_keys.update(dict.fromkeys(k for k, v in e.metrics.items() if _scalar(v)))
    header = ["index", "status", "score", "identity", "seconds", "reused", "reason", "decisions"]
    header += [f"choice:{n}" for n in names] + [f"metric:{k}" for k in metric_keys]
    header += [f"objective:{o.name}" for o in named]
    curves = any(e.metrics.get("curve") for e in evaluations)  # a scheduled search
    if curves:
        header.append("curve")

    def rows():
        yield header
        for e in evaluations:
            choices = labelled_choices(e, labels)
            yield [
                e.index, e.status, "" if e.score is None else repr(e.score), e.identity,
                "" if e.seconds is None else f"{e.seconds:.3f}",
                "" if e.reused is None else e.reused, e.reason or "", dumps(e.decisions),
                *[_cell(choices[n]) if n in choices else "" for n in names],
                *[_cell(e.metrics[k]) if k in e.metrics else "" for k in metric_keys],
                *[_cell(v) if (v := o.value(e)) is not None else "" for o in named],
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


def csv_text(evaluations: list[Evaluation], objectives: Objectives | None = None,
             labels: dict[str, list[str]] | None = None) -> str:
    buffer = io.StringIO()
    write_csv(evaluations, buffer, objectives, labels)
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
