"""The parallel runner: up to N evaluations in flight, the searcher and journal here.

    run_search(space, searcher, evaluate, budget=100, journal="runs/x.db", workers=4)
    run_search(space, searcher, ClassifierRecipe("digits"), budget=100, workers=2,
               executor=RayExecutor("auto", gpus_per_eval=1))

`run_search(..., workers=N)` (or `executor=` any `concurrent.futures.Executor`) calls
`run_parallel`, which drives the same `SearchSession` as the one-at-a-time loop:

- **Asynchronous** (the default): a new candidate is asked for as soon as a slot is
  free, and each result is told as it arrives. The journal numbers every ask and
  every result, so a resumed search replays them in the order they happened.
- **Synchronous** (`sync=True`): N candidates are asked for, all N are evaluated, and
  their results are told in ask order. Model-based searchers are then reproducible
  whatever the timing; results are recorded as they arrive (a kill loses none) and
  numbered when told.

Random, uniform and grid pick the k-th candidate from (seed, k) alone, so they choose
the same architectures in either mode and with any number of workers.

Only the driver writes the journal. A worker that dies costs only the evaluation it
was running: it is run again up to `retries` times, then recorded failed with the
reason (`LocalPool` says how the process ended); deaths are counted in the journal,
so those of earlier runs count too. A broken `ProcessPoolExecutor` is replaced by a
new one. With `eval_timeout`, a `LocalPool` worker whose evaluation runs longer is
killed, the evaluation recorded failed (not retried) and the slot renewed. While
evaluations run, the driver beats their heartbeat in the journal every few seconds. Ctrl-C (or SIGTERM in `darch search`) stops every worker and
marks the evaluations it cut off as interrupted; running the search again reruns them.
"""

from __future__ import annotations

import pickle
import time
import traceback
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from typing import Any

from darchlang.errors import DarchError
from darchlang.search.base import Candidate
from darchlang.search.executors import EvaluationTimedOut, LocalPool
from darchlang.search.session import SearchSession, signals_deferred
from darchlang.search.workers import EvaluatorRecipe, as_recipe, evaluate_in_worker
from darchlang.train.result import EvalResult

HEARTBEAT = 5.0  # seconds between heartbeats of the running rows


def run_parallel(session: SearchSession, evaluator: Any, *, executor: Executor | None = None,
                 workers: int | None = None, sync: bool = False, retries: int = 0,
                 threads_per_eval: int | None = 1, eval_timeout: float | None = None) -> None:
    """Drive `session` to its end with up to `workers` evaluations at once.

    Without `executor`, a `LocalPool` of `workers` processes is made (and shut down at
    the end); with one, `workers` defaults to its `workers` attribute (the shipped
    executors) or its `_max_workers` (the standard library's pools).
    """
    recipe = as_recipe(evaluator)
    own = executor is None
    if own:
        workers = workers or 1
        _check_picklable(recipe)
        executor = LocalPool(workers, recipe, threads_per_eval)
    else:
        workers = workers or getattr(executor, "workers", None) or getattr(executor, "_max_workers", None)
        if not workers:
            raise DarchError("give `workers`: how many evaluations the executor may run at once")
        if isinstance(executor, ProcessPoolExecutor):
            _check_picklable(recipe)
    if workers < 1:
        raise DarchError(f"workers must be at least 1, got {workers}")
    if eval_timeout is not None and not callable(getattr(executor, "expire", None)):
        raise DarchError("the hard time limit (eval_timeout) needs the local worker pool",
                         help="drop `executor`, or stop slow evaluations in the evaluator")
    session.retries = retries
    driver = _Driver(session, recipe, executor, workers, retries, threads_per_eval)
    driver.eval_timeout = eval_timeout
    try:
        driver.run_sync() if sync else driver.run_async()
    except BaseException:
        driver.stop()
        raise
    finally:
        if driver.executor is not executor or own:
            driver.executor.shutdown(wait=True)


