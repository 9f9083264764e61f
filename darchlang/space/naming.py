"""Stable, readable names for choices: a user's `name:`, a top-level binding, or the path.

The path is the route from the root binding through the space tree, for example
`space/1/repeat_tied/body/or1/residual/body/0/conv2d/filters`. It depends only on the
program's structure, so names survive re-runs and match across machines.

Naming is a pure function of the roots: it returns a `Naming` and changes no node, so
two spaces built over shared nodes (the REPL's `:sample other`) each keep their own
names and never rename each other's.
"""

from __future__ import annotations

from dataclasses import dataclass

from darchlang.errors import DarchError, Span
from darchlang.space.nodes import Choice, Const, GraphNode, SNode


@dataclass(frozen=True, slots=True, eq=False)
class NamedChoice:
    """A choice as one space names it: what searchers and callbacks see."""

    node: Choice
    name: str
    given: bool = False  # named by the user or after a binding, not by its path

    @property
    def uid(self) -> int:
        return self.node.uid

    @property
    def options(self) -> tuple[SNode, ...]:
        return self.node.options

    @property
    def span(self) -> Span | None:
        return self.node.span

    @property
    def weights(self) -> tuple[float, ...] | None:
        return self.node.weights


@dataclass(frozen=True, slots=True)
class Naming:
    """Every choice of a space in visiting order with its name, and the path of every
    structural node (layers, repeats, residuals, graphs) by node id."""

    choices: tuple[NamedChoice, ...]
    paths: dict[int, str]


def name_choices(roots: list[tuple[str, SNode]]) -> Naming:
    """Name every choice (first visit wins); the nodes are left untouched."""
    order: list[NamedChoice] = []
    paths: dict[int, str] = {}
    seen: set[int] = set()
    labelled: dict[int, str] = {}  # choices named after a binding inside a graph block
    owners: dict[str, Choice] = {}
    named: set[int] = set()
    stack: list[tuple[str, SNode]] = list(reversed(roots))
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        own = node.segment
        if own:
            path = f"{path}/{own}"
            paths[id(node)] = path
            if type(node) is GraphNode:
                for label, choice in node.labels:
                    if id(choice) not in seen and choice.bound_name is None:
                        labelled.setdefault(choice.uid, f"{path}/{label}")
        if type(node) is Choice and node.uid in named:
            pass  # a twin made by a later call of a `tied` function: named already
        elif type(node) is Choice:
            named.add(node.uid)
            given = node.user_named or node.bound_name or labelled.get(node.uid)
            name = node.name if node.user_named else given or path
            other = owners.get(name)
            if other is not None and other is not node:
                raise DarchError(
                    f"two different choices are named `{name}`",
                    node.span,
                    help="a function called twice builds fresh choices; to share one choice, "
                    "bind it outside the function and pass it in",
                    notes=[f"the other one is at {other.span.where}"] if other.span else [],
                )
            owners[name] = node
            order.append(NamedChoice(node, name, bool(given)))
        # a constant has no name, no path and no children: not worth a path string
        stack.extend((f"{path}/{seg}", kid) for seg, kid in reversed(node.children())
                     if type(kid) is not Const)
    return Naming(tuple(order), paths)
