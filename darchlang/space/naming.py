"""Stable, readable names for choices: a user's `name:`, a top-level binding, or the path.

The path is the route from the root binding through the space tree, for example
`space/1/repeat_tied/body/or1/residual/body/0/conv2d/filters`. It depends only on the
program's structure, so names survive re-runs and match across machines.

A top-level binding names the choices it holds when the program is loaded
(`name_binding`): that is where a user looks for them, and it does not move when an
unrelated edit reorders the places that use the binding, as a path through the first
use would.

Naming is a pure function of the roots: it returns a `Naming` and changes no node, so
two spaces built over shared nodes (the REPL's `:sample other`) each keep their own
names and never rename each other's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from darchlang.arch.graph import CallSite
from darchlang.errors import DarchError, Related, Span, raise_all
from darchlang.space.nodes import (
    Choice,
    Const,
    GraphNode,
    LayerNode,
    RecordNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
)

# nodes that make a value a sub-space of layers: its choices keep their paths
_LAYERS = (LayerNode, SeqNode, ResidualNode, RepeatNode, GraphNode, RecordNode)


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


def name_binding(name: str, value: Any, walked: set[int]) -> None:
    """Name the choices that the top-level binding `name = value` holds after it.

    A choice bound itself is `name`; a record's field `k` is `name/k` and a list's item
    i `name/i` (so `n0 = { in1: one_of(...) }` gives `n0/in1`); a value derived from
    choices (`100 * one_of(...) + one_of(...)`) names them `name/0`, `name/1`, ... in
    the order they are written. A choice keeps a name it has (given with `name:`, or by
    an earlier binding); a value that holds layers leaves its choices to their paths.
    `walked` holds the ids of the nodes that the program's earlier bindings named
    through (filled here): a binding derived from the one before it (`x2 = x1 + ...`)
    looks only at what it adds.
    """
    if type(value) is Choice:
        if not value.user_named and value.bound_name is None:
            value.bound_name = name
    elif isinstance(value, dict):  # a record: each field's value with its span
        for key, (field, _) in value.items():
            name_binding(f"{name}/{key}", field, walked)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            name_binding(f"{name}/{i}", item, walked)
    elif isinstance(value, SNode):
        for i, choice in enumerate(_unnamed_choices(value, walked)):
            choice.bound_name = f"{name}/{i}"


def _unnamed_choices(value: SNode, walked: set[int]) -> list[Choice]:
    """The choices in `value` that have no name yet, in written order (the order of
    `children()`, depth first), skipping the nodes in `walked`; none when `value`
    holds layers. The nodes looked at join `walked` unless it does."""
    out: list[Choice] = []
    seen: set[int] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, _LAYERS):
            return []
        if id(node) in seen or id(node) in walked or not node.vars:
            continue
        seen.add(id(node))
        if type(node) is Choice and not node.user_named and node.bound_name is None:
            out.append(node)
        stack.extend(kid for _, kid in reversed(node.children()))
    walked |= seen
    return out


def name_choices(roots: list[tuple[str, SNode]]) -> Naming:
    """Name every choice (first visit wins); the nodes are left untouched. Two different
    choices of one name are errors, all of them reported."""
    order: list[NamedChoice] = []
    paths: dict[int, str] = {}
    seen: set[int] = set()
    labelled: dict[int, str] = {}  # choices named after a binding inside a graph block
    owners: dict[str, tuple[Choice, str]] = {}  # each name's choice and its path
    errors: list[DarchError] = []
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
            first = owners.setdefault(name, (node, path))
            if first[0] is not node:
                errors.append(_named_twice(name, first, (node, path)))
            order.append(NamedChoice(node, name, bool(given)))
        # a constant has no name, no path and no children: not worth a path string
        stack.extend((f"{path}/{seg}", kid) for seg, kid in reversed(node.children())
                     if type(kid) is not Const)
    raise_all(errors)
    return Naming(tuple(order), paths)


def _named_twice(name: str, first: tuple[Choice, str], second: tuple[Choice, str]) -> DarchError:
    """The error for a second choice named `name`, pointing at the first one: where it
    is written, or, when both are written at one place, the two calls that made them."""
    (one, one_path), (two, two_path) = first, second
    err = DarchError(f"two different choices are named `{name}`", two.span)
    if one.span is not None and one.span != two.span:
        err.related.append(Related(one.span, "the other one is written here"))
        err.help = (f"give one of them another name; to make them one choice, bind it once "
                    f"(`{name} = one_of(...)`) and use `{name}` at both places")
        return err
    calls = _calls_apart(one.trace, two.trace)
    if calls:
        made_by = ("the other one is made by this call", "this one by this call")
        err.related.extend(Related(site.span, f"{text} of `{site.function}`")
                           for site, text in zip(calls, made_by, strict=True) if site is not None)
        fn = (two.trace or one.trace)[-1].function
        err.help = (f"each call of `{fn}` makes its own choices; to share them across its "
                    f"calls, call it through `tied({fn})`, or bind the choice outside `{fn}` "
                    "and pass it in")
        return err
    err.notes.append(f"both are made here: the other one is `{one_path}`, this one `{two_path}`")
    err.help = ("each copy of a `repeat` has its own choices; `repeat_tied` shares them, or bind "
                "the choice outside and pass it in")
    return err


def _calls_apart(one: tuple[CallSite, ...], two: tuple[CallSite, ...]
                 ) -> tuple[CallSite | None, CallSite | None] | None:
    """The first calls at which two call chains part (None where one chain ends there),
    or None when the chains are the same."""
    for i in range(max(len(one), len(two))):
        a = one[i] if i < len(one) else None
        b = two[i] if i < len(two) else None
        if a is None or b is None or a.span != b.span:
            return a, b
    return None
