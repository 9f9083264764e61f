"""A local page that follows a search as it runs (`darch dashboard runs/x.db`).

The server is Flask: a well-kept, small WSGI framework whose routing and JSON
responses are all this needs, served by Werkzeug's threaded server on 127.0.0.1 (a
local tool, not a public service). The page is one self-contained HTML file with its
own script and no external assets, so it works offline; it asks `/api/state` once a
second and redraws progress, the best so far, the score history with its running best
(failures marked apart, never drawn as scores) and the table of evaluations. Clicking
an evaluation fetches `/api/evaluations/<index>`: its architecture as highlighted
darchlang text, its choices, its metrics and its learning curve.

Each request opens the journal read-only for as long as it takes to read it, so the
dashboard never holds a lock or a write transaction on a search it is watching.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from darchlang.errors import DarchError


def _read(path: Path) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    from darchlang.search import Journal

    with Journal(path, create=False) as journal:
        meta: dict[str, Any] = {k: journal.meta(k) for k in ("created", "budget", "options")}
        meta["curves"] = journal.curves()
        return journal.evaluations(), journal.config() or {}, meta


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def state(path: Path) -> dict[str, Any]:
    """What the page shows: progress, the best so far, the history and every row; with
    several objectives also each row's value of each and the Pareto front, as `darch
    report` gives them."""
    from darchlang.search.objectives import Objectives
    from darchlang.search.results import best_of, pareto_front, running_best

    evaluations, config, meta = _read(path)
    objectives = Objectives.from_config(config)  # the lowest score leads where minimised
    best = best_of(evaluations, objectives)
    run = running_best(evaluations, objectives)

    def values(e: Any) -> list[float | None]:
        return [_finite(o.value(e)) for o in objectives.items]

    rows = [{"index": e.index, "status": e.status, "score": _finite(e.score),
             "values": values(e), "seconds": _finite(e.seconds), "identity": e.identity,
             "reason": e.reason, "running_best": _finite(r)}
            for e, r in zip(evaluations, run, strict=True)]
    done = [e for e in evaluations if e.done]
    front = pareto_front(done, objectives) if objectives.several else []
    return {
        "journal": str(path),
        "searcher": config.get("searcher", "search"),
        "seed": config.get("seed"),
        "dataset": (config.get("settings") or {}).get("dataset"),
        "budget": int(meta["budget"]) if (meta.get("budget") or "").isdigit() else None,
        "objectives": [{"name": o.name, "label": o.label, "kind": o.kind,
                        "minimize": o.minimize} for o in objectives.items],
        "done": len(done),
        "failed": sum(not e.ok for e in done),
        "running": sum(not e.settled for e in evaluations),
        "invalid": sum(e.invalid for e in evaluations),
        "best": None if best is None else {"index": best.index, "score": _finite(best.score),
                                          "values": values(best), "identity": best.identity},
        "front": [e.index for e in front],
        "distinct": len({e.identity for e in done if objectives.values(e) is not None}),
        "evaluations": rows,
    }


def evaluation(path: Path, index: int) -> dict[str, Any] | None:
    """One evaluation in full: text (highlighted), choices, metrics and curve."""
    from darchlang.notebook import highlighted
    from darchlang.report.plots import curve_of, option_label
    from darchlang.search.objectives import Objectives

    evaluations, config, meta = _read(path)
    labels = json.loads(meta["options"]) if meta.get("options") else None
    found = [e for e in evaluations if e.index == index]
    if not found:
        return None
    e = found[0]
    metrics = dict(e.metrics or {})
    metrics.pop("history", None)
    curve = [[x, y] for x, y in curve_of(e, meta["curves"])]
    return {
        "index": e.index, "status": e.status, "score": _finite(e.score), "reason": e.reason,
        "values": [_finite(o.value(e)) for o in Objectives.from_config(config).items],
        "identity": e.identity, "text_html": highlighted(e.text),
        "choices": [[n, option_label(e, n, labels)] for n in e.names],
        "metrics": {k: v for k, v in metrics.items() if isinstance(v, int | float | str)},
        "curve": curve,
    }


def create_app(path: str | Path) -> Any:
    """The Flask application for one journal (for tests and for `serve`)."""
    from flask import Flask, abort, jsonify

    journal = Path(path)
    app = Flask("darchlang.dashboard")

    @app.get("/")
    def page() -> Any:
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/api/state")
    def api_state() -> Any:
        return jsonify(state(journal))

    @app.get("/api/evaluations/<int:index>")
    def api_evaluation(index: int) -> Any:
        data = evaluation(journal, index)
        if data is None:
            abort(404)
        return jsonify(data)

    return app


def check_journal(path: Path) -> None:
    """A clear error before serving: the file exists and is a darchlang journal (the
    journal's own errors say what is wrong with a missing file, a folder, ...)."""
    try:
        _read(path)
    except sqlite3.DatabaseError as exc:
        raise DarchError(f"{path} is not a readable darchlang journal: {exc}") from None


def make_server(path: str | Path, host: str = "127.0.0.1", port: int = 8050) -> Any:
    """A threaded server for the dashboard; a port in use is a DarchError."""
    import logging

    from werkzeug.serving import make_server as werkzeug_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    check_journal(Path(path))
    _check_port(host, port)
    return werkzeug_server(host, port, create_app(path), threaded=True)


def _check_port(host: str, port: int) -> None:
    """Refuse a port that another program holds, as a DarchError (Werkzeug would print
    its own message and exit)."""
    import errno
    import socket

    try:
        family = socket.getaddrinfo(host, port)[0][0]
    except OSError as exc:  # socket.gaierror: a name or address that does not resolve
        raise DarchError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                         help="give --host an address of this machine, such as 127.0.0.1"
                         ) from None
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        in_use = exc.errno == errno.EADDRINUSE
        raise DarchError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                         help="another program holds that port: pick another with --port "
                         "(--port 0 takes a free one)"
                         if in_use else "give --host an address of this machine, such as "
                         "127.0.0.1, and a --port you may use") from None


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>darchlang search</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 12px 20px; background: #f4f6fb; border-bottom: 1px solid #dde; }
h1 { font-size: 18px; margin: 0 0 4px; }
main { display: grid; grid-template-columns: minmax(420px, 1fr) minmax(380px, 1fr); gap: 16px;
       padding: 16px 20px; }
.bar { height: 8px; background: #e3e6ef; border-radius: 4px; overflow: hidden; width: 320px; }
.bar > div { height: 100%; background: #4a7bd0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; }
tr.row { cursor: pointer; } tr.row:hover { background: #f3f6ff; }
tr.failed td { color: #b33; } tr.selected { background: #e8efff; }
tr.front td:first-child::before { content: "\\2605 "; color: #e08a1e; }
pre { background: #fafafa; border: 1px solid #eee; padding: 8px; overflow: auto; }
.muted { color: #777; } svg text { font-size: 11px; fill: #555; }
</style></head>
<body>
<header><h1 id="title">darchlang search</h1>
<div id="progress" class="muted">loading...</div><div class="bar"><div id="fill" style="width:0"></div></div>
<div id="best"></div></header>
<main>
<section><h2>History</h2><svg id="history" width="520" height="220"></svg>
<h2>Evaluations</h2>
<table><thead id="head"></thead><tbody id="rows"></tbody></table></section>
<section id="detail"><p class="muted">Click an evaluation to see its architecture and curve.</p></section>
</main>
<script>
"use strict";
let selected = null;
const fmt = (x, d = 4) => x === null || x === undefined ? "" : Number(x).toFixed(d);
// an objective's value as `darch report` prints it: counts with separators, ms to 3 places
const show = (o, x) => x === null || x === undefined ? "" :
  o.kind === "params" || o.kind === "macs" ? Math.round(x).toLocaleString("en-US") :
  o.kind === "latency" ? Number(x).toFixed(3) : Number(x).toFixed(4);
const sense = o => (o.minimize ? "min " : "max ") + o.label;
const escape = t => String(t).replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
let objectives = [{name: "score", label: "score", kind: "score", minimize: false}];
function el(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function chart(svg, points, options) {
  // points: [x, y | null]; y null is a failure, marked in a band below the axis
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), L = 44, B = 34;
  const ys = points.map(p => p[1]).filter(y => y !== null);
  const xs = points.map(p => p[0]);
  if (!xs.length) return;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = ys.length ? Math.min(...ys) : 0, y1 = ys.length ? Math.max(...ys) : 1;
  if (y1 - y0 < 1e-9) { y0 -= 0.05; y1 += 0.05; }
  const X = x => L + (x - x0) / (x1 - x0) * (W - L - 10);
  const Y = y => 8 + (1 - (y - y0) / (y1 - y0)) * (H - B - 16);
  svg.appendChild(el("line", {x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: "#999"}));
  svg.appendChild(el("line", {x1: L, y1: 8, x2: L, y2: H - B, stroke: "#999"}));
  for (const t of [y0, (y0 + y1) / 2, y1])
    svg.appendChild(el("text", {x: 2, y: Y(t) + 4}, fmt(t, 3)));
  const step = Math.max(1, Math.ceil((x1 - x0) / 8));
  for (let t = Math.ceil(x0); t <= x1; t += step)
    svg.appendChild(el("text", {x: X(t) - 4, y: H - B + 14}, String(t)));
  svg.appendChild(el("text", {x: W / 2 - 30, y: H - 4}, options.xlabel));
  for (const p of points) {
    if (p[1] === null) {
      svg.appendChild(el("text", {x: X(p[0]) - 4, y: H - B - 2, fill: "#c33", class: "failure"}, "x"));
    } else {
      svg.appendChild(el("circle", {cx: X(p[0]), cy: Y(p[1]), r: 3, fill: "#4a7bd0", class: "point"}));
    }
  }
  if (options.best) {
    // the running best is a step: flat until a better score arrives
    const best = options.best.filter(p => p[1] !== null);
    const d = best.map((p, i) => (i ? "H" + X(p[0]) + " V" : "M" + X(p[0]) + " ") + Y(p[1])).join(" ");
    if (d) svg.appendChild(el("path", {d: d, fill: "none", stroke: "#e08a1e", "stroke-width": 2}));
    svg.appendChild(el("circle", {cx: W - 150, cy: 12, r: 3, fill: "#4a7bd0"}));
    svg.appendChild(el("text", {x: W - 142, y: 16}, options.label));
    svg.appendChild(el("line", {x1: W - 100, y1: 12, x2: W - 86, y2: 12, stroke: "#e08a1e", "stroke-width": 2}));
    svg.appendChild(el("text", {x: W - 82, y: 16}, "best so far"));
  }
}
async function showDetail(index) {
  selected = index;
  const r = await fetch("api/evaluations/" + index);
  if (!r.ok) return;
  const e = await r.json();
  const d = document.getElementById("detail");
  const values = objectives.length > 1 ?
    objectives.map((o, i) => escape(o.label) + " " + show(o, e.values[i])).join(", ") :
    "score " + fmt(e.score);
  d.innerHTML = "<h2>Evaluation #" + e.index + " <span class='muted'>" + escape(e.status) + "</span></h2>" +
    "<p id='values'>" + values + (e.reason ? " &mdash; " + escape(e.reason) : "") + "</p>" +
    "<svg id='curve' width='420' height='180'></svg>" +
    "<h3>Architecture " + escape(e.identity) + "</h3>" + e.text_html +
    "<h3>Choices</h3><table>" + e.choices.map(c => "<tr><td>" + escape(c[0]) + "</td><td>" +
      escape(c[1]) + "</td></tr>").join("") + "</table>";
  d.querySelectorAll("pre").forEach(p => p.setAttribute("id", "architecture-text"));
  chart(document.getElementById("curve"), e.curve, {xlabel: "epoch (validation accuracy)"});
}
async function refresh() {
  let s;
  try { s = await (await fetch("api/state")).json(); } catch (err) { return; }
  document.getElementById("title").textContent = s.searcher + " search" + (s.dataset ? " on " + s.dataset : "");
  const total = s.budget || Math.max(s.done, 1);
  document.getElementById("progress").textContent = s.done + (s.budget ? " of " + s.budget : "") +
    " evaluations done, " + s.failed + " failed, " + s.running + " running" +
    (s.invalid ? ", " + s.invalid + " invalid (not trained)" : "");
  document.getElementById("fill").style.width = Math.min(100, 100 * s.done / total) + "%";
  objectives = s.objectives;
  const several = objectives.length > 1, first = objectives[0];
  document.getElementById("best").textContent = !s.best ? "no successful evaluation yet" :
    several ? "Pareto front: " + s.front.length + " of " + s.distinct + " architecture" +
      (s.distinct === 1 ? "" : "s") + " (" + objectives.map(sense).join(", ") + "); best " +
      first.label + " so far: " + show(first, s.best.values[0]) + " (#" + s.best.index + ", " +
      s.best.identity + ")" :
    "best so far: " + fmt(s.best.score) + " (#" + s.best.index + ", " + s.best.identity + ")";
  const heads = ["#", "status", ...(several ? objectives.map(sense) : ["score"]),
                 several ? "best " + first.label + " so far" : "best so far", "seconds", "architecture"];
  const head = "<tr>" + heads.map(h => "<th>" + escape(h) + "</th>").join("") + "</tr>";
  const thead = document.getElementById("head");
  if (thead.innerHTML !== head) thead.innerHTML = head;
  const front = new Set(s.front);
  const done = s.evaluations.filter(e => e.status === "ok" || e.status === "failed");
  chart(document.getElementById("history"), done.map(e => [e.index, e.status === "ok" ? e.values[0] : null]),
        {xlabel: "evaluation", best: done.map(e => [e.index, e.running_best]), label: first.label});
  const body = document.getElementById("rows");
  body.innerHTML = "";
  for (const e of s.evaluations.slice().reverse()) {
    const tr = document.createElement("tr");
    tr.className = "row" + (e.status === "failed" ? " failed" : "") + (e.index === selected ? " selected" : "") +
      (front.has(e.index) ? " front" : "");
    tr.dataset.index = e.index;
    const scores = several ? objectives.map((o, i) => show(o, e.values[i])) : [fmt(e.score)];
    for (const v of [e.index, e.status, ...scores, several ? show(first, e.running_best) : fmt(e.running_best),
                     fmt(e.seconds, 1), e.identity])
      tr.appendChild(Object.assign(document.createElement("td"), {textContent: v}));
    tr.onclick = () => showDetail(e.index);
    body.appendChild(tr);
  }
}
refresh();
setInterval(refresh, 1000);
</script></body></html>
"""
