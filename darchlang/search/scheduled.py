"""A scheduled search session: candidates train in rungs, continued from checkpoints.

With a scheduler (`run_search(..., scheduler=...)`), what a runner evaluates is a
*job*: one rung of one candidate, with the `Budget` that says how far to train, what
to load and where to save. The session keeps the queue of jobs (promotions first, in
the order they were decided, then new candidates as the scheduler admits them) and
records each finished rung, its intermediate values and every decision it leads to
in one journal transaction; a candidate whose fate is settled is told to the searcher
in that same transaction. A resumed search replays asks, rungs, closed brackets and
tells in their recorded order, which rebuilds the searcher, the scheduler and the
queue exactly: the job that was running when the search died is first in the queue
again, and continues from the checkpoint of the rung before it.

Checkpoints live beside the journal (`runs/x.db.checkpoints/INDEX-rRUNG.pt`, a
temporary folder for a journal in memory). Each rung writes its own file, so a kill
while one is written never harms the one the next attempt loads; a file is deleted
as soon as no rung can use it (the next rung has finished, or the candidate is
settled), unless `keep_checkpoints`.

A job that begins leaves a `running INDEX` mark in the journal, removed in the
transaction that records its rung (or when Ctrl-C stops it). A resume that finds one
knows that job was running when the search died, as a plain search knows from a row
left `running` (between rungs a candidate's row stays `running` too, so the row alone
cannot say): it counts a death for the candidate before running the job again, and
after `retries` deaths records the rung failed instead, with the reason, so an
evaluation that kills its process (a segfault, the out-of-memory killer, `os._exit`)
does not run first on every resume, forever. Deaths of worker processes within one
run are counted by the parallel runner on the same row.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.search.base import Candidate, Searcher
from darchlang.search.journal import Evaluation, Journal, RungRow
from darchlang.search.resume import Adopter
from darchlang.search.schedulers import STOP, RungResult, Scheduler
from darchlang.search.session import SearchSession, died_while_running, signals_deferred
from darchlang.space.space import Space
from darchlang.train.budget import Budget
from darchlang.train.result import EvalResult

TRUNCATED = "truncated"
RUNNING = "running "  # + an index: the mark of a job that began and has not ended


@dataclass(eq=False)
class Job:
    """One rung of one candidate: what a runner evaluates in a scheduled search."""

    candidate: Candidate
    rung: int
    budget: Budget

    @property
    def arch(self) -> Architecture:
        return self.candidate.arch

    @property
    def index(self) -> int:
        return self.candidate.index


class ScheduledSession(SearchSession):
    """`SearchSession` for a scheduled search: hands out jobs instead of candidates."""

    def __init__(self, space: Space, searcher: Searcher, scheduler: Scheduler, budget: int,
                 journal: Journal | str | Path | None = None, *,
                 keep_checkpoints: bool = False, **options: Any):
        self.scheduler = scheduler
        self.keep_checkpoints = keep_checkpoints
        self._queue: list[tuple[int, int]] = []  # (index, rung) to run, in order
        self._alive: dict[int, Candidate] = {}  # admitted, not yet settled
        self._last: dict[int, tuple[int, EvalResult]] = {}  # index -> last rung and result
        self._curves: dict[int, list[tuple[int, float]]] = {}  # index -> (step, value)
        self._temp: str | None = None
        self._died: set[int] = set()  # whose job was running when the last search ended
        self._stopped: set[int] = set()  # whose job Ctrl-C stopped
        super().__init__(space, searcher, budget, journal, **options)
        self.checkpoints = self._checkpoint_dir()
        self._sweep()

    # -- what a runner calls -------------------------------------------------------------
    @property
    def held(self) -> list[Candidate]:
        return []

    def next(self) -> Job | None:  # type: ignore[override]
        """The next job: a queued rung, else a new candidate if the scheduler admits
        one; None when there is nothing to start now (wait for results, or the end)."""
        while True:
            if self._queue:
                index, rung = self._queue.pop(0)
                job = self._job(index, rung)
                if not self._begin(job):
                    continue
                self._emit("started", arch=job.arch, index=index)
                return job
            if self.exhausted or self._too_many_invalid() \
                    or self.done + len(self._alive) >= self.budget:
                if self._truncate():
                    continue
                return None
            if not self.scheduler.can_admit():
                return None
            candidate = self.searcher.ask()
            if candidate is None:
                self._ran_out(busy=bool(self._alive))
                continue
            if self._refused(candidate):  # invalid: recorded, told, no budget used
                continue
            source = self.journal.lookup(candidate.arch.identity) if self.reuse else None
            if source is not None:  # evaluated before: its result, no training
                row = self.journal.reuse(candidate.index, candidate.arch, source)
                self._settle(candidate, source.result(), row)
                continue
            self.journal.start(candidate.index, candidate.arch)
            self._admit(candidate)

    def finish(self, job: Job, result: EvalResult, detail: str | None = None,  # type: ignore[override]
               *, tell: bool = True, died: bool = False) -> Evaluation | None:
        """Record a finished rung and everything it decides, in one transaction; tell
        the searcher about each candidate it settles. `died`: the rung is given up
        because its job was running when the search ended once too often (one more
        death, in the same transaction)."""
        rung = RungResult(job.index, job.rung, result.score if result.ok else None,
                          trained_all=bool(result.curve) and result.curve[-1][0] >= job.budget.epochs,
                          pruned=_pruned(result.curve, job.budget.stop_below),
                          curve=tuple((s, v) for s, v, _ in result.curve))
        settled: list[tuple[Candidate, EvalResult]] = []
        with self.journal.batch():
            self._unmark(job.index)
            if died:
                self.journal.died(job.index)
            self.journal.record_rung(job.index, job.rung, job.budget.epochs, result,
                                     trained_all=rung.trained_all, pruned=rung.pruned)
            if detail is not None and not result.ok:
                self.journal.db.execute("UPDATE evaluations SET detail=? WHERE idx=?",
                                        (detail, job.index))
            for index, decision in self._take(rung, result):
                if decision == STOP:
                    final = self._final(index)
                    self.journal.finish(index, final)
                    settled.append((self._alive[index], final))
                else:
                    self._queue.append((index, decision))
        self._drop(job.budget.load_from)
        last = None
        for candidate, final in settled:
            last = self._settle(candidate, final)
        self._emit("rung", index=job.index, arch=job.arch)
        return last

    def retry(self, job: Job) -> None:  # type: ignore[override]
        self.journal.restart(job.index)

    def interrupt(self, job: Job) -> None:  # type: ignore[override]
        """Stopped by Ctrl-C: the rung runs again when the search is resumed (not a
        death: its mark goes)."""
        with self.journal.batch():
            self._unmark(job.index)
            self.journal.interrupt(job.index)

    def abandon(self) -> None:
        """The search stops: every job this process began and whose rung is not
        recorded loses its mark and is interrupted (not a death); candidates waiting
        between rungs stay as they are."""
        with signals_deferred(), self.journal.batch():
            marked = {int(kind[len(RUNNING):]) for _, kind in self.journal.marks()
                      if kind.startswith(RUNNING)}
            for index in sorted(self._started & marked):
                self._unmark(index)
                self.journal.interrupt(index)

    def close(self) -> None:
        super().close()
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None
        elif not self.keep_checkpoints:
            with contextlib.suppress(OSError):  # only when empty: a live rung's stays
                self.checkpoints.rmdir()

    # -- inside -------------------------------------------------------------------------
    def _begin(self, job: Job) -> bool:
        """Mark `job` as running, in the journal; False when, instead, it is given up:
        it was running when the search ended more than `retries` times."""
        index = job.index
        died, stopped = index in self._died, index in self._stopped
        self._died.discard(index)
        self._stopped.discard(index)
        deaths = self.journal.get(index).deaths + 1 if died else 0
        if deaths > self.retries:
            self.finish(job, died_while_running(deaths, job.arch.identity), died=True)
            return False
        self._started.add(index)  # before its mark is written: see `abandon`
        with self.journal.batch():
            if died or stopped:  # one more attempt (and death), a fresh mark
                self._unmark(index)
                self.journal.restart(index, died=died)
            self.journal.mark(f"{RUNNING}{index}")
        return True

    def _unmark(self, index: int) -> None:
        self.journal.db.execute("DELETE FROM marks WHERE kind=?", (f"{RUNNING}{index}",))

    def _admit(self, candidate: Candidate) -> None:
        self._alive[candidate.index] = candidate
        self._queue.append((candidate.index, self.scheduler.admit(candidate.index)))

    def _take(self, rung: RungResult, result: EvalResult) -> list[tuple[int, int]]:
        """Show the scheduler a rung's result; its decisions."""
        self._last[rung.index] = (rung.rung, result)
        self._curves.setdefault(rung.index, []).extend(rung.curve)
        if (rung.index, rung.rung) in self._queue:
            self._queue.remove((rung.index, rung.rung))
        return self.scheduler.record(rung)

    def _truncate(self) -> bool:
        """No more candidates will come: close an open bracket (once, journaled)."""
        decisions = self.scheduler.truncate()
        if decisions is None:
            return False
        settled = []
        with self.journal.batch():
            self.journal.mark(TRUNCATED)
            for index, decision in decisions:
                if decision == STOP:
                    final = self._final(index)
                    self.journal.finish(index, final)
                    settled.append((self._alive[index], final))
                else:
                    self._queue.append((index, decision))
        for candidate, final in settled:
            self._settle(candidate, final)
        return True

    def _final(self, index: int) -> EvalResult:
        """What the searcher learns of a settled candidate: its last rung's result,
        with the rung it reached and its whole curve."""
        rung, last = self._last[index]
        metrics = dict(last.metrics)
        metrics.update(rung=rung + 1, rungs=len(self.scheduler.rungs),
                       epochs=self.scheduler.rungs[rung],
                       stopped=rung < self.scheduler.top or _stopped_early(last, self.scheduler),
                       curve=[[s, v] for s, v in self._curves.get(index, [])])
        return EvalResult(last.status, last.score, metrics, last.reason, last.identity,
                          dict(last.settings), last.seconds)

    def _settle(self, candidate: Candidate, result: EvalResult,
                evaluation: Evaluation | None = None) -> Evaluation:
        self._alive.pop(candidate.index, None)
        for path in self.checkpoints.glob(f"{candidate.index}-r*.pt"):
            self._drop(str(path))
        return super()._settle(candidate, result, evaluation)

    def _job(self, index: int, rung: int) -> Job:
        last = self._last.get(index)
        load = None if last is None else str(self._checkpoint(index, last[0]))
        save = None if rung == self.scheduler.top else str(self._checkpoint(index, rung))
        budget = Budget(self.scheduler.rungs[rung], rung, load, save,
                        self.scheduler.stop_below(index, rung))
        return Job(self._alive[index], rung, budget)

    def _where(self) -> tuple[int | None, int | None, int | None]:
        return self.scheduler.current_rung() + 1, len(self.scheduler.rungs), len(self._alive)

    def _checkpoint(self, index: int, rung: int) -> Path:
        return self.checkpoints / f"{index}-r{rung}.pt"

    def _checkpoint_dir(self) -> Path:
        if self.journal.path is None:
            self._temp = tempfile.mkdtemp(prefix="darch-checkpoints-")
            return Path(self._temp)
        return self.journal.path.with_name(self.journal.path.name + ".checkpoints")

    def _drop(self, path: str | None) -> None:
        if path is not None and not self.keep_checkpoints:
            Path(path).unlink(missing_ok=True)

    def _sweep(self) -> None:
        """Delete what a killed search left that no rung can use: partial writes, and
        checkpoints other than each live candidate's latest."""
        if self.keep_checkpoints or not self.checkpoints.is_dir():
            return
        wanted = {self._checkpoint(i, self._last[i][0]).name for i in self._alive if i in self._last}
        for path in self.checkpoints.iterdir():
            if path.name not in wanted and re.fullmatch(r"\d+-r\d+\.pt(\..*\.part)?", path.name):
                path.unlink(missing_ok=True)

    def _resume(self) -> list[Evaluation]:
        rows = self.journal.evaluations()
        by_index = {r.index: r for r in rows}
        adopt = Adopter(self.searcher, self.journal, rows)
        events: list[tuple[int, int, Any]] = [(r.asked_at, 0, r) for r in rows]
        events += [(r.event, 1, r) for r in self.journal.rung_results()]
        marks = self.journal.marks()
        events += [(event, 2, kind) for event, kind in marks if kind == TRUNCATED]
        events += [(r.told_at, 3, r) for r in rows if r.settled and r.told_at is not None]
        events.sort(key=lambda e: (e[0], e[1]))
        curves = self.journal.curves()
        candidates: dict[int, Candidate] = {}
        finished: list[Evaluation] = []
        for _, kind, item in events:
            if kind == 0:
                candidates[item.index] = candidate = adopt(item)
                if item.reused is None and not item.invalid:
                    self._admit(candidate)
            elif kind == 1:
                row: RungRow = item
                curve = tuple((s, v) for r, s, v, _ in curves.get(row.index, []) if r == row.rung)
                rung = RungResult(row.index, row.rung, row.score if row.status == "ok" else None,
                                  row.trained_all, row.pruned, curve)
                for index, decision in self._take(rung, row.result()):
                    if decision != STOP:
                        self._queue.append((index, decision))
            elif kind == 2:
                for index, decision in self.scheduler.truncate() or []:
                    if decision != STOP:
                        self._queue.append((index, decision))
            else:
                self.searcher.tell(candidates[item.index], by_index[item.index].result())
                self._alive.pop(item.index, None)
                if item.done:
                    finished.append(item)
        self._died = {int(kind[len(RUNNING):]) for _, kind in marks
                      if kind.startswith(RUNNING)} & set(self._alive)
        self._stopped = {i for i in self._alive if by_index[i].status == "interrupted"}
        self._resume_invalid()
        return finished


def _pruned(curve: list[tuple[int, float, float]], stop_below: dict[int, float]) -> bool:
    """Whether median stopping cut a run: its best so far fell below a threshold."""
    best = float("-inf")
    for step, value, _ in curve:
        if value is not None and value == value:
            best = max(best, value)
        if step in stop_below and best < stop_below[step]:
            return True
    return False


def _stopped_early(result: EvalResult, scheduler: Scheduler) -> bool:
    """Whether a top-rung run ended before `max_epochs` (pruned, or its own rules)."""
    curve = result.curve
    return not curve or curve[-1][0] < scheduler.max_epochs
