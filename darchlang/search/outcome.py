"""Result normalisation: whatever an evaluator does becomes one well-formed `EvalResult`.

An evaluator is user code (a plugin, a function, the classifier): it may raise,
return a bare number, a result without its time or identity, an unknown status or a
score that is not a finite number. Searchers and the journal must only ever see a
result that is `ok` with a finite score or `failed` with a reason, so every runner
(the one-process loop, each worker process) passes evaluations through here.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError
from darchlang.train.budget import Budget
from darchlang.train.result import EvalResult

Evaluator = Callable[[Architecture], "EvalResult | float"] | Any


def as_evaluate(evaluator: Evaluator) -> Callable[[Architecture], Any]:
    """The evaluation function of an evaluator: itself, or its `evaluate` method."""
    method = getattr(evaluator, "evaluate", None)
    if callable(method):
        return method
    if callable(evaluator):
        return evaluator
    raise TypeError(
        f"an evaluator must be callable or have an `evaluate` method, got {type(evaluator).__name__}"
    )


def evaluate_safely(evaluate: Callable[[Architecture], Any], arch: Architecture,
                    budget: Budget | None = None) -> tuple[EvalResult, str | None]:
    """Run one evaluation; any failure becomes a failed result (with the traceback).

    With a `budget` (a scheduled search) the evaluator is called with it, and the
    intermediate values it reported become the result's `curve`."""
    result, detail = _evaluate(evaluate, arch, budget)
    if budget is not None and not result.curve:
        result.curve = list(budget.curve)
    return result, detail


def _evaluate(evaluate: Callable[[Architecture], Any], arch: Architecture,
              budget: Budget | None) -> tuple[EvalResult, str | None]:
    start = time.perf_counter()
    try:
        out = evaluate(arch) if budget is None else evaluate(arch, budget=budget)
    except (Exception, SystemExit) as exc:  # the search goes on; KeyboardInterrupt stops it
        # sys.exit() in an evaluator would end the whole search, silently and with code 0
        reason = exc.message if isinstance(exc, DarchError) else \
            f"the evaluator called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else \
            f"{type(exc).__name__}: {exc}"
        return (
            EvalResult.failed(reason, identity=arch.identity,
                              seconds=time.perf_counter() - start),
            traceback.format_exc(),
        )
    seconds = time.perf_counter() - start
    if isinstance(out, EvalResult):
        result = out
        if not result.seconds:
            result.seconds = seconds
        if not result.identity:
            result.identity = arch.identity
    elif isinstance(out, int | float) and not isinstance(out, bool):
        result = EvalResult("ok", float(out), identity=arch.identity, seconds=seconds)
    else:
        return EvalResult.failed(
            f"the evaluator returned {type(out).__name__}; expected an EvalResult or a number",
            identity=arch.identity, seconds=seconds,
        ), None
    if result.status not in ("ok", "failed"):
        return EvalResult.failed(f"the evaluator returned unknown status {result.status!r}",
                                 identity=arch.identity, seconds=seconds), None
    if result.ok and (result.score is None or not math.isfinite(float(result.score))):
        result = EvalResult.failed(
            f"the evaluator's score is {result.score!r}, not a finite number",
            metrics=result.metrics, identity=result.identity, settings=result.settings,
            seconds=result.seconds,
        )
    return result, None
