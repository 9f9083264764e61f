"""The layer table of a compiled model: source line, output shape, parameters, mult-adds.

Rows come from the model's plan in forward order, one per layer copy and one per
residual join; parameters are counted from the built modules, mult-adds from each
layer's `macs` hook (convolutions and affine layers, plus join projections;
normalizations, pools and activations count as 0, the usual convention).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from darchlang.arch.graph import Architecture, Node
from darchlang.backends.torch.compiler import (
    CompiledModel,
    compile_architecture,
    printable,
    source_where,
)
from darchlang.backends.torch.plan import GraphOpenStep, JoinStep, LayerStep, MergeStep, OpenStep
from darchlang.environment import Environment
from darchlang.layers.shapes import features, shape_text
from darchlang.text import layer_where


@dataclass
class SummaryRow:
    """One line of the table. `name` is the layer's module name (the state_dict prefix of
    its weights); for a merge in a graph block it is the value the merge defines.
    `where` is the layer's own `file:line`; `source`, the table's column, adds the
    call that made it when a function did (`file:31, in inner at :9`)."""

    name: str
    kind: str
    path: str
    where: str
    out_shape: tuple[int, ...] | None
    params: int
    macs: int
    depth: int
    source: str = ""


@dataclass
class Summary:
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    rows: list[SummaryRow] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    def render(self) -> str:
        return render_summary(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "layers": [
                {**asdict(r), "out_shape": list(r.out_shape) if r.out_shape else None}
                for r in self.rows
            ],
        }


def _count(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def summarize(
    model: CompiledModel | Architecture | Node,
    input_shape: Any = None,
    env: Environment | None = None,
) -> Summary:
    """The table for a compiled model, or for an architecture (built on the meta device,
    so nothing is allocated; `input_shape` is then required)."""
    if not isinstance(model, CompiledModel):
        model = compile_architecture(model, input_shape, device="meta", env=env)
    plan = model.plan
    modules = dict(model.named_children())
    summary = Summary(plan.input_shape, plan.output_shape)
    for step in plan.steps:
        if isinstance(step, LayerStep):
            macs = step.ldef.macs(step.attrs, step.in_shape, step.out_shape) if step.ldef.macs else 0
            summary.rows.append(
                SummaryRow(
                    step.name, step.kind, step.path, source_where(step.span), step.out_shape,
                    _count(modules.get(step.name)), macs, step.depth,
                    printable(layer_where(step.span, step.layer.trace)),
                )
            )
        elif isinstance(step, OpenStep):
            summary.rows.append(
                SummaryRow(
                    step.name, "residual", step.path, source_where(step.residual.span), None,
                    0, 0, step.depth,
                )
            )
        elif isinstance(step, JoinStep):
            summary.rows.append(_join_row(step, modules))
        elif isinstance(step, GraphOpenStep):
            summary.rows.append(
                SummaryRow(step.name, "graph", step.path, source_where(step.span), None, 0, 0, step.depth)
            )
        elif isinstance(step, MergeStep):
            summary.rows.append(
                SummaryRow(
                    step.path.rsplit("/", 1)[-1], f"{step.kind}({', '.join(step.args)})", step.path,
                    source_where(step.span), step.out_shape, 0, 0, step.depth,
                )
            )
    return summary


def _join_row(step: JoinStep, modules: dict[str, nn.Module]) -> SummaryRow:
    x, y = step.in_shape, step.body_shape
    macs = 0
    if step.project is not None:
        kind = "join: 1x1 projection" if len(x) == 3 else "join: linear projection"
        macs = features(y) * (x[-1] if len(x) == 2 else x[0])
    elif step.pad_shortcut or step.pad_body:
        c, d = (x[-1], y[-1]) if len(x) == 2 else (x[0], y[0])
        kind = f"join: zero-pad {'features' if len(x) == 2 else 'channels'} {min(c, d)}->{max(c, d)}"
    else:
        kind = "join: add"
    if step.stride and step.project is None:
        kind += ", subsample /" + "x".join(str(s) for s in step.stride)
    name = step.project or ""
    return SummaryRow(
        name, kind, step.path, source_where(step.span), step.out_shape,
        _count(modules.get(name)) if name else 0, macs, step.depth + 1,
    )


def _human(n: int) -> str:
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def render_summary(summary: Summary) -> str:
    """An aligned text table with a totals line."""
    header = ("layer", "kind", "source", "output", "params", "mult-adds")
    table = [("input", "", "", shape_text(summary.input_shape), "", "")]
    for r in summary.rows:
        label = "  " * r.depth + (r.name or "(shortcut)")
        if r.kind.startswith("join"):
            label = "  " * r.depth + "+ " + (r.name or "shortcut")
        table.append(
            (
                label, r.kind, r.source or r.where,
                shape_text(r.out_shape) if r.out_shape else "",
                f"{r.params:,}" if r.params else ("" if r.out_shape is None else "0"),
                f"{r.macs:,}" if r.macs else ("" if r.out_shape is None else "0"),
            )
        )
    total = (
        "total", "", "", shape_text(summary.output_shape),
        f"{summary.total_params:,}", f"{summary.total_macs:,}",
    )
    widths = [max(len(row[i]) for row in [header, *table, total]) for i in range(len(header))]
    right = {4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(tuple("-" * w for w in widths)))
    out = [line(header), rule, *[line(r) for r in table], rule, line(total)]
    out.append(
        f"{summary.total_params:,} parameters ({_human(summary.total_params)}), "
        f"{summary.total_macs:,} multiply-adds per example ({_human(summary.total_macs)})"
    )
    return "\n".join(out)
