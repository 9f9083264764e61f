"""Architectures as pictures: every layer with its output shape, residual and graph
joins drawn as joins (`darch draw`).

The picture is read off the backend's shape plan, the same flat list of steps that
the compiled model's `forward` runs, so what is drawn is what runs: a repeat appears
unrolled, a pruned graph step does not appear, and each box carries the shape the
planner proved. The plan's variables (`x`, the residual shortcuts, graph values) are
followed to turn the steps into a dataflow graph.

Three outputs: Graphviz `dot` text (always), and SVG or PNG. SVG and PNG come from
system Graphviz when `dot` is on the PATH; otherwise darchlang lays the graph out in
layers itself (each node one row below its lowest input; branches side by side) and
writes SVG directly or PNG through matplotlib, so `pip install` alone is enough.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("dot", "svg", "png")
FILLS = {"input": "#e8f0fe", "output": "#e8f0fe", "join": "#fdf0d5", "merge": "#fdf0d5"}


@dataclass
class DrawNode:
    """One box: a layer, a join or merge, the input or the output."""

    id: int
    label: str
    shape: str
    kind: str  # "input", "layer", "join", "merge", "output"
    where: str = ""
    inputs: list[int] = field(default_factory=list)


def _attr_text(step: Any) -> str:
    """A layer's arguments that differ from their defaults, `filters: 64, size: 3`."""
    from darchlang.text import format_value

    parts = []
    for param in step.ldef.params:
        if param.name not in step.attrs or param.name == "init":
            continue
        value = step.attrs[param.name]
        if value == param.default:
            continue
        try:
            parts.append(f"{param.name}: {format_value(value)}")
        except (TypeError, ValueError):
            parts.append(f"{param.name}: {value}")
    return ", ".join(parts)


def dataflow(plan: Any) -> list[DrawNode]:
    """The plan's steps as a dataflow graph of boxes, in the order the forward runs."""
    from darchlang.backends.torch.plan import (
        GraphOpenStep,
        JoinStep,
        LayerStep,
        MergeStep,
        OpenStep,
    )
    from darchlang.backends.torch.summary import shape_text

    nodes = [DrawNode(0, "input", shape_text(plan.input_shape), "input")]
    var: dict[str, int] = {"x": 0}

    def add(label: str, shape: Any, kind: str, inputs: list[int], span: Any = None) -> int:
        where = f"{span.source.name}:{span.line}" if span is not None else ""
        nodes.append(DrawNode(len(nodes), label, shape_text(shape), kind, where, inputs))
        return len(nodes) - 1

    for step in plan.steps:
        if isinstance(step, LayerStep):
            if step.kind == "identity":
                var["x"] = var[step.src]
                continue
            args = _attr_text(step)
            var["x"] = add(f"{step.kind}({args})" if args else step.kind, step.out_shape,
                           "layer", [var[step.src]], step.span)
        elif isinstance(step, OpenStep):
            var[f"skip{step.depth}"] = var[step.src]
        elif isinstance(step, JoinStep):
            how = "project" if step.project else ("pad" if step.pad_body or step.pad_shortcut
                                                  else "")
            label = f"add ({how})" if how else "add"
            var["x"] = add(label, step.out_shape, "join",
                           [var["x"], var[f"skip{step.depth}"]], step.span)
        elif isinstance(step, MergeStep):
            sources = [var[s] for s in step.srcs]
            if len(sources) == 1:
                var[step.dst] = sources[0]
            else:
                var[step.dst] = add(step.kind, step.out_shape, "merge", sources, step.span)
        elif isinstance(step, GraphOpenStep):
            continue
        else:  # a move between the working variable and a graph value
            var[step.dst] = var[step.src]
    nodes.append(DrawNode(len(nodes), "output", shape_text(plan.output_shape), "output",
                          inputs=[var["x"]]))
    return nodes


