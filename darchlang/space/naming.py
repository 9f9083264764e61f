"""Stable, readable names for choices: a user's `name:`, a top-level binding, or the path.

The path is the route from the root binding through the space tree, for example
`space/1/repeat_tied/body/or1/residual/body/0/conv2d/filters`. It depends only on the
program's structure, so names survive re-runs and match across machines.
"""

from __future__ import annotations

from darchlang.errors import DarchError
from darchlang.space.nodes import (
    Choice,
    GraphNode,
    LayerNode,
    RepeatNode,
    ResidualNode,
    SNode,
    children,
    segment,
)


def name_choices(roots: list[tuple[str, SNode]]) -> list[Choice]:
    """Name every choice (first visit wins) and return them in visiting order."""
    order: list[Choice] = []
    seen: set[int] = set()
    owners: dict[str, Choice] = {}
    stack: list[tuple[str, SNode]] = list(reversed(roots))
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        own = segment(node)
        if own:
            path = f"{path}/{own}"
        t = type(node)
        if t is LayerNode or t is RepeatNode or t is ResidualNode or t is GraphNode:
            node.path = path
            for label, choice in getattr(node, "labels", ()):
                if id(choice) not in seen and choice.bound_name is None:
                    choice.bound_name = f"{path}/{label}"
        elif t is Choice:
            if not node.user_named:
                node.name = node.bound_name or path
            other = owners.get(node.name)
            if other is not None and other is not node:
                raise DarchError(
                    f"two different choices are named `{node.name}`",
                    node.span,
                    help="a function called twice builds fresh choices; to share one choice, "
                    "bind it outside the function and pass it in",
                    notes=[f"the other one is at {other.span.where}"] if other.span else [],
                )
            owners[node.name] = node
            order.append(node)
        kids = children(node)
        stack.extend((f"{path}/{seg}", kid) for seg, kid in reversed(kids))
    return order
