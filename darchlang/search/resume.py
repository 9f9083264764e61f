"""The resume policy: rebuild a searcher's state from a journal, or refuse to.

A searcher is a deterministic function of its seed and the asks and tells it has
seen (see `darchlang.search.base`), so a resumed search replays the journal's events
in their recorded order: `adopt` for each ask, `tell` for each result (a row
refused before training, `invalid`, is told as the failure it was told as). Rows that
were running when the search died run again; results recorded but not yet told (a
synchronous batch cut off) are handed back for the runner to tell. A space that has
changed since the journal was written is caught by spot-checking identities, with an
error that says how to go on.
"""

from __future__ import annotations

from darchlang.errors import DarchError
from darchlang.search.base import Candidate, Searcher
from darchlang.search.journal import Evaluation, Journal
from darchlang.space.space import Space
from darchlang.train.result import EvalResult


def replay(space: Space, searcher: Searcher, store: Journal
           ) -> tuple[list[Evaluation], list[Candidate], list[tuple[Candidate, EvalResult]]]:
    """Tell the searcher the journal's history; return the finished rows, the
    candidates that must run again, and those whose result was recorded but not told
    (a synchronous batch cut off), with their results."""
    rows = store.evaluations()
    events: list[tuple[int, int, Evaluation]] = [(r.asked_at, 0, r) for r in rows]
    events += [(r.told_at, 1, r) for r in rows if r.settled and r.told_at is not None]
    events.sort(key=lambda e: (e[0], e[1]))
    adopt = Adopter(searcher, store, rows)
    candidates: dict[int, Candidate] = {}
    finished: list[Evaluation] = []
    for _, kind, row in events:
        if kind == 0:
            candidates[row.index] = adopt(row)
        else:
            searcher.tell(candidates[row.index], row.result())
            if row.done:
                finished.append(row)
    rerun = [candidates[r.index] for r in rows if not r.settled]
    held = [(candidates[r.index], r.result()) for r in rows if r.done and r.told_at is None]
    return finished, rerun, held


class Adopter:
    """Hands a journal's recorded asks to a fresh searcher, checking that the space
    still builds what the journal says it built."""

    def __init__(self, searcher: Searcher, store: Journal, rows: list[Evaluation]):
        if searcher.asked:
            raise ValueError("resume needs a fresh searcher (this one has asked already)")
        self.searcher, self.store = searcher, store
        self.check = _spot_checks(rows)

    def __call__(self, row: Evaluation) -> Candidate:
        try:
            candidate = self.searcher.adopt(row.decisions)
        except DarchError as err:
            raise _changed(self.store, row, err.message) from None
        if candidate.index != row.index:
            raise DarchError(f"the journal {self.store.path} has a gap before evaluation "
                             f"#{row.index}; it cannot be resumed")
        if (row.index in self.check or not row.settled) and candidate.arch.identity != row.identity:
            raise _changed(self.store, row, "its decisions now build a different architecture")
        return candidate


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
