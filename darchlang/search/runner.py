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
"""

from __future__ import annotations

import hashlib
import math
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.arch.printer import to_jsonable
from darchlang.errors import DarchError
from darchlang.search.base import Candidate, Searcher
from darchlang.search.journal import Evaluation, Journal, dumps
from darchlang.search.results import SearchResult, best_of
from darchlang.space.nodes import Const, LayerNode, RepeatNode, ResidualNode, SeqNode
from darchlang.space.space import Space
from darchlang.train.result import EvalResult

Evaluator = Callable[[Architecture], "EvalResult | float"] | Any


@dataclass
class SearchEvent:
    """What a progress callback hears: `resumed` once, then `started`/`finished` per
    evaluation (`finished` also for a reused result), with the totals so far."""

    kind: str
    done: int
    budget: int
    best: Evaluation | None = None
    evaluation: Evaluation | None = None
    arch: Architecture | None = None
    index: int | None = None


Progress = Callable[[SearchEvent], None]


class SearchSession:
    """One search's bookkeeping between a searcher and its journal, for any runner.

    The session resumes the journal when opened, hands out the candidates to evaluate
    (unfinished ones from a killed run first, then the searcher's asks, answering
    repeats from the journal at once), and records each start and result. It keeps
    no evaluation loop of its own: `run_search` drives it one evaluation at a time,
    and the parallel runner keeps several candidates in flight, calling `finish` in
    whatever order results arrive.

    A candidate identical to one still in flight is journaled as started but not
    handed out: it is a *twin*, and takes its source's result when that one is told.
    `finish(..., tell=False)` records a result without telling the searcher yet (a
    synchronous batch); `tell` tells it later. Results a killed synchronous search
    recorded but never told come back in `held`, for the runner to tell.
    """

    def __init__(
        self,
        space: Space,
        searcher: Searcher,
        budget: int,
        journal: Journal | str | Path | None = None,
        *,
        settings: dict[str, Any] | None = None,
        space_text: str | None = None,
        progress: Progress | None = None,
        reuse: bool = True,
    ):
        if budget < 0:
            raise DarchError(f"the budget must be at least 0, got {budget}")
        self.space, self.searcher, self.budget = space, searcher, budget
        self.progress, self.reuse = progress, reuse
        self._own = not isinstance(journal, Journal)
        self.journal = Journal(journal) if self._own else journal
        self.in_flight: dict[int, Candidate] = {}
        self.exhausted = False
        self._running: dict[str, int] = {}  # identity -> index of the one being evaluated
        self._twins: dict[int, list[Candidate]] = {}  # source index -> identical asks waiting
        self._results: dict[int, EvalResult] = {}  # recorded, not yet told
        try:
            self.journal.acquire()
            self.config = search_config(space, searcher, settings)
            self.journal.check_config(self.config)
            if space_text is not None and self.journal.meta("space_text") is None:
                self.journal.set_meta("space_text", space_text)
            if self.journal.meta("options") is None:
                self.journal.set_meta("options", dumps(option_labels(space)))
            finished, self._rerun, held = _replay(space, searcher, self.journal)
            for candidate, result in held:
                self._hold(candidate, result)
            self.done = len(finished)
            self.best = best_of(finished)
            self._emit("resumed")
        except BaseException:
            self.close()
            raise

    # -- what a runner calls -------------------------------------------------------------
    def next(self) -> Candidate | None:
        """The next candidate to evaluate, already journaled as running; None when the
        budget is covered (finished plus in flight) or the searcher has nothing left."""
        while self.done + len(self.in_flight) < self.budget:
            if self._rerun:
                candidate, fresh = self._rerun.pop(0), False
            else:
                candidate, fresh = self.searcher.ask(), True
                if candidate is None:
                    self.exhausted = True
                    return None
            if self._dispatch(candidate, fresh):
                return candidate
        return None

    def finish(self, candidate: Candidate, result: EvalResult, detail: str | None = None,
               *, tell: bool = True) -> Evaluation | None:
        """Record a result and tell the searcher (with `tell=False`: only record it, and
        return None; `tell` tells it later)."""
        if self._running.get(candidate.arch.identity) == candidate.index:
            del self._running[candidate.arch.identity]
        if not tell:
            self.journal.finish(candidate.index, result, detail, told=False)
            self._hold(candidate, result)
            return None
        return self._conclude(candidate, result,
                              lambda: self.journal.finish(candidate.index, result, detail))

    def tell(self, candidate: Candidate) -> Evaluation:
        """Tell the searcher a result recorded with `finish(..., tell=False)`."""
        result = self._results.pop(candidate.index)
        if self._running.get(candidate.arch.identity) == candidate.index:
            del self._running[candidate.arch.identity]
        return self._conclude(candidate, result, lambda: self.journal.told(candidate.index))

    @property
    def held(self) -> list[Candidate]:
        """Candidates whose results are recorded but not yet told, in ask order."""
        return [self.in_flight[index] for index in sorted(self._results)]

    def retry(self, candidate: Candidate) -> None:
        """Its worker died: the evaluation runs again (one more attempt in the journal)."""
        self.journal.restart(candidate.index)

    def interrupt(self, candidate: Candidate) -> None:
        """The evaluation was stopped (Ctrl-C); a resumed search runs it again, and so
        every twin waiting on it."""
        for waiting in [candidate, *self._twins.pop(candidate.index, [])]:
            self.journal.interrupt(waiting.index)
            self.in_flight.pop(waiting.index, None)
        if self._running.get(candidate.arch.identity) == candidate.index:
            del self._running[candidate.arch.identity]

    def result(self) -> SearchResult:
        return SearchResult(self.journal.finished(), self.budget, self.exhausted,
                            self.journal.path, self.config)

    def close(self) -> None:
        if self._own:
            self.journal.close()
        else:
            self.journal.release()

    def __enter__(self) -> SearchSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside -------------------------------------------------------------------------
    def _dispatch(self, candidate: Candidate, fresh: bool) -> bool:
        """Journal a candidate and say whether it must be evaluated: not when its
        result is known (reused at once) nor when an identical one is in flight."""
        identity = candidate.arch.identity
        source = self.journal.lookup(identity) if self.reuse else None
        if source is not None:
            if fresh:
                self.journal.reuse(candidate.index, candidate.arch, source)
            else:  # a twin cut off by a kill: its source has finished since
                self.journal.resolve(candidate.index, source)
            self._settle(candidate, source.result())
            return False
        if fresh:
            self.journal.start(candidate.index, candidate.arch)
        else:
            self.journal.restart(candidate.index)
        self.in_flight[candidate.index] = candidate
        twin_of = self._running.get(identity) if self.reuse else None
        if twin_of is not None:
            self._twins.setdefault(twin_of, []).append(candidate)
            return False
        self._running[identity] = candidate.index
        self._emit("started", arch=candidate.arch, index=candidate.index)
        return True

    def _hold(self, candidate: Candidate, result: EvalResult) -> None:
        # Recorded but untold: still in flight for the budget and for twins.
        self.in_flight[candidate.index] = candidate
        self._results[candidate.index] = result
        self._running.setdefault(candidate.arch.identity, candidate.index)

    def _conclude(self, candidate: Candidate, result: EvalResult,
                  record: Callable[[], None]) -> Evaluation:
        # The result and every twin's copy of it are one transaction, so a kill never
        # leaves a twin without the result its source already has.
        twins = self._twins.pop(candidate.index, [])
        with self.journal.batch():
            record()
            source = self.journal.get(candidate.index)
            for twin in twins:
                self.journal.resolve(twin.index, source)
        evaluation = self._settle(candidate, result)
        for twin in twins:
            self._settle(twin, source.result())
        return evaluation

    def _settle(self, candidate: Candidate, result: EvalResult) -> Evaluation:
        self.in_flight.pop(candidate.index, None)
        evaluation = self.journal.get(candidate.index)
        self.searcher.tell(candidate, result)
        self.done += 1
        self.best = best_of([self.best, evaluation] if self.best is not None else [evaluation])
        self._emit("finished", evaluation, candidate.arch, candidate.index)
        return evaluation

    def _emit(self, kind: str, evaluation: Evaluation | None = None,
              arch: Architecture | None = None, index: int | None = None) -> None:
        if self.progress is not None:
            self.progress(SearchEvent(kind, self.done, self.budget, self.best, evaluation, arch,
                                      index))


def run_search(
    space: Space,
    searcher: Searcher,
    evaluator: Evaluator,
    budget: int,
    journal: Journal | str | Path | None = None,
    *,
    settings: dict[str, Any] | None = None,
    space_text: str | None = None,
    progress: Progress | None = None,
    reuse: bool = True,
    workers: int | None = None,
    executor: Executor | None = None,
    sync: bool = False,
    retries: int = 0,
    threads_per_eval: int = 1,
) -> SearchResult:
    """Search until `budget` evaluations have finished (or the searcher is exhausted).

    `evaluator` is a callable `arch -> EvalResult | float`, or an object with such an
    `evaluate` method. An exception in it, a failed result or a score that is not a
    finite number is a failed evaluation: recorded with its reason, counted, told to
    the searcher, and the search goes on. `settings` are the evaluator's settings that
    change scores (dataset, epochs): a journal resumes only with the same ones.
    `journal` is a path (created or resumed), an open `Journal`, or None for one kept
    in memory. Ctrl-C marks the running evaluation interrupted, leaves the journal
    consistent and re-raises `KeyboardInterrupt`.

    With `workers` above 1 or an `executor` (any `concurrent.futures.Executor`, e.g.
    `LocalPool` or `RayExecutor`), up to `workers` evaluations run at once: a new one
    is asked for as soon as one ends, results are told in the order they arrive (with
    `sync`, in batches of `workers` told in ask order, so model-based searchers are
    reproducible too), and a worker that dies is retried `retries` times before its
    evaluation is recorded failed. The evaluator must then be picklable or an
    `EvaluatorRecipe`; `threads_per_eval` is each worker's torch thread count (for the
    local pool made here). See `darchlang.search.parallel`.
    """
    if executor is not None or (workers or 1) > 1 or sync:
        from darchlang.search.parallel import run_parallel

        if retries < 0:
            raise DarchError(f"retries must be at least 0, got {retries}")
        with SearchSession(space, searcher, budget, journal, settings=settings,
                           space_text=space_text, progress=progress, reuse=reuse) as session:
            run_parallel(session, evaluator, executor=executor, workers=workers, sync=sync,
                         retries=retries, threads_per_eval=threads_per_eval)
            return session.result()
    evaluate = as_evaluate(evaluator)
    with SearchSession(space, searcher, budget, journal, settings=settings,
                       space_text=space_text, progress=progress, reuse=reuse) as session:
        for candidate in list(session.held):  # results a killed synchronous search kept
            session.tell(candidate)
        while (candidate := session.next()) is not None:
            try:
                result, detail = evaluate_safely(evaluate, candidate.arch)
            except KeyboardInterrupt:
                session.interrupt(candidate)
                raise
            session.finish(candidate, result, detail)
        return session.result()


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


def evaluate_safely(evaluate: Callable[[Architecture], Any], arch: Architecture
                    ) -> tuple[EvalResult, str | None]:
    """Run one evaluation; any failure becomes a failed result (with the traceback)."""
    start = time.perf_counter()
    try:
        out = evaluate(arch)
    except Exception as exc:  # the search goes on; KeyboardInterrupt still stops it
        reason = exc.message if isinstance(exc, DarchError) else f"{type(exc).__name__}: {exc}"
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


def space_fingerprint(space: Space) -> str:
    """A hash of the space's choices (names, options) and size.

    Reformatting a program or editing its comments keeps the fingerprint; adding,
    renaming or changing a choice does not. A resume also replays recorded decisions
    and compares identities, which catches changes outside the choices.
    """
    digest = hashlib.sha256()
    for choice in space.choices:
        options = [repr(to_jsonable(o.value)) if type(o) is Const else type(o).__name__
                   for o in choice.options]
        digest.update(f"{choice.name}\x1f{'|'.join(options)}\x1e".encode())
    digest.update(str(space.count()).encode())
    return digest.hexdigest()[:16]


def option_labels(space: Space) -> dict[str, list[str]]:
    """A short label for every option of every choice, in the space's static order.

    Constants print as themselves; a sub-space option reads by its outline
    (`concat [conv2d, relu]`) so reports can say which branch did best.
    """
    return {c.name: [_label(o) for o in c.options] for c in space.choices}


def _label(node: Any, depth: int = 0) -> str:
    from darchlang.space.show import describe_value

    t = type(node)
    if t is LayerNode:
        return node.layer.name
    if t is SeqNode:
        if depth >= 2:
            return "concat [...]"
        items = [_label(i, depth + 1) for i in node.items[:4]]
        more = ", ..." if len(node.items) > 4 else ""
        return f"concat [{', '.join(items)}{more}]"
    if t is ResidualNode:
        return f"residual({_label(node.body, depth + 1)})"
    if t is RepeatNode:
        kind = "repeat_tied" if node.tied else "repeat"
        return f"{kind}({_label(node.copies[0], depth + 1)})"
    text = describe_value(node)
    return text if len(text) <= 40 else text[:39] + "…"


def search_config(space: Space, searcher: Searcher, settings: dict[str, Any] | None
                  ) -> dict[str, Any]:
    """What a journal records about its search, and what a resume must match."""
    return {
        "space": space_fingerprint(space),
        **searcher.config(),
        "settings": to_jsonable(settings or {}),
    }


def _replay(space: Space, searcher: Searcher, store: Journal
            ) -> tuple[list[Evaluation], list[Candidate], list[tuple[Candidate, EvalResult]]]:
    """Tell the searcher the journal's history; return the finished rows, the
    candidates that must run again, and those whose result was recorded but not told
    (a synchronous batch cut off), with their results."""
    rows = store.evaluations()
    if searcher.asked:
        raise ValueError("resume needs a fresh searcher (this one has asked already)")
    events: list[tuple[int, int, Evaluation]] = [(r.asked_at, 0, r) for r in rows]
    events += [(r.told_at, 1, r) for r in rows if r.done and r.told_at is not None]
    events.sort(key=lambda e: (e[0], e[1]))
    check = _spot_checks(rows)
    candidates: dict[int, Candidate] = {}
    finished: list[Evaluation] = []
    for _, kind, row in events:
        if kind == 0:
            try:
                candidate = searcher.adopt(row.decisions)
            except DarchError as err:
                raise _changed(store, row, err.message) from None
            if candidate.index != row.index:
                raise DarchError(f"the journal {store.path} has a gap before evaluation "
                                 f"#{row.index}; it cannot be resumed")
            if (row.index in check or not row.done) and candidate.arch.identity != row.identity:
                raise _changed(store, row, "its decisions now build a different architecture")
            candidates[row.index] = candidate
        else:
            searcher.tell(candidates[row.index], row.result())
            finished.append(row)
    rerun = [candidates[r.index] for r in rows if not r.done]
    held = [(candidates[r.index], r.result()) for r in rows if r.done and r.told_at is None]
    return finished, rerun, held


def _spot_checks(rows: list[Evaluation]) -> set[int]:
    # Printing every architecture again would make resuming a long journal slow;
    # a spread of rows (and every unfinished one) catches a changed space.
    if not rows:
        return set()
    step = max(1, len(rows) // 32)
    return {rows[i].index for i in range(0, len(rows), step)} | {rows[-1].index}


def _changed(store: Journal, row: Evaluation, why: str) -> DarchError:
    return DarchError(
        f"the space has changed since the journal {store.path} was written: "
        f"evaluation #{row.index}: {why}",
        help="resume with the program the journal was written with "
        "(`darch report --json` includes its text), or start a new journal",
    )
