"""Summarise a search journal: what was done, what did best, and which options won.

Shows the search's configuration, the counts (done, failed, reused, invalid, unfinished), the
best score and the time spent, the best architectures (the best as `.darch` text),
and for every choice how the architectures taking each option scored; `--plot` draws
the score of each evaluation with the running best. A journal may be read while its
search is still running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from darchlang.app.inputs import DEFAULT_INPUT
from darchlang.commands.common import check_writable, input_shape_text, positive_int, print_json
from darchlang.errors import DarchError
from darchlang.text import option_text, plural

HELP = "summarise a search journal (best architectures, plot, per-choice statistics)"
ORDER = 85


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("journal", help="the journal written by `darch search --journal`")
    parser.add_argument("--top", type=positive_int, default=5, metavar="K",
                        help="how many of the best architectures to list (default 5)")
    parser.add_argument("--plot", metavar="PNG",
                        help="write score per evaluation and the running best as a PNG")
    parser.add_argument("--plots", metavar="DIR",
                        help="write every plot (history, importances, parallel coordinates, "
                        "score by option, learning curves) as PNGs into DIR")
    parser.add_argument("--html", metavar="FILE",
                        help="write the whole report as one self-contained HTML page")
    parser.add_argument("--input", metavar="SHAPE", type=input_shape_text,
                        help="input shape for the best architectures' layer tables in --html "
                        "(default: the searched program's `# darch: input` line, else the "
                        f"dataset's shape when it loads without files, else {DEFAULT_INPUT})")
    parser.add_argument("--csv", metavar="PATH", help="write every evaluation as CSV")
    parser.add_argument("--show-test", action="store_true",
                        help="show every listed architecture's test accuracy, not only the "
                        "best's")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")


def run(args: argparse.Namespace) -> int:
    from darchlang.search import Journal
    from darchlang.search.objectives import Objectives
    from darchlang.search.results import report_json, write_csv

    for path in (args.csv, args.plot, args.html):
        if path:
            check_writable(path)
    with Journal(args.journal, create=False) as journal:
        evaluations = journal.evaluations()
        config = journal.config() or {}
        space_text = journal.meta("space_text")
        created = journal.meta("created")
        budget = journal.meta("budget")
        labels = journal.meta("options")
        curves = journal.curves()
        rungs = journal.rung_results()
        stopped = _stopped_early(rungs)
        stale = journal.stale()
    labels = json.loads(labels) if labels else None
    objectives = Objectives.from_config(config)
    title = f"{config.get('searcher', 'search')} (seed {config.get('seed', '?')})"
    if args.csv:
        write_csv(evaluations, args.csv, objectives, labels)
    if args.plot:
        from darchlang.report.plots import history, save

        save(history(evaluations, title, objectives), args.plot)
    if args.plots:
        _write_plots(Path(args.plots), evaluations, labels, title, curves, stopped, objectives)
    if args.html:
        _write_html(args, evaluations, config, labels, space_text, curves, stopped)
    if args.json:
        data = report_json(evaluations, config, top_k=args.top, labels=labels)
        data["space_text"] = space_text
        data["stale"] = stale
        print_json(data)
        return 0
    _print_report(args, evaluations, config, created, labels, rungs, stale, budget)
    return 0


def _stopped_early(rungs: list[Any]) -> set[int]:
    """Candidates of a scheduled search that never reached the top rung's epochs
    (not promoted, or cut by median stopping)."""
    if not rungs:
        return set()
    top = max(r.epochs for r in rungs)
    last: dict[int, Any] = {}
    for r in rungs:
        last[r.index] = r
    return {i for i, r in last.items() if r.pruned or r.epochs < top}


def _write_plots(folder: Path, evaluations: list[Any], labels: dict[str, list[str]] | None,
                 title: str, curves: dict[int, list[Any]], stopped: set[int],
                 objectives: Any) -> None:
    from darchlang.report import plots

    done = [e for e in evaluations if e.done]
    written = [plots.save(plots.history(done, title, objectives), folder / "history.png")]
    if objectives.several:
        written.append(plots.save(plots.pareto_plot(done, objectives), folder / "pareto.png"))
    found = plots.importances(done, labels)
    if found:
        leading = list(found)[:6]
        written.append(plots.save(plots.importance_plot(found), folder / "importances.png"))
        written.append(plots.save(plots.parallel_coordinates(done, labels, leading),
                                  folder / "parallel.png"))
        written.append(plots.save(plots.option_scores(done, labels, leading),
                                  folder / "options.png"))
    if any(plots.curve_of(e, curves) for e in done):
        written.append(plots.save(plots.learning_curves(done, curves, stopped),
                                  folder / "curves.png"))
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)


def _write_html(args: argparse.Namespace, evaluations: list[Any], config: dict[str, Any],
                labels: dict[str, list[str]] | None, space_text: str | None,
                curves: dict[int, list[Any]], stopped: set[int]) -> None:
    from darchlang.app.inputs import decide_input
    from darchlang.errors import Source
    from darchlang.report.html import render

    # the one rule of every command (darchlang.app.inputs): --input, the searched
    # program's `# darch: input` line, the dataset's shape, the default
    source = Source(f"{args.journal} (its program)", space_text) if space_text else None
    chosen = decide_input(args.input, source, _dataset_input(config))
    page = render(evaluations, config, labels, str(args.journal), chosen.shape, args.top,
                  curves=curves, stopped=stopped, input_source=chosen.source())
    try:
        Path(args.html).write_text(page, encoding="utf-8")
    except OSError as err:
        raise DarchError(f"cannot write the report to {args.html}: {err.strerror or err}") from None
    print(f"wrote {args.html}", file=sys.stderr)


def _dataset_input(config: dict[str, Any]) -> tuple[str, tuple[int, ...]] | None:
    """The search's dataset and its input shape, when it loads without files (digits)."""
    from darchlang.environment import default_environment

    name = (config.get("settings") or {}).get("dataset")
    known = default_environment().datasets.get(name) if isinstance(name, str) else None
    if known is None or known.needs_dir:
        return None
    from darchlang.train.data import load_dataset

    try:
        return name, load_dataset(name).input_shape
    except DarchError:
        return None