def to_dot(nodes: list[DrawNode], title: str = "architecture") -> str:
    """Graphviz source: one box per node, an edge per input."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    fill = FILLS
    lines = [f"digraph {quote(title)} {{", "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", '
             'fontname="Helvetica", fontsize=11];']
    for n in nodes:
        label = "\\n".join(quote(part)[1:-1] for part in (n.label, n.shape, n.where) if part)
        color = f", fillcolor={quote(fill[n.kind])}" if n.kind in fill else ""
        lines.append(f'  n{n.id} [label="{label}"{color}];')
    for n in nodes:
        lines.extend(f"  n{i} -> n{n.id};" for i in n.inputs)
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- darchlang's own layout ---------------------------------------------------------------

_ROW, _CHAR, _PAD, _BOX_H, _GAP = 64, 7.0, 16, 40, 24


@dataclass
class _Placed:
    node: DrawNode
    x: float  # centre
    y: float  # top
    w: float


def layout(nodes: list[DrawNode]) -> tuple[list[_Placed], float, float]:
    """Rows by longest path from the input; nodes of a row side by side, centred."""
    row: dict[int, int] = {}
    for n in nodes:  # the plan's order is a topological order
        row[n.id] = 1 + max((row[i] for i in n.inputs), default=-1)
    rows: dict[int, list[DrawNode]] = {}
    for n in nodes:
        rows.setdefault(row[n.id], []).append(n)

    def width(n: DrawNode) -> float:
        return max(len(n.label), len(n.shape), len(n.where)) * _CHAR + 2 * _PAD

    row_widths = {r: sum(width(n) for n in ns) + _GAP * (len(ns) - 1) for r, ns in rows.items()}
    total = max(row_widths.values()) + 2 * _GAP
    if any(row[n.id] - row[i] > 1 for n in nodes for i in n.inputs):
        total += 2 * _GAP  # room for shortcuts that bend out to the right
    placed = []
    for r, ns in sorted(rows.items()):
        x = (total - row_widths[r]) / 2
        for n in ns:
            w = width(n)
            placed.append(_Placed(n, x + w / 2, _GAP + r * _ROW, w))
            x += w + _GAP
    height = _GAP * 2 + len(rows) * _ROW
    return placed, total, height


def edge_points(src: _Placed, dst: _Placed, placed: list[_Placed]) -> list[tuple[float, float]]:
    """An edge from the bottom of `src` to the top of `dst`: two points for a straight
    line, or the four of a cubic Bezier curve that bends out to the right of every box
    it passes when the edge skips rows (a residual shortcut), so it crosses none."""
    x1, y1, x2, y2 = src.x, src.y + _BOX_H, dst.x, dst.y
    if y2 - y1 <= _ROW:
        return [(x1, y1), (x2, y2)]
    bend = max(p.x + p.w / 2 for p in placed if src.y <= p.y <= dst.y) + _GAP
    return [(x1, y1), (bend, y1 + _ROW / 2), (bend, y2 - _ROW / 2), (x2, y2)]


def to_svg(nodes: list[DrawNode]) -> str:
    """SVG of the graph: Graphviz's when `dot` is installed, else darchlang's layout."""
    if shutil.which("dot"):
        return _graphviz(to_dot(nodes), "svg").decode()
    placed, width, height = layout(nodes)
    at = {p.node.id: p for p in placed}
    fill = FILLS
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
           'font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
           'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           'fill="#666"/></marker></defs>']
    for p in placed:
        for i in p.node.inputs:
            points = edge_points(at[i], p, placed)
            moves = " ".join(f"{x:.1f} {y:.1f}" for x, y in points[1:])
            out.append(f'<path d="M {points[0][0]:.1f} {points[0][1]:.1f} '
                       f'{"C" if len(points) == 4 else "L"} {moves}" fill="none" stroke="#666" '
                       'marker-end="url(#arrow)"/>')
    for p in placed:
        n = p.node
        out.append(f'<g><title>{html.escape(n.where or n.kind)}</title>'
                   f'<rect x="{p.x - p.w / 2:.1f}" y="{p.y:.1f}" width="{p.w:.1f}" '
                   f'height="{_BOX_H}" rx="6" fill="{fill.get(n.kind, "#f5f5f5")}" stroke="#999"/>'
                   f'<text x="{p.x:.1f}" y="{p.y + 16:.1f}" text-anchor="middle">'
                   f'{html.escape(n.label)}</text>'
                   f'<text x="{p.x:.1f}" y="{p.y + 31:.1f}" text-anchor="middle" fill="#555">'
                   f'{html.escape(n.shape)}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_png(nodes: list[DrawNode], path: Path) -> None:
    """PNG: Graphviz's when `dot` is installed, else darchlang's layout drawn by matplotlib."""
    if shutil.which("dot"):
        path.write_bytes(_graphviz(to_dot(nodes), "png"))
        return
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    placed, width, height = layout(nodes)
    at = {p.node.id: p for p in placed}
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=150)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for p in placed:
        for i in p.node.inputs:
            points = edge_points(at[i], p, placed)
            codes = [MplPath.MOVETO] + [MplPath.CURVE4 if len(points) == 4 else MplPath.LINETO] * (
                len(points) - 1)
            ax.add_patch(FancyArrowPatch(path=MplPath(points, codes), arrowstyle="-|>",
                                         mutation_scale=8, color="#666"))
    fill = FILLS
    for p in placed:
        n = p.node
        ax.add_patch(FancyBboxPatch((p.x - p.w / 2, p.y), p.w, _BOX_H,
                                    boxstyle="round,pad=0,rounding_size=6",
                                    facecolor=fill.get(n.kind, "#f5f5f5"), edgecolor="#999"))
        ax.text(p.x, p.y + 15, n.label, ha="center", va="center", fontsize=7)
        ax.text(p.x, p.y + 29, n.shape, ha="center", va="center", fontsize=6.5, color="#555")
    fig.savefig(path)
    plt.close(fig)


def _graphviz(dot: str, fmt: str) -> bytes:
    return subprocess.run(["dot", f"-T{fmt}"], input=dot.encode(), capture_output=True,
                          check=True, timeout=60).stdout


def draw(arch: Any, input_shape: Any, fmt: str, path: Path | None = None) -> str | None:
    """Draw `arch` for an input shape; return the text (dot, svg) or write `path` (png)."""
    from darchlang.backends.torch.plan import plan_network

    nodes = dataflow(plan_network(arch, input_shape))
    if fmt == "dot":
        return to_dot(nodes)
    if fmt == "svg":
        return to_svg(nodes)
    if path is None:
        raise ValueError("a PNG needs a file to write")
    to_png(nodes, path)
    return None
