"""A search as one self-contained HTML file (`darch report runs/x.db --html report.html`).

The page holds the summary, every plot of `darchlang.report.plots` (embedded as PNG
data, so the file can be mailed or archived alone), the table of the best
architectures (with several objectives, the Pareto front and its plot), and each of
them as highlighted darchlang text with, given the input shape, its layer table
(source line, shapes, parameters, multiply-adds).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

from darchlang.report import plots

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 24px auto; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #eee; }
pre { background: #fafafa; border: 1px solid #eee; padding: 8px; overflow: auto; font-size: 12px; }
img { max-width: 100%; } .muted { color: #777; }
"""


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def layer_table_of(text: str, input_shape: Any) -> str:
    """The compile table of an architecture given as darchlang text (a space of one)."""
    import darchlang
    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.summary import summarize

    arch = darchlang.load_string(text, "<best>").space.sample(0)
    return summarize(compile_architecture(arch, input_shape)).render()


def render(evaluations: list[Any], config: dict[str, Any], labels: plots.Labels | None,
           journal: str, input_shape: Any = None, top_k: int = 5,
           curves: plots.Curves | None = None, stopped: set[int] | None = None,
           input_source: str | None = None) -> str:
    """The whole report as one HTML document; the layer tables are for `input_shape`,
    which `input_source` says where it came from (None: the user gave it)."""
    from darchlang.errors import DarchError
    from darchlang.notebook import highlighted
    from darchlang.search.objectives import Objectives
    from darchlang.search.results import pareto_front, summary, top

    objectives = Objectives.from_config(config)
    s = summary(evaluations, objectives)
    title = f"{config.get('searcher', 'search')} search"
    dataset = (config.get("settings") or {}).get("dataset")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}{' on ' + html.escape(dataset) if dataset else ''}</h1>",
             f"<p class='muted'>{html.escape(journal)}</p>"]
    best = "-" if s["best_score"] is None else f"{s['best_score']:.4f} (#{s['best_index']})"
    parts.append(_table(["", ""], [
        ["evaluations", f"{s['done']} done: {s['ok']} ok, {s['failed']} failed"
         + (f", {s['reused']} reused" if s["reused"] else "")
         + (f"; {s['invalid']} invalid, not trained" if s["invalid"] else "")],
        ["best score", best],
        ["searcher", f"{config.get('searcher', '?')} (seed {config.get('seed', '?')})"],
        *([["objectives", ", ".join(f"{'min' if o.minimize else 'max'} {o.name}"
                                    for o in objectives.items)]]
          if not objectives.default else []),
    ]))
    done = [e for e in evaluations if e.done]
    parts += ["<h2>History</h2>", _png(plots.history(done, title, objectives))]
    if objectives.several:
        front = pareto_front(done, objectives)
        parts += [f"<h2>Pareto front ({len(front)} architectures)</h2>",
                  _png(plots.pareto_plot(done, objectives)),
                  _table(["rank", "#", *[o.label for o in objectives.items], "identity",
                          "decisions"],
                         [[str(r), str(e.index),
                           *[o.show(o.value(e)) for o in objectives.items],
                           e.identity, ",".join(map(str, e.decisions))]
                          for r, e in enumerate(front, 1)])]
    found = plots.importances(done, labels)
    if found:
        leading = list(found)[:6]
        parts += ["<h2>Which choices matter</h2>", _png(plots.importance_plot(found)),
                  "<h2>Parallel coordinates</h2>",
                  _png(plots.parallel_coordinates(done, labels, leading)),
                  "<h2>Score by option</h2>", _png(plots.option_scores(done, labels, leading))]
    if any(plots.curve_of(e, curves) for e in done):
        parts += ["<h2>Learning curves</h2>", _png(plots.learning_curves(done, curves, stopped))]
    best_k = top(done, top_k, objectives)
    if best_k:
        order = (f" (the Pareto front first, by {objectives.first.name})"
                 if objectives.several else "")
        parts.append(f"<h2>Best {len(best_k)} architectures{order}</h2>")
        if input_shape is not None:
            shape = "x".join(map(str, input_shape))
            parts.append(f"<p class='muted'>layer tables for input {html.escape(shape)}"
                         f"{' (' + html.escape(input_source) + ')' if input_source else ''}</p>")
        parts.append(_table(["rank", "#", "score", "identity", "decisions"], [
            [str(r), str(e.index), f"{e.score:.4f}", e.identity, ",".join(map(str, e.decisions))]
            for r, e in enumerate(best_k, 1)]))
        for rank, e in enumerate(best_k, 1):
            parts.append(f"<h3>{rank}. #{e.index}, score {e.score:.4f} "
                         f"<span class='muted'>{e.identity}</span></h3>")
            parts.append(highlighted(e.text))
            if input_shape is not None:
                try:
                    parts.append(f"<pre>{html.escape(layer_table_of(e.text, input_shape))}</pre>")
                except DarchError as err:
                    parts.append(f"<p class='muted'>no layer table: {html.escape(err.message)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