def _print_report(args: argparse.Namespace, evaluations: list[Any], config: dict[str, Any],
                  created: str | None, labels: dict[str, list[str]] | None,
                  rungs: list[Any] = (), stale: list[int] = (), budget: str | None = None
                  ) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from darchlang.search.objectives import Objectives
    from darchlang.search.results import choice_stats, pareto_front, rung_counts, summary, top
    from darchlang.train.progress import format_seconds

    console = Console(highlight=False)
    objectives = Objectives.from_config(config)
    s = summary(evaluations, objectives)
    lines = [
        f"journal      {args.journal}",
        f"searcher     {config.get('searcher', '?')} (seed {config.get('seed', '?')}"
        + "".join(f", {k}={v}" for k, v in (config.get("options") or {}).items()) + ")",
        f"settings     {_settings_text(config.get('settings') or {})}",
    ]
    if not objectives.default:
        lines.append("objectives   " + ", ".join(f"{'min' if o.minimize else 'max'} {o.name}"
                                                 for o in objectives.items))
    if created:
        when = dt.datetime.fromtimestamp(float(created)).strftime("%Y-%m-%d %H:%M")
        lines.append(f"started      {when}")
    lines += [
        f"evaluations  {s['done']} done: {s['ok']} ok, {s['failed']} failed"
        + (f", {s['reused']} reused" if s["reused"] else "")
        + (f"; {s['invalid']} invalid, not trained" if s["invalid"] else "")
        + (f"; {s['unfinished']} unfinished" if s["unfinished"] else "")
        + (f" ({len(stale)} stale: the search that ran them is gone)" if stale else "")
        + (f"; budget {budget}" if budget else ""),
        _best_line(s, evaluations, objectives),
        f"time         {format_seconds(s['eval_seconds'])} evaluating, "
        f"{format_seconds(s['wall_seconds'])} wall clock",
    ]
    scheduler = config.get("scheduler")
    if scheduler:
        lines.append(f"scheduler    {scheduler['name']}, epochs {scheduler['min_epochs']}.."
                     f"{scheduler['max_epochs']}, eta {scheduler['eta']}")
        lines += [f"  rung {r}     {reached} ran, {promoted} promoted"
                  for r, reached, promoted in rung_counts(rungs)]
    for line in lines:
        console.print(line, markup=False)
    if args.plot:
        console.print(f"plot         {args.plot}", markup=False)
    done = [e for e in evaluations if e.done]
    best = top(done, args.top, objectives)
    if best and objectives.several:
        front = pareto_front(done, objectives)
        distinct = len({e.identity for e in done if objectives.values(e) is not None})
        console.print(pareto_table(front, objectives, distinct))
    elif best:
        console.print(best_table(best, show_test=args.show_test))
    invalid = [e for e in evaluations if e.invalid]
    for title, rows in (("failures", done), ("invalid, not trained (no budget used)", invalid)):
        reasons = _failure_reasons(rows)
        if reasons:
            table = Table(title=title)
            table.add_column("count", justify="right")
            table.add_column("reason")
            for reason, count in reasons:
                table.add_row(str(count), Text(reason))  # Text: brackets are not markup
            console.print(table)
    stats = choice_stats(done, labels, objectives)
    if stats:
        table = Table(title="options by mean score (distinct architectures)")
        table.add_column("choice", overflow="fold")
        table.add_column("best option")
        table.add_column("mean", justify="right")
        table.add_column("n", justify="right")
        table.add_column("other options: mean (n)")
        for c in stats:
            leader = c.leader
            if leader is None:
                table.add_row(Text(c.name), "-", "-", "0", "")
                continue
            others = "  ".join(
                f"{option_text(o.value)}: {'-' if o.mean is None else f'{o.mean:.3f}'} ({o.count})"
                for o in c.options if o is not leader
            )
            # Text, not markup: labels such as `conv2d, [relu, batch_norm]` keep their brackets
            table.add_row(Text(c.name), Text(option_text(leader.value)), f"{leader.mean:.4f}",
                          str(leader.count), Text(others))
        console.print(table)
    if best:
        console.print(best_heading(best[0], objectives), markup=False)
        text = trained_text(best[0])
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _best_line(s: dict[str, Any], evaluations: list[Any], objectives: Any) -> str:
    """`best score   0.9812 (#3)`; with several objectives, the front's size and its best
    along the first one."""
    from darchlang.search.results import pareto_front

    if s["best_score"] is None:
        return "best score   -"
    if not objectives.several:
        return f"best score   {s['best_score']:.4f} (#{s['best_index']})"
    done = [e for e in evaluations if e.done]
    front = pareto_front(done, objectives)
    first = objectives.first
    return (f"front        {plural(len(front), 'architecture')}; best {first.name} "
            f"{first.show(first.value(front[0]))} (#{front[0].index})")


