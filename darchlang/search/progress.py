"""How a search shows its progress: a live bar with the running best, and a line per
finished evaluation.

`run_search` shows it by default when attached to a terminal or a notebook (and is
silent otherwise, or with `progress=False`); `darch search` uses it too, with lines on
stderr when its output is a log rather than a terminal.
"""

from __future__ import annotations

import sys
from typing import Any

from darchlang.search.objectives import Objectives

SHOW_INVALID = 20  # invalid candidates shown one line each, per run


def attached() -> bool:
    """Whether someone is watching: stderr is a terminal, or this runs in a notebook."""
    from rich.console import Console

    console = Console(stderr=True)
    return console.is_terminal or console.is_jupyter


class SearchProgress:
    """A search's progress callback (use as a context manager around the search).

    `live` draws a rich bar (evaluations done of the budget, the best score, time
    left); `lines` prints one line per finished evaluation, above the bar when there
    is one, else on stderr (so the logs of batch jobs stay readable).
    """

    def __init__(self, title: str, *, live: bool, lines: bool = True,
                 objectives: Objectives | None = None):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.title, self.live, self.lines = title, live, lines
        self.objectives = objectives or Objectives()
        self.progress: Any = None
        self.task: Any = None
        self.done = 0
        self.invalid_shown = 0

    def __enter__(self) -> SearchProgress:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn(f"[bold]{self.title}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[best]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                refresh_per_second=4,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None

    def __call__(self, event: Any) -> None:
        self.done = event.done
        best = "best -" if event.best is None else f"best {self._best(event.best)}"
        if event.kind == "resumed":
            if self.progress is not None:
                self.task = self.progress.add_task("search", total=event.budget,
                                                   completed=event.done, best=best)
            if event.done or event.invalid:
                invalid = f" ({event.invalid} invalid, not counted)" if event.invalid else ""
                self._line(f"resuming: {event.done} of {event.budget} evaluations already "
                           f"done{invalid}")
            return
        if event.kind == "invalid":
            self._invalid(event)
            return
        if event.kind != "finished":
            return
        where = event.where()
        where = f", {where}" if where else ""
        invalid = f", {event.invalid} invalid" if event.invalid else ""
        self._line(f"{evaluation_line(event.evaluation, self.objectives)}  "
                   f"[{event.done}/{event.budget}, "
                   f"{best}{invalid}{where}]")
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=event.done, best=best)

    def _best(self, e: Any) -> str:
        """The running best's value: its score, or the first objective's (the one a
        single best follows) when the search has objectives of its own."""
        if self.objectives.default:
            return f"{e.score:.4f}"
        first = self.objectives.first
        return f"{first.label} {first.show(first.value(e))}"

    def _invalid(self, event: Any) -> None:
        """A line for each of the first `SHOW_INVALID` invalid candidates of this run,
        then one saying the rest are only counted (a space that is mostly invalid
        would otherwise bury the evaluations under them)."""
        self.invalid_shown += 1
        if self.invalid_shown <= SHOW_INVALID:
            self._line(f"#{event.evaluation.index} invalid, not trained: "
                       f"{event.evaluation.reason}  [{event.invalid} invalid]")
        elif self.invalid_shown == SHOW_INVALID + 1:
            self._line("more invalid architectures are counted, not shown (`darch report` "
                       "lists their reasons)")

    def _line(self, text: str) -> None:
        if not self.lines:
            return
        if self.progress is not None:
            self.progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)


def default_progress(progress: Any, title: str, objectives: Objectives | None = None
                     ) -> SearchProgress | None:
    """The display `run_search` shows for its `progress` argument: for None (the
    default) a bar and lines when someone watches (a terminal or a notebook), for True
    always; nothing for False or a callback of the caller's own. Lines show each of
    `objectives` when there are several."""
    if progress is None and attached():
        return SearchProgress(title, live=True, objectives=objectives)
    if progress is True:
        return SearchProgress(title, live=attached(), objectives=objectives)
    return None


def evaluation_line(e: Any, objectives: Objectives | None = None) -> str:
    """`#3 score 0.9312 in 4.1s`, `#4 failed: ...` (no time: it never trained), `#5 score
    0.9312 (same architecture as #3, not trained again)`, `#6 score 0.61, stopped after
    rung 1 (1 epoch) in 0.4s`; with objectives other than the score, each one's value
    as the search table shows it (`#3 accuracy 0.9312, params 12,345 in 4.1s`)."""
    what = f"score {e.score:.4f}" if e.ok else f"failed: {e.reason}"
    if e.ok and objectives is not None and not objectives.default:
        what = objectives_text(objectives, e)
    if e.reused is not None:
        return f"#{e.index} {what} (same architecture as #{e.reused}, not trained again)"
    if e.metrics.get("stopped") and "rung" in e.metrics:  # a scheduler stopped it early
        epochs = e.metrics.get("epochs")
        what += f", stopped after rung {e.metrics['rung']} ({epochs} epoch" \
                f"{'' if epochs == 1 else 's'})"
    trained = e.ok or bool(e.metrics.get("epochs"))
    seconds = f" in {e.seconds:.1f}s" if trained and e.seconds is not None else ""
    return f"#{e.index} {what}{seconds}"


def objectives_text(objectives: Objectives, e: Any) -> str:
    """`accuracy 0.9312, params 12,345`: each objective's value of an evaluation or a
    result, as the search table shows it (`-` for one it lacks)."""
    return ", ".join(f"{o.label} {o.show(o.value(e))}" for o in objectives.items)
