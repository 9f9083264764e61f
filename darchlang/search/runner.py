"""The runner: the one loop that drives a searcher, an evaluator and a journal.

    result = run_search(space, make_searcher("evolution", space, seed=1), evaluate,
                        budget=50, journal="runs/exp.db")

The budget counts finished evaluations, failures and reused results included, across
every run of the same journal: running the same search again resumes it and stops at
the same total. On resume the searcher is rebuilt by replaying the journal's events
(`adopt` for each ask, `tell` for each result, in their recorded order), evaluations
that were running when the search died are run again first, and then the search goes
on exactly as it would have without the interruption.

An architecture evaluated before (same identity) is not trained again: its recorded
result is reused, journaled as a new row that points at the original, told to the
searcher and counted against the budget. One asked again while an identical one is
still running (parallel search) waits for that one's result instead of running too.

With `workers=N` or an `executor`, up to N evaluations run at once in worker
processes (or on a Ray cluster) while the searcher and the journal stay here; see
`darchlang.search.parallel`.

This module holds only the orchestration: the loop and the choice between it and the
parallel runner. What a session records lives in `session`, how an evaluator's
output becomes a result in `outcome`, how a journal is replayed in `resume`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError
from darchlang.search.base import Searcher
from darchlang.search.journal import Journal
from darchlang.search.outcome import Evaluator, as_evaluate, evaluate_safely
from darchlang.search.progress import default_progress
from darchlang.search.results import SearchResult
from darchlang.search.schedulers import Scheduler, make_scheduler
from darchlang.search.session import MAX_CRASHES, MAX_INVALID, Progress, SearchSession
from darchlang.space.space import Space
from darchlang.train.budget import takes_budget


def run_search(
    space: Space,
    searcher: Searcher,
    evaluator: Evaluator,
    budget: int,
    journal: Journal | str | Path | None = None,
    *,
    settings: dict[str, Any] | None = None,
    space_text: str | None = None,
    progress: Progress | bool | None = None,
    reuse: bool = True,
    workers: int | None = None,
    executor: Executor | None = None,
    sync: bool = False,
    retries: int = 2,
    threads_per_eval: int = 1,
    eval_timeout: float | None = None,
    scheduler: Scheduler | str | None = None,
    keep_checkpoints: bool = False,
    preflight: Callable[[Architecture], str | None] | None = None,
    max_invalid: int = MAX_INVALID,
    max_crashes: int = MAX_CRASHES,
) -> SearchResult:
    """Search until `budget` evaluations have finished (or the searcher is exhausted).

    `evaluator` is a callable `arch -> EvalResult | float`, or an object with such an
    `evaluate` method. An exception in it, a failed result or a score that is not a
    finite number is a failed evaluation: recorded with its reason, counted, told to
    the searcher, and the search goes on, unless it raised the same error for
    `max_crashes` candidates in a row: then the search ends and the result's `stopped`
    says what it raised (the traceback is each row's `detail`). `settings` are the evaluator's settings that
    change scores (dataset, epochs): a journal resumes only with the same ones.
    `journal` is a path (created or resumed), an open `Journal`, or None for one kept
    in memory. `progress` is a callback that hears every `SearchEvent`; by default a
    bar and a line per evaluation show when attached to a terminal or a notebook
    (`progress=True`: always, `False`: never). Ctrl-C marks the running evaluation
    interrupted, leaves the journal consistent and re-raises `KeyboardInterrupt`.

    With `workers` above 1 or an `executor` (any `concurrent.futures.Executor`, e.g.
    `LocalPool` or `RayExecutor`), up to `workers` evaluations run at once: a new one
    is asked for as soon as one ends, results are told in the order they arrive (with
    `sync`, in batches of `workers` told in ask order, so model-based searchers are
    reproducible too), and a worker that dies is retried `retries` times before its
    evaluation is recorded failed. Deaths count across resumes: an evaluation that was
    running when the search itself ended, more than `retries` times, is recorded
    failed rather than run again. `eval_timeout` (seconds) is a hard limit on each
    evaluation: it runs in a worker process, killed when the limit passes, and the
    evaluation is recorded failed. The evaluator must then be picklable or an
    `EvaluatorRecipe`; `threads_per_eval` is each worker's torch thread count (for the
    local pool made here). See `darchlang.search.parallel`.

    With a `scheduler` (a `Scheduler`, or a registered name with default epochs), each
    candidate trains in rungs and stops early or goes on as the scheduler decides; the
    evaluator must take a `budget` keyword (`darchlang.train.budget`). Checkpoints
    between rungs are deleted once no rung can use them, unless `keep_checkpoints`.
    See `darchlang.search.scheduled`.

    With a `preflight` (a `Preflight`, or any `arch -> reason | None`), a candidate it
    refuses is journaled `invalid` with the reason and never evaluated; it does not
    use the budget. After `max_invalid` of them in a row, or when no valid
    architecture is left, the search ends and the result's `stopped` says why.
    """
    if retries < 0:
        raise DarchError(f"retries must be at least 0, got {retries}")
    if eval_timeout is not None and not eval_timeout > 0:
        raise DarchError(f"eval_timeout must be a positive number of seconds, got {eval_timeout}")
    if isinstance(scheduler, str):
        scheduler = make_scheduler(scheduler)
    if scheduler is not None and sync:
        raise DarchError("`sync` cannot be combined with a scheduler",
                         help="the scheduler decides which rung runs when; drop `sync`")
    if scheduler is not None and not _takes_budget(evaluator):
        raise DarchError("this evaluator cannot be scheduled: it takes no `budget`",
                         help="an evaluator trained in rungs takes `budget=` and reports "
                         "after each epoch (see docs/training.md)")
    display = default_progress(progress, searcher.name, searcher.objectives)
    progress = display if display is not None else (None if isinstance(progress, bool) else progress)
    session_options = dict(settings=settings, space_text=space_text, progress=progress,
                           reuse=reuse, preflight=preflight, max_invalid=max_invalid,
                           max_crashes=max_crashes)
    if scheduler is not None:
        from darchlang.search.scheduled import ScheduledSession

        session: SearchSession = ScheduledSession(space, searcher, scheduler, budget, journal,
                                                  keep_checkpoints=keep_checkpoints,
                                                  **session_options)
    else:
        session = SearchSession(space, searcher, budget, journal, **session_options)
    session.retries = retries
    with session, (display or contextlib.nullcontext()):
        try:
            if executor is not None or (workers or 1) > 1 or sync or eval_timeout is not None:
                from darchlang.search.parallel import run_parallel

                run_parallel(session, evaluator, executor=executor, workers=workers, sync=sync,
                             retries=retries, threads_per_eval=threads_per_eval,
                             eval_timeout=eval_timeout)
                return session.result()
            evaluate = as_evaluate(evaluator)
            for candidate in list(session.held):  # results a killed synchronous search kept
                session.tell(candidate)
            while (candidate := session.next()) is not None:
                result, detail = evaluate_safely(evaluate, candidate.arch,
                                                 getattr(candidate, "budget", None))
                session.finish(candidate, result, detail)
            return session.result()
        except BaseException:  # Ctrl-C at any moment: no row of ours is left `running`
            session.abandon()
            raise


def _takes_budget(evaluator: Evaluator) -> bool:
    """Whether the evaluator (or the one a recipe builds) accepts a `budget`."""
    from darchlang.search.workers import EvaluatorRecipe

    if isinstance(evaluator, EvaluatorRecipe):
        return evaluator.takes_budget()
    return takes_budget(as_evaluate(evaluator))
