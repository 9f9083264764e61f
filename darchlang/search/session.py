"""The session: one search's bookkeeping between a searcher and its journal.

Every runner (one evaluation at a time, or many in worker processes) needs the same
rules for what to evaluate next, what a repeat or a twin takes, and what the journal
records when; keeping them in one class means the runners differ only in how they
wait for results.

With a `preflight` (`darchlang.search.preflight`), each new candidate is checked
before it is handed out: one that cannot be built for the input, or breaks a
`max_params`/`max_macs` constraint, is journaled `invalid` with its located reason,
told to the searcher as a failure (so a learning searcher steers away from it) and
the searcher is asked again; it does not use the budget. Redraws are capped: after
`max_invalid` invalid candidates in a row (1,000 by default), or once every
architecture of the space has been found invalid, or when the searcher runs out
having proposed only invalid ones, the session stops and `stopped` says why in one
line (the CLI exits 1 with it). The counts live in the journal, so a resumed search
counts on from where it was and decides exactly as the uninterrupted one.

An evaluator that *raises* the same error for `max_crashes` candidates in a row (5
by default) is broken, not unlucky with architectures (a typo, a missing driver, a
dataset it cannot read): the session stops the same way rather than record the rest
of the budget as failures, and `stopped` says what it raised. Failures the evaluator
reports itself (a NaN loss, out of memory) never count, nor do different errors in a
row. The run is counted within one run of the search, so a resume after the fix
starts afresh.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.errors import CountOutOfReach, DarchError
from darchlang.search.base import Candidate, Searcher
from darchlang.search.fingerprint import search_config
from darchlang.search.journal import INVALID, Evaluation, Journal, dumps
from darchlang.search.labels import option_labels
from darchlang.search.results import SearchResult, best_of
from darchlang.search.resume import replay
from darchlang.space.space import Space
from darchlang.train.result import EvalResult

MAX_INVALID = 1000  # invalid candidates in a row after which a search stops
MAX_CRASHES = 5  # evaluations in a row that raised the same error, after which it stops


@dataclass
class SearchEvent:
    """What a progress callback hears: `resumed` once, then `started`/`finished` per
    evaluation (`finished` also for a reused result), with the totals so far.

    A scheduled search also sends `rung` when one rung of a candidate ends, and says
    where it stands: the rung it works on (`rung` of `rungs`, from 1) and how many
    candidates are `alive` (admitted and not yet stopped or finished)."""

    kind: str
    done: int
    budget: int
    best: Evaluation | None = None
    evaluation: Evaluation | None = None
    arch: Architecture | None = None
    index: int | None = None
    rung: int | None = None
    rungs: int | None = None
    alive: int | None = None
    invalid: int = 0  # candidates refused before training so far (not in `done`)

    def where(self) -> str:
        """"rung 2/4, 9 alive" in a scheduled search, "" otherwise."""
        if self.rungs is None:
            return ""
        return f"rung {self.rung}/{self.rungs}, {self.alive} alive"


Progress = Callable[[SearchEvent], None]


def died_while_running(deaths: int, identity: str) -> EvalResult:
    """The failure recorded for an evaluation given up after `deaths` searches ended
    while it ran (plain and scheduled sessions alike)."""
    return EvalResult.failed(
        f"the evaluation ended its process {deaths} times: the search stopped while it "
        "ran (a crash, the out-of-memory killer or a kill)", identity=identity)


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
        preflight: Callable[[Architecture], str | None] | None = None,
        max_invalid: int = MAX_INVALID,
        max_crashes: int = MAX_CRASHES,
    ):
        if budget < 0:
            raise DarchError(f"the budget must be at least 0, got {budget}")
        for name, value in (("max_invalid", max_invalid), ("max_crashes", max_crashes)):
            if value < 1:
                raise DarchError(f"{name} must be at least 1, got {value}")
        self.preflight, self.max_invalid, self.max_crashes = preflight, max_invalid, max_crashes
        self._crash: tuple[str, int] | None = None  # the error raised last, how often in a row
        self.stopped: str | None = None  # why the search stopped early
        self.invalid = 0  # candidates refused before training, in every run of the journal
        self._invalid_run = 0  # ... of them since the last valid one, in ask order
        self._invalid_seen: set[tuple[int, ...]] = set()  # their decisions
        self._invalid_sample: str | None = None  # the first one's "#3: reason"
        self._size: float | None = None  # the space's size, counted when first needed (inf: too entangled)
        self.space, self.searcher, self.budget = space, searcher, budget
        self.progress, self.reuse = progress, reuse
        self._own = not isinstance(journal, Journal)
        self.journal = Journal(journal) if self._own else journal
        self.in_flight: dict[int, Candidate] = {}
        self.exhausted = False
        self._running: dict[str, int] = {}  # identity -> index of the one being evaluated
        self._twins: dict[int, list[Candidate]] = {}  # source index -> identical asks waiting
        self._results: dict[int, EvalResult] = {}  # recorded, not yet told
        self._started: set[int] = set()  # rows this process set running (for `abandon`)
        try:
            self.journal.acquire()
            self.config = search_config(space, searcher, settings, self.scheduler)
            self.journal.check_config(self.config)
            if space_text is not None and self.journal.meta("space_text") is None:
                self.journal.set_meta("space_text", space_text)
            if self.journal.meta("options") is None:
                self.journal.set_meta("options", dumps(option_labels(space)))
            self.journal.set_meta("budget", str(budget))  # the latest: a resume may extend it
            finished = self._resume()
            self.done = len(finished)
            self.best = best_of(finished, searcher.objectives)
            self._emit("resumed")
        except BaseException:
            self.close()
            raise

    scheduler: Any = None  # a scheduled session's `Scheduler` (see `search.scheduled`)
    retries: int = 2  # reruns of an evaluation that ended its process (the runner sets it)

    def _resume(self) -> list[Evaluation]:
        """Replay the journal into the searcher; the finished rows."""
        finished, self._rerun, held = replay(self.space, self.searcher, self.journal)
        for candidate, result in held:
            self._hold(candidate, result)
        self._resume_invalid()
        return finished

    def _resume_invalid(self) -> None:
        """The journal's invalid candidates, counted as the search that wrote them did."""
        for row in self.journal.evaluations(INVALID):
            self._count_invalid(row)
        self._invalid_run = self.journal.invalid_in_a_row()

    # -- what a runner calls -------------------------------------------------------------
    def next(self) -> Candidate | None:
        """The next candidate to evaluate, already journaled as running; None when the
        budget is covered (finished plus in flight), the searcher has nothing left, or
        the search stopped on invalid candidates (`stopped`)."""
        while self.done + len(self.in_flight) < self.budget and not self._too_many_invalid():
            if self._rerun:
                candidate, fresh = self._rerun.pop(0), False
            else:
                candidate, fresh = self.searcher.ask(), True
                if candidate is None:
                    self._ran_out(busy=bool(self.in_flight))
                    return None
                if self._refused(candidate):
                    continue
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

    @property
    def rerunning(self) -> bool:
        """Whether evaluations a killed run left unfinished are still to be run again."""
        return bool(self._rerun)

    def retry(self, candidate: Candidate) -> None:
        """Its worker died: the evaluation runs again (one more attempt in the journal)."""
        self.journal.restart(candidate.index)

    def died(self, candidate: Candidate) -> int:
        """Its worker died: count it; how many of its attempts have ended their process,
        in this run and in the runs before (see `_gave_up`)."""
        return self.journal.died(candidate.index)

    def interrupt(self, candidate: Candidate) -> None:
        """The evaluation was stopped (Ctrl-C); a resumed search runs it again, and so
        every twin waiting on it."""
        for waiting in [candidate, *self._twins.pop(candidate.index, [])]:
            self.journal.interrupt(waiting.index)
            self.in_flight.pop(waiting.index, None)
        if self._running.get(candidate.arch.identity) == candidate.index:
            del self._running[candidate.arch.identity]

    def abandon(self) -> None:
        """The search stops before its end (Ctrl-C, SIGTERM, an error): every row this
        process set running and has not finished is marked interrupted, whatever the
        moment, so the next run reruns it without counting a death. A row counts as
        started here before its `running` is written, so a signal between the two
        cannot leave one out; marking is one transaction, with signals held off."""
        with signals_deferred(), self.journal.batch():
            for index in sorted(self._started):
                self.journal.interrupt(index)  # a no-op on a row that has finished

    def result(self) -> SearchResult:
        return SearchResult(self.journal.finished(), self.budget, self.exhausted,
                            self.journal.path, self.config,
                            refused=self.journal.evaluations(INVALID), stopped=self.stopped,
                            labels=json.loads(self.journal.meta("options") or "null"))

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
    def _refused(self, candidate: Candidate) -> bool:
        """Check a new candidate before it is handed out; an invalid one is journaled
        and told as a failure, and does not use the budget."""
        reason = self.preflight(candidate.arch) if self.preflight is not None else None
        if reason is None:
            self._invalid_run = 0
            return False
        row = self.journal.refuse(candidate.index, candidate.arch, reason)
        self.searcher.tell(candidate, row.result())
        self._count_invalid(row)
        self._invalid_run += 1
        self._emit("invalid", row, candidate.arch, candidate.index)
        return True

    def _ran_out(self, busy: bool) -> None:
        """The searcher has nothing left; if it proposed only invalid candidates (and
        none is `busy` running), the space has no valid architecture for it."""
        self.exhausted = True
        if self.invalid and not self.done and not busy:
            self._stop(f"the searcher proposed no valid architecture: all {self.invalid:,} "
                       "it proposed were invalid")

    def _count_invalid(self, row: Evaluation) -> None:
        self.invalid += 1
        self._invalid_seen.add(tuple(row.decisions))
        if self._invalid_sample is None:
            self._invalid_sample = f"#{row.index}: {row.reason}"

    def _too_many_invalid(self) -> bool:
        """Whether the search has stopped (on invalid candidates or a broken
        evaluator), or must now on invalid candidates."""
        if self.stopped is not None or not self.invalid:
            return self.stopped is not None
        if self._size is None:
            try:
                self._size = self.space.count()
            except CountOutOfReach:  # far too many to find all invalid, then
                self._size = float("inf")
        if len(self._invalid_seen) >= self._size:
            every = ("the one architecture of the space is" if self._size == 1 else
                     f"all {self._size:,} architectures of the space are")
            self._stop(f"no valid architecture left to try: {every} invalid")
        elif self._invalid_run >= self.max_invalid:
            self._stop(f"stopped after {self._invalid_run:,} invalid architectures in a row "
                       f"({self.invalid:,} in all)")
        return self.stopped is not None

    def _stop(self, why: str) -> None:
        self.stopped = f"{why}, e.g. {self._invalid_sample}"

    def _dispatch(self, candidate: Candidate, fresh: bool) -> bool:
        """Journal a candidate and say whether it must be evaluated: not when its
        result is known (reused at once) nor when an identical one is in flight."""
        identity = candidate.arch.identity
        source = self.journal.lookup(identity) if self.reuse else None
        if source is not None:
            if fresh:
                row = self.journal.reuse(candidate.index, candidate.arch, source)
            else:  # a twin cut off by a kill: its source has finished since
                row = self.journal.resolve(candidate.index, source)
            self._settle(candidate, source.result(), row)
            return False
        twin_of = self._running.get(identity) if self.reuse else None
        self._started.add(candidate.index)
        if fresh:
            self.journal.start(candidate.index, candidate.arch)
        elif twin_of is not None:  # it never ran, so no death to count
            self.journal.restart(candidate.index)
        else:
            row = self.journal.get(candidate.index)
            died = row.status == "running"  # not Ctrl-C: its process ended under it
            if died and self._gave_up(candidate, row.deaths + 1):
                return False
            self.journal.restart(candidate.index, died=died)
        self.in_flight[candidate.index] = candidate
        if twin_of is not None:
            self._twins.setdefault(twin_of, []).append(candidate)
            return False
        self._running[identity] = candidate.index
        self._emit("started", arch=candidate.arch, index=candidate.index)
        return True

    def _gave_up(self, candidate: Candidate, deaths: int) -> bool:
        """Record failed, instead of running it again, an evaluation that was running
        when the search ended more than `retries` times: it most likely ends its process
        (a segfault, the out-of-memory killer, `os._exit`), and would otherwise run
        first on every resume, forever. A SIGKILL of the whole search cannot be told
        from that, and counts too."""
        if deaths <= self.retries:
            return False
        result = died_while_running(deaths, candidate.arch.identity)
        self.journal.died(candidate.index)
        self._conclude(candidate, result, lambda: self.journal.finish(candidate.index, result))
        return True

    def _hold(self, candidate: Candidate, result: EvalResult) -> None:
        # Recorded but untold: still in flight for the budget and for twins.
        self.in_flight[candidate.index] = candidate
        self._results[candidate.index] = result
        self._running.setdefault(candidate.arch.identity, candidate.index)

    def _conclude(self, candidate: Candidate, result: EvalResult,
                  record: Callable[[], Evaluation]) -> Evaluation:
        # The result and every twin's copy of it are one transaction, so a kill never
        # leaves a twin without the result its source already has. Without twins the
        # record is one statement: a transaction of its own, committed before the
        # searcher hears the result (and so before the next ask), without BEGIN/COMMIT.
        twins = self._twins.pop(candidate.index, [])
        if not twins:
            return self._settle(candidate, result, record())
        with self.journal.batch():
            source = record()
            rows = [self.journal.resolve(twin.index, source) for twin in twins]
        evaluation = self._settle(candidate, result, source)
        for twin, row in zip(twins, rows, strict=True):
            self._settle(twin, source.result(), row)
        return evaluation

    def _settle(self, candidate: Candidate, result: EvalResult,
                evaluation: Evaluation | None = None) -> Evaluation:
        """Tell the searcher a recorded result; `evaluation` is its journal row (read
        here when the caller does not have it)."""
        self.in_flight.pop(candidate.index, None)
        if evaluation is None:
            evaluation = self.journal.get(candidate.index)
        self.searcher.tell(candidate, result)
        self.done += 1
        self._count_crash(evaluation)
        self.best = best_of([self.best, evaluation] if self.best is not None else [evaluation],
                            self.searcher.objectives)
        self._emit("finished", evaluation, candidate.arch, candidate.index)
        return evaluation

    def _count_crash(self, evaluation: Evaluation) -> None:
        """Stop once the evaluator raised the same error `max_crashes` times in a row
        (a raised error is a failure with a traceback in `detail`)."""
        if evaluation.reused is not None:  # answered from the journal: nothing ran
            return
        if evaluation.status != "failed" or not evaluation.detail:
            self._crash = None
            return
        reason = evaluation.reason or ""
        times = self._crash[1] + 1 if self._crash and self._crash[0] == reason else 1
        self._crash = reason, times
        if times >= self.max_crashes and self.stopped is None:
            self.stopped = (f"the evaluator raised the same error for {times} candidates "
                            f"in a row: {reason}")

    def _emit(self, kind: str, evaluation: Evaluation | None = None,
              arch: Architecture | None = None, index: int | None = None) -> None:
        if self.progress is not None:
            self.progress(SearchEvent(kind, self.done, self.budget, self.best, evaluation, arch,
                                      index, *self._where(), invalid=self.invalid))

    def _where(self) -> tuple[int | None, int | None, int | None]:
        """(rung, rungs, alive) of a scheduled search; Nones here."""
        return None, None, None


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off while the journal is put in order after a stop: a
    second Ctrl-C there would cut the cleanup short and leave rows `running` (read as
    deaths by the next run). A signal that came meanwhile is raised again after. Only
    the main thread can set handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    wanted = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    previous = {s: signal.signal(s, lambda signum, frame: came.append(signum)) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(s, handler)
        for signum in came[:1]:
            signal.raise_signal(signum)