def trained_text(e: Any) -> str:
    """The evaluation's architecture as text whose `train` block says the settings it
    trained with (`max_epochs: 3` after `--max-epochs 3`): the settings the text names,
    with their values as used, then those the run changed from their defaults."""
    if not e.settings:
        return e.text
    import darchlang
    from darchlang.report.export import architecture_with_settings
    from darchlang.train.settings import Settings

    written = darchlang.load_string(e.text, "<journal>").space.sample(0).hyperparams or {}
    defaults = Settings().to_json()
    shown = {k: e.settings.get(k, v) for k, v in written.items()}
    shown.update({k: v for k, v in e.settings.items()
                  if k not in written and defaults.get(k) != v})
    return architecture_with_settings(e.text, shown).text


def best_heading(e: Any, objectives: Any = None) -> str:
    """`best architecture (#3, score 0.9812, test accuracy 0.9755):` — the one place a
    search shows test accuracy by default, for the architecture it chose by score.
    With several objectives it is the front's best along the first one, with every
    objective's value."""
    test = e.metrics.get("test_accuracy")
    test_text = f", test accuracy {test:.4f}" if isinstance(test, int | float) else ""
    if objectives is not None and objectives.several:
        values = ", ".join(f"{o.name} {o.show(o.value(e))}"
                           + (" ms" if o.kind == "latency" else "") for o in objectives.items)
        return (f"the front's best by {objectives.first.name} (#{e.index}, {values}"
                f"{test_text}):")
    return f"best architecture (#{e.index}, score {e.score:.4f}{test_text}):"


