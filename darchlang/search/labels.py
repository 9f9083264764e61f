"""Labels: a short, readable name for every option of every choice.

Reports read a journal without the program that wrote it, so a journal stores one
label per option when its search starts; `darch report` then says which option of
each choice did best in the words the user wrote (`conv2d`, `conv2d, relu`).
"""

from __future__ import annotations

from typing import Any

from darchlang.space.nodes import LayerNode, RepeatNode, ResidualNode, SeqNode
from darchlang.space.space import Space


def option_labels(space: Space) -> dict[str, list[str]]:
    """A short label for every option of every choice, in the space's static order.

    Constants print as themselves; a sub-space option reads by its outline
    (`concat [conv2d, relu]`) so reports can say which branch did best.
    """
    return {c.name: [_label(o) for o in c.options] for c in space.choices}


def _label(node: Any, depth: int = 0) -> str:
    """An option as the user would name it: `relu, batch_norm` for a sequence (so both
    orders of a `maybe_swap` read differently), `residual(conv2d, relu)`, `relu |
    batch_norm` for a choice inside the option; deeper levels shorten to `...`."""
    from darchlang.space.nodes import Choice
    from darchlang.space.show import describe_value

    t = type(node)
    if t is LayerNode:
        return node.layer.name
    if depth >= 3 and t in (SeqNode, ResidualNode, RepeatNode, Choice):
        return "..."
    if t is SeqNode:
        items = [_label(i, depth + 1) for i in node.items[:4]]
        more = ", ..." if len(node.items) > 4 else ""
        text = ", ".join(items) + more
        return text if depth == 0 else f"[{text}]"
    if t is ResidualNode:
        return f"residual({_label(node.body, depth)})"
    if t is RepeatNode:
        kind = "repeat_tied" if node.tied else "repeat"
        return f"{kind}({_label(node.copies[0], depth)})"
    if t is Choice and not node.user_named and not node.bound_name:
        return " | ".join(_label(o, depth + 1) for o in node.options[:4]) + (
            " | ..." if len(node.options) > 4 else "")
    text = describe_value(node)
    return text if len(text) <= 40 else text[:39] + "…"
