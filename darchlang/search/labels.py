"""Labels: a short, readable name for every option of every choice.

Reports read a journal without the program that wrote it, so a journal stores one
label per option when its search starts; `darch report` then says which option of
each choice did best in the words the user wrote (`conv2d`, `concat [conv2d, relu]`).
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
    from darchlang.space.show import describe_value

    t = type(node)
    if t is LayerNode:
        return node.layer.name
    if t is SeqNode:
        if depth >= 2:
            return "concat [...]"
        items = [_label(i, depth + 1) for i in node.items[:4]]
        more = ", ..." if len(node.items) > 4 else ""
        return f"concat [{', '.join(items)}{more}]"
    if t is ResidualNode:
        return f"residual({_label(node.body, depth + 1)})"
    if t is RepeatNode:
        kind = "repeat_tied" if node.tied else "repeat"
        return f"{kind}({_label(node.copies[0], depth + 1)})"
    text = describe_value(node)
    return text if len(text) <= 40 else text[:39] + "…"
