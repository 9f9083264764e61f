"""Typed AST nodes with source spans; later phases never see Lark trees.

Spans are left out of equality so that two parses of differently laid-out text
compare equal exactly when they mean the same program (the formatter relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from darchlang.errors import Span


@dataclass(eq=True)
class Node:
    """Base of AST nodes; equality ignores spans (see the module docstring).

    `depth` is the height of the node's subtree (1 for a leaf), set by the parser, which
    refuses programs nested deeper than it allows.
    """

    depth: int = field(default=1, compare=False, repr=False, kw_only=True)


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)  # type: ignore[return-value]


# ---- expressions --------------------------------------------------------------------
@dataclass
class Number(Node):
    value: int | float
    text: str = field(default="", compare=False)
    span: Span | None = _span()


@dataclass
class String(Node):
    value: str
    span: Span | None = _span()


@dataclass
class Bool(Node):
    value: bool
    span: Span | None = _span()


@dataclass
class Name(Node):
    id: str
    span: Span | None = _span()


@dataclass
class ListExpr(Node):
    items: list[Node]
    span: Span | None = _span()


@dataclass
class Field(Node):
    name: str
    value: Node
    span: Span | None = _span()


@dataclass
class Record(Node):
    fields: list[Field]
    span: Span | None = _span()


@dataclass
class Arg(Node):
    """A call argument; `name` is None for a positional one."""

    name: str | None
    value: Node
    span: Span | None = _span()


@dataclass
class Call(Node):
    """`f(a, k: b)`; `style` records the sugar `f [..]` / `f {..}` so it prints back."""

    func: Node
    args: list[Arg]
    style: str = "paren"  # "paren" | "list" | "record"
    span: Span | None = _span()


@dataclass
class Attribute(Node):
    """`ns.name`: a name from a module imported `as ns`, or `r.name`: a record's field."""

    value: Node
    name: str
    span: Span | None = _span()
    name_span: Span | None = _span()
    dot_span: Span | None = _span()


@dataclass
class Index(Node):
    """`xs[i]`: an item of a list. The `[` touches what it indexes; `f [x]`, with a
    space (or more than one item), is the call `f([x])`."""

    value: Node
    index: Node
    span: Span | None = _span()
    bracket_span: Span | None = _span()


@dataclass
class BinOp(Node):
    op: str
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass
class UnaryOp(Node):
    op: str
    operand: Node
    span: Span | None = _span()


@dataclass
class If(Node):
    cond: Node
    then: Node
    orelse: Node
    span: Span | None = _span()


@dataclass
class LetBinding(Node):
    name: str
    value: Node
    span: Span | None = _span()


@dataclass
class Let(Node):
    bindings: list[LetBinding]
    body: Node
    span: Span | None = _span()


@dataclass
class Graph(Node):
    """`graph(x) { a = f(x)  b = add(a, x)  return b }`: a block with named values."""

    inputs: list[str]
    bindings: list[LetBinding]
    output: Node
    span: Span | None = _span()


# ---- statements ---------------------------------------------------------------------
@dataclass
class Import(Node):
    """`import "p"` (every public name), `import "p" as ns` (`alias`: the names under
    `ns.`), or `from "p" import a, b` (`names`: those names only)."""

    path: str
    span: Span | None = _span()
    alias: str | None = None
    names: list[str] | None = None
    name_spans: list[Span] = field(default_factory=list, compare=False, repr=False)


@dataclass
class ParamDecl(Node):
    """A program parameter (`param num_classes = 10`), overridable from outside."""

    name: str
    value: Node
    span: Span | None = _span()


@dataclass
class FuncParam(Node):
    name: str
    default: Node | None = None
    span: Span | None = _span()


@dataclass
class Def(Node):
    name: str
    params: list[FuncParam]
    body: Node
    span: Span | None = _span()
    name_span: Span | None = _span()


@dataclass
class Bind(Node):
    name: str
    value: Node
    span: Span | None = _span()
    name_span: Span | None = _span()


@dataclass
class Comment:
    line: int
    col: int
    text: str


@dataclass
class Program(Node):
    statements: list[Node]
    comments: list[Comment] = field(default_factory=list, compare=False, repr=False)
    span: Span | None = _span()
