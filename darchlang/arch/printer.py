"""Print a concrete architecture back to `.darch` text that re-parses to a one-point space."""

from __future__ import annotations

from typing import Any

from darchlang.arch.graph import (
    Architecture,
    Graph,
    Layer,
    Node,
    Repeat,
    Residual,
    Seq,
)
from darchlang.text import format_value

INDENT = "    "


def to_jsonable(value: Any) -> Any:
    """Plain JSON data for a value: initializers and layers become their text."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return format_value(value)


def layer_text(layer: Layer) -> str:
    if layer.text is not None:
        return layer.text
    quiet = getattr(layer.definition, "quiet_defaults", _NO_DEFAULTS)
    args = ", ".join(f"{k}: {format_value(v)}" for k, v in layer.attrs.items()
                     if quiet.get(k, _NONE) != v)
    return f"{layer.kind}({args})"


_NONE = object()
_NO_DEFAULTS: dict[str, Any] = {}


def flat_items(seq: Seq) -> list[Node]:
    """A sequence's items with nested sequences spliced in: `concat [concat [a, b], c]`
    means `concat [a, b, c]`, and prints that way."""
    out: list[Node] = []
    for item in seq.items:
        if isinstance(item, Seq):
            out.extend(flat_items(item))
        else:
            out.append(item)
    return out


def node_text(node: Node, depth: int) -> str:
    """Text of one node; sequences break over lines, one item per line."""
    if isinstance(node, Layer):
        return layer_text(node)
    if isinstance(node, Seq):
        items = flat_items(node)
        if not items:
            return "concat []"
        inner = INDENT * (depth + 1)
        lines = [f"{inner}{node_text(item, depth + 1)}," for item in items]
        return "concat [\n" + "\n".join(lines) + "\n" + INDENT * depth + "]"
    if isinstance(node, Residual):
        body = node_text(node.body, depth)
        join = "" if node.join == "pad" else f", join: {format_value(node.join)}"
        return f"residual({body}{join})"
    if isinstance(node, Repeat):
        return f"repeat_tied({node_text(node.body, depth)}, times: {node.times})"
    if isinstance(node, Graph):
        return graph_text(node, depth)
    raise TypeError(f"no printer for architecture node {type(node).__name__}")


def graph_text(graph: Graph, depth: int) -> str:
    """A graph block: one named value per line, then `return`."""
    inner = INDENT * (depth + 1)
    lines = [f"graph({', '.join(graph.inputs)}) {{"]
    for step in graph.steps:
        args = ", ".join(graph.value_name(i) for i in step.inputs)
        if step.kind == "apply":
            assert step.op is not None
            lines.append(f"{inner}{step.name} = {node_text(step.op, depth + 1)}({args})")
        else:
            lines.append(f"{inner}{step.name} = {step.kind}({args})")
    lines.append(f"{inner}return {graph.value_name(graph.output)}")
    lines.append(INDENT * depth + "}")
    return "\n".join(lines)


def architecture_text(arch: Architecture) -> str:
    """Canonical program text for an architecture: a network binding and its settings."""
    parts = []
    if arch.network is not None:
        parts.append(f"{arch.network_name} = {node_text(arch.network, 0)}\n")
    if arch.hyperparams:
        fields = "".join(
            f"{INDENT}{k}: {format_value(v)},\n" for k, v in arch.hyperparams.items()
        )
        parts.append(f"{arch.hyperparams_name} = hyperparams {{\n{fields}}}\n")
    return "\n".join(parts)
