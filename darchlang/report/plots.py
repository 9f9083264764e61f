"""The plots of a search: history, option importances, parallel coordinates, the score
of each option, learning curves and, with two objectives, the Pareto front.

Every plot takes the journal's evaluations (and the journal's option labels, so a
sub-space option reads `relu, batch_norm` rather than `option 1`) and returns a
matplotlib `Figure` drawn on the Agg canvas: no window, no pyplot state, a notebook's
backend left alone. `save` writes one as PNG; the HTML report embeds them.

Importances come from Optuna's fANOVA evaluator (Hutter et al., 2014, the standard
in hyperparameter optimisation), fed from the journal as a study of fixed trials: each
choice is a categorical parameter over its options, with one more category, `off`,
where a choice was inactive, so conditional choices (an optional layer's settings) are
measured too rather than dropped. fANOVA says how much of the score's variance each
choice explains on its own; it is seeded, so a report is the same every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from darchlang.errors import DarchError

Labels = dict[str, list[str]]
OFF = "off"


def _figure(width: float = 8, height: float = 4.5) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Any, path: str | Path) -> Path:
    """Write a figure as PNG; an unwritable path is a DarchError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    except OSError as err:
        raise DarchError(f"cannot write the plot to {path}: {err.strerror or err}") from None
    return path


def _scored(evaluations: Sequence[Any]) -> list[Any]:
    """Successful evaluations with a finite score, each architecture once."""
    seen, out = set(), []
    for e in evaluations:
        if e.ok and isinstance(e.score, int | float) and math.isfinite(e.score) \
                and e.identity not in seen:
            seen.add(e.identity)
            out.append(e)
    return out


def option_label(e: Any, name: str, labels: Labels | None) -> str | None:
    """How the option that `e` took at choice `name` reads, as the report's tables, CSV
    and JSON read it (`adam`, `relu, batch_norm`); None where it was inactive."""
    from darchlang.search.results import option_value

    for n, index, value in zip(e.names, e.decisions, e.values, strict=True):
        if n == name:
            shown = option_value(name, index, value, labels)
            return shown if isinstance(shown, str) else repr(shown)
    return None


def choice_names(evaluations: Sequence[Any], labels: Labels | None) -> list[str]:
    """Every choice that some evaluation took, in the space's order when known."""
    names: list[str] = list(labels or {})
    for e in evaluations:
        names.extend(n for n in e.names if n not in names)
    seen = {n for e in evaluations for n in e.names}
    return [n for n in names if n in seen]


# -- history ----------------------------------------------------------------------------