class _Driver:
    """The loop's state: what is in flight, on which executor, after how many tries."""

    def __init__(self, session: SearchSession, recipe: EvaluatorRecipe, executor: Executor,
                 workers: int, retries: int, threads: int | None):
        self.session, self.recipe, self.executor = session, recipe, executor
        self.workers, self.retries, self.threads = workers, retries, threads
        self.running: dict[Future, Candidate] = {}
        self.eval_timeout: float | None = None
        self.beaten = time.monotonic()

    def run_async(self) -> None:
        for candidate in self.session.held:  # recorded by a killed synchronous search
            self.session.tell(candidate)
        while True:
            while len(self.running) < self.workers:
                candidate = self.session.next()
                if candidate is None:
                    break
                self.submit(candidate)
            if not self.running:
                return
            for candidate, outcome in self.landed():
                self.session.finish(candidate, *outcome)

    def run_sync(self) -> None:
        if not self.session.rerunning:  # a kill cut a batch's tells short: finish them
            for candidate in self.session.held:
                self.session.tell(candidate)
        while True:
            # Results a killed run recorded belong to the batch it was running.
            launched = len(self.session.held)
            while launched < self.workers:
                candidate = self.session.next()
                if candidate is None:
                    break
                self.submit(candidate)
                launched += 1
            if not self.running and not self.session.held:
                return
            while self.running:
                for candidate, outcome in self.landed():
                    self.session.finish(candidate, *outcome, tell=False)
            for candidate in self.session.held:
                self.session.tell(candidate)

    def submit(self, candidate: Candidate) -> None:
        args = (evaluate_in_worker, self.recipe, candidate.arch, self.threads,
                getattr(candidate, "budget", None))  # a scheduled search's rung
        try:
            future = self.executor.submit(*args)
        except BrokenExecutor:  # broken by a death we have not read about yet
            self.renew()
            future = self.executor.submit(*args)
        self.running[future] = candidate

    def landed(self) -> list[tuple[Candidate, tuple[EvalResult, str | None]]]:
        """Wait for at least one evaluation to end; its outcomes in ask order (a worker
        that died and may try again is resubmitted instead)."""
        tick = HEARTBEAT if self.eval_timeout is None else min(HEARTBEAT, max(0.05, self.eval_timeout / 20))
        while True:
            done, _ = wait(list(self.running), timeout=tick, return_when=FIRST_COMPLETED)
            if self.eval_timeout is not None:
                self.executor.expire(self.eval_timeout)  # type: ignore[attr-defined]
            if time.monotonic() - self.beaten >= HEARTBEAT:
                self.beaten = time.monotonic()
                self.session.journal.beat([c.index for c in self.running.values()])
            if done:
                break
        out = []
        for future in sorted(done, key=lambda f: self.running[f].index):
            candidate = self.running.pop(future)
            try:
                out.append((candidate, future.result()))
                continue
            except EvaluationTimedOut as exc:  # not retried: it would run as long again
                out.append((candidate, (EvalResult.failed(str(exc), identity=candidate.arch.identity),
                                        None)))
                continue
            except BrokenExecutor as exc:
                error: BaseException = exc
                if not hasattr(self.executor, "kill"):  # a plain pool broke as a whole
                    self.renew()
            except Exception as exc:  # the task never ran or its worker vanished (Ray)
                error = exc
            deaths = self.session.died(candidate)
            if deaths <= self.retries:
                self.session.retry(candidate)
                self.submit(candidate)
                continue
            out.append((candidate, _died(candidate, error, deaths)))
        return out

    def renew(self) -> None:
        """Replace a broken standard-library process pool by a new one like it."""
        old = self.executor
        if isinstance(old, LocalPool) or not isinstance(old, ProcessPoolExecutor):
            return  # LocalPool renews its own slots; others cannot be rebuilt from here
        if not getattr(old, "_broken", False):
            return
        # A pool keeps its settings in private fields only; they have not changed since 3.7.
        self.executor = ProcessPoolExecutor(
            old._max_workers, mp_context=old._mp_context, initializer=old._initializer,
            initargs=old._initargs)

    def stop(self) -> None:
        """Ctrl-C or an error: kill every worker, then mark interrupted every row this
        search set running, including one whose submission the signal cut short (it
        is in the journal, not yet in `running`)."""
        try:
            with signals_deferred():
                kill = getattr(self.executor, "kill", None)
                if callable(kill):
                    kill()
                else:
                    for future in self.running:
                        future.cancel()
                    self.executor.shutdown(wait=False, cancel_futures=True)
        finally:
            self.session.abandon()
            self.running.clear()


def _died(candidate: Candidate, error: BaseException, attempts: int) -> tuple[EvalResult, str]:
    text = str(error).strip().splitlines()
    what = text[0] if text else type(error).__name__
    if not isinstance(error, BrokenExecutor):
        what = f"the worker failed: {type(error).__name__}: {what}"
    reason = what if attempts == 1 else f"the evaluation ended its process {attempts} times: {what}"
    detail = "".join(traceback.format_exception(error))
    return EvalResult.failed(reason, identity=candidate.arch.identity), detail


def _check_picklable(recipe: EvaluatorRecipe) -> None:
    """Say before the search starts, not once per evaluation, that an evaluator cannot
    travel to worker processes."""
    try:
        pickle.dumps(recipe)
    except Exception as exc:
        raise DarchError(
            f"the evaluator cannot be sent to worker processes: {type(exc).__name__}: {exc}",
            help="define it at module level in an importable module (not in `__main__` "
            "or inside a function), or pass an EvaluatorRecipe such as ClassifierRecipe",
        ) from None

