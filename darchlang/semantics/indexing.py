"""Reading parts of values: a record's field (`r.k`), a list's item (`xs[i]`), `len(xs)`.

An index that depends on choices makes a dependent value, like arithmetic on choices.
When the items are layers or graph values, it is an `if` chain over the values the
index can take (`if i == 0 then xs[0] else if i == 1 ...`), so it selects a sub-space
or an input exactly as a written chain does, and counts the same. Every index the
choices allow is checked when the program is read (`feasible`): one out of range is an error at
the bracket before anything is sampled, every index the `if`s around it allow
(`if i < 3 then xs[i] else ...` reads only items 0 to 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from darchlang.arch.graph import Ref
from darchlang.errors import DarchError, Span, did_you_mean
from darchlang.semantics import feasible
from darchlang.semantics.arithmetic import OPERATORS
from darchlang.semantics.values import Call, bind
from darchlang.space.nodes import Cond, Fail, SNode
from darchlang.syntax import ast
from darchlang.text import describe, plural

if TYPE_CHECKING:
    from darchlang.semantics.interpreter import Interpreter


def field(record: dict, node: ast.Attribute) -> Any:
    """`r.k`: the value of field `k` (a record holds each field as (value, span))."""
    try:
        return record[node.name][0]
    except KeyError:
        names = ", ".join(f"`{k}`" for k in record) or "none"
        raise DarchError(f"this record has no field `{node.name}` (its fields: {names})",
                         node.dot_span or node.name_span,
                         help=did_you_mean(node.name, record)
                         or "`.` reads a field the record was written with") from None


class Pick:
    """`xs[i]` computed when a walk has picked the choices (a `Derived` node's function):
    a class, not a closure, so spaces that hold it still pickle."""

    __slots__ = ("bracket", "index")

    def __init__(self, bracket: Span | None, index: Span | None):
        self.bracket, self.index = bracket, index

    def __call__(self, xs: Any, i: Any) -> Any:
        if not isinstance(xs, list | str):
            raise DarchError(f"{describe(xs)} cannot be indexed", self.bracket,
                             help="`[i]` takes an item of a list or a character of a string")
        check_index(i, len(xs), self.bracket, self.index, "")
        return xs[i]


def check_index(i: Any, n: int, bracket: Span | None, index: Span | None, can: str) -> None:
    """An error unless `i` is an integer index into `n` items (`can`: "can be " when the
    index is one of several values a choice allows)."""
    if isinstance(i, bool) or not isinstance(i, int):
        raise DarchError(f"an index must be an integer; this one {can or 'is '}{describe(i)}",
                         index, help="index with a whole number, as `xs[0]` or `xs[-1]`")
    if not -n <= i < n:
        where = f"from 0 to {n - 1} (or -{n} to -1 from the end)" if n else "none: it is empty"
        raise DarchError(f"index {i} is out of range for a list of {plural(n, 'item')}"
                         + (" (a value its choices allow)" if can else ""),
                         bracket, help=f"the indices of this list are {where}")


def item(interp: Interpreter, xs: Any, i: Any, node: ast.Index) -> Any:
    """`xs[i]` for evaluated `xs` and `i`."""
    from darchlang.semantics.builtins import possible_values
    from darchlang.semantics.interpreter import is_space

    bracket, at = node.bracket_span, node.index.span
    if isinstance(xs, dict):
        raise DarchError("a record is not indexed", bracket,
                         help=f"read a field with `.`, as `r.{next(iter(xs), 'k')}`")
    if is_space(xs):
        raise DarchError("a layer cannot be indexed", bracket,
                         help="`[i]` takes an item of a list; `f [..]`, with a space, calls f")
    if isinstance(xs, SNode):  # a list a choice decides
        return interp.apply(Pick(bracket, at), [xs, i], "[]", node.span, (node.value.span, at))
    if not isinstance(xs, list | str):
        raise DarchError(f"{describe(xs)} cannot be indexed", bracket,
                         help="`[i]` takes an item of a list or a character of a string")
    if not isinstance(i, SNode):
        check_index(i, len(xs), bracket, at, "")
        return xs[i]
    if is_space(i):
        raise DarchError("an index cannot be a layer", at)
    allowed = feasible.values(interp, i, lambda v: check_index(v, len(xs), bracket, at, ""),
                              at, "the index")
    if allowed is None:  # too many combinations to try: every value of its parts, a superset
        try:
            allowed = list(possible_values(i, interp.limits.combinations))
        except ValueError:
            allowed = None
        for v in allowed or ():
            check_index(v, len(xs), bracket, at, "can be ")
    if allowed is not None:
        allowed.sort(key=repr)
    picks_parts = any(isinstance(x, Ref) or (isinstance(x, SNode) and is_space(x))
                      or (isinstance(x, list) and any(isinstance(y, Ref) for y in x)) for x in xs)
    if not picks_parts:
        return interp.apply(Pick(bracket, at), [xs, i], "[]", node.span, (node.value.span, at))
    if not allowed:
        raise DarchError("cannot tell which items this index can pick", at,
                         help="index layers or graph values with a choice of integers, "
                         "as `xs[one_of(0, 1)]`")
    return _chain(interp, xs, i, allowed, node)


def _chain(interp: Interpreter, xs: list, i: SNode, allowed: list[int], node: ast.Index) -> SNode:
    """`if i == a then xs[a] else if i == b then xs[b] ... else xs[z]` over `allowed`."""
    from darchlang.semantics.interpreter import is_space

    nodes = [interp.to_node(xs[v], node.span, "a list item") for v in allowed]
    kinds = {is_space(n) for n in nodes if type(n) is not Fail}
    if len(kinds) > 1:
        raise DarchError("the items this index can pick must all be layers, or all values",
                         node.span)
    out = nodes[-1]
    for v, picked in zip(reversed(allowed[:-1]), reversed(nodes[:-1]), strict=True):
        test = interp.apply(OPERATORS["=="], [i, v], "==", node.span, (node.index.span,) * 2)
        interp.made(node.span)
        out = Cond(test, picked, out, node.span)
    return out


def length(call: Call) -> Any:
    """`len(xs)`: the items of a list (a dependent value when a choice decides the list)."""
    from darchlang.semantics.interpreter import is_space

    arg = bind(call, ("xs",), 1)["xs"]
    v = arg.value
    if isinstance(v, list | str):
        return len(v)
    if isinstance(v, SNode) and not is_space(v):
        return call.interp.apply(_length, [v], "len", call.span, (arg.span,))
    raise DarchError(f"`len` needs a list or a string, got {describe(v)}", arg.span,
                     help="a record's fields are read by name, as `r.k`"
                     if isinstance(v, dict) else None)


def _length(xs: Any) -> int:
    if not isinstance(xs, list | str):
        raise TypeError(f"expected a list or a string, got {describe(xs)}")
    return len(xs)