def history(evaluations: Sequence[Any], title: str | None = None, objectives: Any = None
            ) -> Any:
    """Each evaluation's score (the first objective's value), the running best as a
    step, failures marked apart in a band under the axis (never at a score they did not
    get), the legend outside the data, and integer ticks."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    from darchlang.search.objectives import Objectives
    from darchlang.search.results import running_best

    objectives = objectives or Objectives()
    first = objectives.first
    done = [e for e in evaluations if e.done]
    fig = _figure()
    ax = fig.add_subplot()
    ok = [(e.index, v) for e in done if (v := first.value(e)) is not None]
    failed = [e.index for e in done if not e.ok]
    name = "score" if first.kind == "score" else first.label
    if ok:
        ax.scatter([i for i, _ in ok], [s for _, s in ok], s=16, alpha=0.7, label=name)
    best = running_best(done, Objectives((first,)))
    steps = [(e.index, b) for e, b in zip(done, best, strict=True) if b is not None]
    if steps:
        ax.step([i for i, _ in steps], [b for _, b in steps], where="post", color="tab:green",
                label="best so far")
    if failed:
        band = blended_transform_factory(ax.transData, ax.transAxes)
        ax.scatter(failed, [-0.06] * len(failed), marker="x", color="tab:red", s=22,
                   transform=band, clip_on=False, label=f"failed ({len(failed)})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("evaluation")
    ax.set_ylabel(name + (" (lower is better)" if first.minimize else ""))
    ax.set_title(title or "search")
    ax.grid(alpha=0.3)
    if ok or failed:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    fig.tight_layout()
    return fig


# -- importances ------------------------------------------------------------------------


def importances(evaluations: Sequence[Any], labels: Labels | None = None,
                seed: int = 0) -> dict[str, float]:
    """fANOVA importance of every choice that varied, highest first (empty when fewer
    than three distinct architectures scored, or no choice varied)."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    scored = _scored(evaluations)
    names = choice_names(scored, labels)
    options: dict[str, list[str]] = {}
    for name in names:
        seen = sorted({option_label(e, name, labels) or OFF for e in scored})
        if len(seen) > 1:
            options[name] = seen
    if len(scored) < 3 or not options:
        return {}
    distributions = {n: CategoricalDistribution(opts) for n, opts in options.items()}
    trials = [optuna.trial.create_trial(
        params={n: option_label(e, n, labels) or OFF for n in options},
        distributions=distributions, value=float(e.score)) for e in scored]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.add_trials(trials)
    found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed))
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def importance_plot(found: dict[str, float], limit: int = 15) -> Any:
    names = list(found)[:limit][::-1]
    fig = _figure(8, 0.8 + 0.35 * max(1, len(names)))
    ax = fig.add_subplot()
    ax.barh(names, [found[n] for n in names], color="tab:blue")
    ax.set_xlabel("importance (fANOVA: share of the score's variance)")
    ax.set_title("which choices matter")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# -- per option -------------------------------------------------------------------------


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(name: str, limit: int = 24) -> str:
    """A choice name shortened from the left: its end tells choices apart."""
    return name if len(name) <= limit else "…" + name[-(limit - 1):]