def pareto_table(front: list[Any], objectives: Any, of: int | None = None) -> Any:
    """The Pareto front as a rich table: each non-dominated architecture with every
    objective's value, best first along the first objective."""
    from rich.table import Table

    from darchlang.train.progress import format_seconds

    senses = ", ".join(f"{'min' if o.minimize else 'max'} {o.name}" for o in objectives.items)
    shown = plural(len(front), "architecture")
    count = f"{len(front)} of {plural(of, 'architecture')}" if of is not None else shown
    table = Table(title=f"Pareto front: {count} ({senses})")
    table.add_column("rank", justify="right")
    table.add_column("#", justify="right")
    for o in objectives.items:
        table.add_column(o.label, justify="right")
    table.add_column("time", justify="right")
    table.add_column("identity")
    table.add_column("decisions")
    for rank, e in enumerate(front, 1):
        time_text = "reused" if e.reused is not None else format_seconds(e.seconds or 0.0)
        table.add_row(str(rank), str(e.index),
                      *[o.show(o.value(e)) for o in objectives.items], time_text,
                      e.identity, _short_choices(e))
    return table


def best_table(best: list[Any], show_test: bool = False) -> Any:
    """The best architectures as a rich table, with the parameters a classifier reports
    when the evaluations have them; test accuracy only with `show_test` (selecting
    among candidates by it would make the test set a second validation set)."""
    from rich.table import Table

    from darchlang.train.progress import format_seconds

    shown = (("test_accuracy", "test"),) if show_test else ()
    extra = [(key, label) for key, label in (*shown, ("parameters", "params"))
             if any(isinstance(e.metrics.get(key), int | float) for e in best)]
    table = Table(title="the best architecture" if len(best) == 1
                  else f"best {len(best)} architectures")
    table.add_column("rank", justify="right")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    for _, label in extra:
        table.add_column(label, justify="right")
    table.add_column("time", justify="right")
    table.add_column("identity")
    table.add_column("decisions")
    for rank, e in enumerate(best, 1):
        cells = []
        for key, _ in extra:
            value = e.metrics.get(key)
            if not isinstance(value, int | float):
                cells.append("-")
            elif key == "parameters":
                cells.append(f"{int(value):,}")
            else:
                cells.append(f"{value:.4f}")
        time_text = "reused" if e.reused is not None else format_seconds(e.seconds or 0.0)
        table.add_row(str(rank), str(e.index), f"{e.score:.4f}", *cells, time_text, e.identity,
                      _short_choices(e))
    return table


def _settings_text(settings: dict[str, Any]) -> str:
    if not settings:
        return "-"
    return ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}"
                     for k, v in settings.items() if v not in ({}, None))


def _short_choices(e: Any, limit: int = 60) -> str:
    text = ",".join(map(str, e.decisions))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failure_reasons(done: list[Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for e in done:
        if not e.ok and e.reused is None:
            reason = (e.reason or "unknown").splitlines()[0][:120]
            counts[reason] = counts.get(reason, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:10]
