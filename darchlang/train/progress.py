"""Progress of one training run: an event after each validation, and a live bar.

`ProgressEvent` is what the REPL, the search runner or a test receives through the
evaluator's `on_progress` callback. `ProgressBar` draws the same events (plus a cheap
step count in between) as a rich bar on stderr, so `--json` output on stdout stays
clean; the evaluator only shows it on a terminal or when asked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.text import Text


@dataclass(frozen=True)
class ProgressEvent:
    """The state of a run right after a validation evaluation.

    `time_left` is the smaller of the time budget left and the time the remaining
    epochs take at the pace so far (seconds); `improved` says this evaluation set a
    new best, so its weights became the checkpoint.
    """

    epoch: int
    max_epochs: int
    steps: int
    train_loss: float
    val_accuracy: float
    best_val_accuracy: float
    learning_rate: float
    elapsed: float
    time_left: float
    improved: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[ProgressEvent], None]


def format_seconds(seconds: float) -> str:
    """`1:02:03`, `2:03` or `4.2s`: short and readable in a bar or a summary."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _TwoLineProgress(Progress):
    """The bar on one line and the latest evaluation on the next, so both fit 80 columns."""

    status = ""

    def get_renderables(self):  # type: ignore[override]
        yield self.make_tasks_table(self.tasks)
        if self.status:
            yield Text(self.status)


class ProgressBar:
    """A rich progress bar over all training steps, and the latest evaluation below it.

    Use as a context manager; call `steps(done)` as often as you like (rich redraws a
    few times a second on its own thread) and the instance itself with each
    `ProgressEvent`.
    """

    def __init__(self, title: str, total_steps: int, console: Console | None = None):
        self.progress = _TwoLineProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TextColumn("{task.fields[left]}"),
            console=console or Console(stderr=True),
            refresh_per_second=8,
        )
        self.task = self.progress.add_task(title, total=max(1, total_steps), left="")

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def steps(self, done: int) -> None:
        """Move the bar to `done` optimizer steps (no numbers that would need a sync)."""
        self.progress.update(self.task, completed=done)

    def __call__(self, event: ProgressEvent) -> None:
        self.progress.status = (
            f"epoch {event.epoch}/{event.max_epochs}  loss {event.train_loss:.4f}  "
            f"val {event.val_accuracy:.4f} (best {event.best_val_accuracy:.4f})  "
            f"lr {event.learning_rate:.2e}"
        )
        left = f"{format_seconds(event.time_left)} left" if event.time_left > 0 else ""
        self.progress.update(self.task, completed=event.steps, left=left)

    def finish(self, total_steps: int, note: str) -> None:
        """Close the bar at the steps actually run, saying why training stopped."""
        self.progress.update(self.task, total=max(1, total_steps), completed=total_steps, left=note)


def result_rows(result: Any, decisions: list[int], dataset: str | None = None,
                saved: str | None = None) -> list[tuple[str, str]]:
    """What `darch train` and the REPL's `:train` print about one trained architecture."""
    m = result.metrics
    made = (f"decisions: {','.join(map(str, decisions))}" if decisions else
            "(no choices: the space has one architecture)")
    rows = [("architecture", f"{result.identity}  {made}")]
    if dataset:
        rows.append(("dataset", dataset))
    if m.get("parameters") is not None:
        rows.append(("parameters", f"{m['parameters']:,}"))
    if result.ok:
        rows.append(("epochs", f"{m['epochs']} (stopped by {m['stop_reason']})"))
        rows.append(("val accuracy", f"{m['val_accuracy']:.4f} (best, at epoch {m['best_epoch']})"))
        if m.get("test_accuracy") is not None:
            rows.append(("test accuracy", f"{m['test_accuracy']:.4f} (best checkpoint)"))
    elif m.get("epochs") is not None:
        rows.append(("epochs", str(m["epochs"])))
    rows.append(("time", format_seconds(result.seconds)))
    if result.ok and saved:
        rows.append(("saved", saved))
    return rows


def result_text(result: Any, decisions: list[int], dataset: str | None = None,
                saved: str | None = None) -> str:
    lines = [f"{label:<14}{text}" for label, text in result_rows(result, decisions, dataset, saved)]
    if not result.ok:
        lines.append(f"training failed: {result.reason}")
    return "\n".join(lines)