def option_scores(evaluations: Sequence[Any], labels: Labels | None,
                  names: Sequence[str]) -> Any:
    """For each choice in `names`, every architecture's score by the option it took,
    with each option's mean marked; options are labelled by what they are."""
    scored = _scored(evaluations)
    names = list(names)
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = _figure(4.2 * cols, 3.2 * rows)
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        by: dict[str, list[float]] = {}
        for e in scored:
            by.setdefault(option_label(e, name, labels) or OFF, []).append(e.score)
        order = list(labels.get(name, [])) if labels else []
        opts = [o for o in order if o in by] + sorted(o for o in by if o not in order)
        for x, opt in enumerate(opts):
            ys = by[opt]
            jitter = [x + (j % 7 - 3) * 0.03 for j in range(len(ys))]
            ax.scatter(jitter, ys, s=10, alpha=0.6, color="tab:blue")
            ax.scatter([x], [sum(ys) / len(ys)], marker="_", s=400, color="tab:orange")
        ax.set_xticks(range(len(opts)), [_short(o) for o in opts], rotation=25, ha="right",
                      fontsize=8)
        ax.set_title(_tail(name, 40), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def parallel_coordinates(evaluations: Sequence[Any], labels: Labels | None,
                         names: Sequence[str]) -> Any:
    """One vertical axis per choice (the most important first), one line per
    architecture through the options it took, coloured by its score."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    scored = sorted(_scored(evaluations), key=lambda e: e.score)
    names = list(names)
    fig = _figure(max(6, 1.8 * len(names) + 2), 4.5)
    ax = fig.add_subplot()
    if not scored or not names:
        ax.set_axis_off()
        return fig
    columns = []
    for name in names:
        order = list(labels.get(name, [])) if labels else []
        taken = {option_label(e, name, labels) or OFF for e in scored}
        columns.append([o for o in order if o in taken] + sorted(t for t in taken if t not in order))
    norm = Normalize(min(e.score for e in scored), max(e.score for e in scored))
    cmap = colormaps["viridis"]
    for e in scored:
        ys = []
        for name, opts in zip(names, columns, strict=True):
            pos = opts.index(option_label(e, name, labels) or OFF)
            ys.append(pos / max(1, len(opts) - 1))
        ax.plot(range(len(names)), ys, color=cmap(norm(e.score)), alpha=0.6, linewidth=1.2)
    for x, opts in enumerate(columns):
        ax.axvline(x, color="#999", linewidth=0.8)
        for pos, opt in enumerate(opts):
            ax.text(x + 0.03, pos / max(1, len(opts) - 1), _short(opt, 18), fontsize=7,
                    va="center")
    ax.set_xticks(range(len(names)), [_tail(n) for n in names], rotation=15, fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(names) - 0.4)
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label="score")
    ax.set_title("architectures through their choices")
    fig.tight_layout()
    return fig


# -- learning curves --------------------------------------------------------------------


Curves = dict[int, list[tuple[int, int, float | None, float]]]


def curve_of(e: Any, curves: Curves | None = None) -> list[tuple[float, float]]:
    """(epoch, validation score) points of one evaluation: the intermediate values the
    journal recorded for it (a scheduled search's rungs, `Journal.curves()`) when there
    are any, else the per-epoch history in its metrics."""
    recorded = (curves or {}).get(e.index)
    if recorded:
        return [(float(step), float(value)) for _, step, value, _ in recorded
                if isinstance(value, int | float) and math.isfinite(value)]
    history = (e.metrics or {}).get("history") or []
    return [(float(h["epoch"]), float(h["val_accuracy"])) for h in history
            if isinstance(h, dict) and isinstance(h.get("val_accuracy"), int | float)
            and isinstance(h.get("epoch"), int | float)]


def learning_curves(evaluations: Sequence[Any], curves: Curves | None = None,
                    stopped: set[int] | None = None) -> Any:
    """Validation score per epoch of every evaluation; one that a scheduler stopped
    (`stopped`: their indices) is red and ends in an x."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure()
    ax = fig.add_subplot()
    drawn = 0
    for e in evaluations:
        points = curve_of(e, curves)
        if not points:
            continue
        drawn += 1
        xs, ys = zip(*points, strict=True)
        cut = e.index in (stopped or set())
        ax.plot(xs, ys, alpha=0.5, linewidth=1, color="tab:red" if cut else "tab:blue")
        if cut:
            ax.scatter([xs[-1]], [ys[-1]], marker="x", color="tab:red", s=18)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation score")
    ax.set_title(f"learning curves ({drawn} evaluations"
                 + (f"; {len(stopped)} stopped early, in red)" if stopped else ")"))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# -- several objectives -----------------------------------------------------------------


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points that no other point beats on every coordinate (all
    maximised), in increasing order of the first."""
    from darchlang.search.pareto import first_front

    return sorted(first_front(points), key=lambda i: (points[i][0], i))


def pareto_plot(evaluations: Sequence[Any], objectives: Any) -> Any:
    """Every distinct successful architecture by its first two objectives (the second
    across, the first up), the Pareto front of all the objectives in red, joined as a
    staircase when there are exactly two."""
    items = objectives.items[:2]
    rows = [(e, values) for e in _scored(evaluations)
            if (values := objectives.values(e)) is not None]
    fig = _figure()
    ax = fig.add_subplot()
    if rows:
        ax.scatter([v[1] for _, v in rows], [v[0] for _, v in rows], s=14, alpha=0.5,
                   label="evaluations")
        oriented = [objectives.oriented(e) for e, _ in rows]
        front = sorted(pareto_front(oriented), key=lambda i: rows[i][1][1])
        fx, fy = [rows[i][1][1] for i in front], [rows[i][1][0] for i in front]
        if len(objectives.items) == 2:
            # the edge of what the front attains: flat towards the worse side of the x axis
            ax.step(fx, fy, where="post" if items[1].minimize else "pre", color="tab:red",
                    alpha=0.7)
        ax.scatter(fx, fy, color="tab:red", s=28, label=f"Pareto front ({len(front)})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    sense = {True: "lower is better", False: "higher is better"}
    ax.set_xlabel(f"{items[1].label} ({sense[items[1].minimize]})")
    ax.set_ylabel(f"{items[0].label} ({sense[items[0].minimize]})")
    ax.grid(alpha=0.3)
    ax.set_title("Pareto front" + (f" of {len(objectives.items)} objectives, by the first two"
                                   if len(objectives.items) > 2 else ""))
    fig.tight_layout()
    return fig
