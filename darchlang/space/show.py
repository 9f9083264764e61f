"""The space as a readable tree: each choice with its name and options, each subtree
with the number of architectures under it (`darch show`)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from darchlang.errors import DarchError
from darchlang.space.naming import NamedChoice
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    Fail,
    GraphNode,
    InitNode,
    LayerNode,
    ListNode,
    RecordNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
    each_once,
)
from darchlang.space.space import Space
from darchlang.space.visitor import Visitor
from darchlang.text import format_value


def _quoted(name: str) -> str:
    """A choice's name inside an expression: in backticks when it is a path
    (`g/0`), which would otherwise read as a division (`10 * g/0 + g/1`)."""
    return name if name.isidentifier() else f"`{name}`"


class _Describe(Visitor):
    """Short text for value nodes (see `describe_value`), one `line` at a time. A part
    a line reads more than once is written once, as a `let` binding, and by its name
    where it is used; its name holds for the later lines too (`darch show` writes a
    width threaded through every stage once, not once more per stage)."""

    def __init__(self, names: Mapping[int, NamedChoice] | None, taken: set[str] = frozenset()):
        self.names = names
        self.taken = set(taken)  # names the text uses already
        self.shared: set[int] = set()
        self.bindings: list[str] = []
        self.bound: dict[int, str] = {}
        self.earlier: set[int] = set()  # parts written out in full on an earlier line
        self.written: set[int] = set()  # ... and on this one
        self.restating = False  # writing out again a part of an earlier line

    def line(self, node: SNode) -> str:
        """The text of one value, with the bindings it adds in front. A part written out
        on an earlier line is bound (and so named for the lines after) where another
        line reads it: a width threaded through every stage, each from the one before
        through a library's call, reads the earlier stage once, not all stages."""
        if id(node) in self.bound:
            return self.bound[id(node)]
        self.shared, taken = _shared_parts(node, self.names, self.bound)
        self.taken |= taken
        self.bindings = []
        self.written = {id(node)}
        text = self.visit(node)
        self.earlier |= self.written
        return f"let {'  '.join(self.bindings)} in {text}" if self.bindings else text

    def part(self, node: SNode) -> str:
        """The text of a part: its name when it is shared (bound at its first use, after
        the shared parts inside it, so that each binding reads only earlier ones). An
        `if` inside another expression is in brackets, as darchlang reads it."""
        name = self.bound.get(id(node))
        if name is not None:
            return name
        again = id(node) in self.earlier and not self.restating and _inside(node, self.names)
        if id(node) not in self.shared and not again:
            self.written.add(id(node))
            bare = type(node) is not Cond or node.made_by is not None
            return self.visit(node) if bare else f"({self.visit(node)})"
        if again:  # its parts as its earlier line wrote them, but for what that line bound
            self.restating = True
            try:
                text = self.visit(node)
            finally:
                self.restating = False
        else:
            text = self.visit(node)
        name = next(n for k in itertools.count(len(self.bound) + 1)
                    if (n := f"v{k}") not in self.taken)
        self.taken.add(name)
        self.bound[id(node)] = name
        self.bindings.append(f"{name} = {text}")
        return name

    def visit_SNode(self, node: SNode) -> str:
        return type(node).__name__

    def visit_Const(self, node: Const) -> str:
        if isinstance(node.value, list) and node.value and hasattr(node.value[0], "graph"):
            return "(" + ", ".join(r.name for r in node.value) + ")"
        return format_value(node.value)

    def visit_Choice(self, node: Choice) -> str:
        name = _choice_name(node, self.names)
        if name is not None:
            return _quoted(name)
        opts = ", ".join(self.part(o) for o in node.options)
        return f"one_of({opts}{weights_text(node, ', ')})"

    def made_by(self, node: Derived | Cond) -> str:
        """`make_divisible((16 * width), 8)`: the call of the function that made it."""
        name, args = node.made_by  # type: ignore[misc]
        return f"{name}({', '.join(self.argument(k, v) for k, v in args)})"

    def argument(self, keyword: str | None, value: Any) -> str:
        if isinstance(value, SNode):
            text = "..." if _is_layers(value) else self.part(value)
            if type(value) is Derived and value.made_by is None and text.startswith("(") \
                    and len(value.args) == 2 and not value.label.isidentifier():
                text = text[1:-1]  # an operation's own brackets: `f(16 * width)`
        else:
            try:
                text = format_value(value)
            except (TypeError, ValueError):
                text = "..."
        return text if keyword is None else f"{keyword}: {text}"

    def visit_Derived(self, node: Derived) -> str:
        if node.made_by is not None:
            return self.made_by(node)
        args = [self.part(a) for a in node.args]
        if node.label == "[]":
            return f"{args[0]}[{args[1]}]"
        if len(args) == 2 and not node.label.isidentifier():
            return f"({args[0]} {node.label} {args[1]})"
        if node.label in ("not", "-"):
            return f"{node.label} {args[0]}" if node.label == "not" else f"-{args[0]}"
        return f"{node.label}({', '.join(args)})"

    def visit_Cond(self, node: Cond) -> str:
        if node.made_by is not None:
            return self.made_by(node)
        return (f"if {self.part(node.pred)} then {self.part(node.then)} "
                f"else {self.part(node.orelse)}")

    def visit_InitNode(self, node: InitNode) -> str:
        return f"{node.kind}({self.part(node.gain)})"

    def visit_ListNode(self, node: ListNode) -> str:
        return "[" + ", ".join(self.part(i) for i in node.items) + "]"

    def visit_LayerNode(self, node: LayerNode) -> str:
        return f"{node.layer.name}(...)"

    def visit_Fail(self, node: Fail) -> str:
        return f"fail({self.part(node.message)})"


def _choice_name(node: Choice, names: Mapping[int, NamedChoice] | None) -> str | None:
    """The name a choice reads by inside an expression, or None to spell its options."""
    named = names.get(node.uid) if names else None
    if named is not None and named.given:
        return named.name
    if node.user_named or node.bound_name:
        return node.name if node.user_named else node.bound_name
    return None


def _inside(node: SNode, names: Mapping[int, NamedChoice] | None) -> tuple[SNode, ...]:
    """The parts `_Describe` writes out inside `node`'s text."""
    t = type(node)
    if t is Choice:
        return () if _choice_name(node, names) is not None else node.options
    if t in (Derived, Cond) and node.made_by is not None:  # written as the call
        return tuple(v for _, v in node.made_by[1] if isinstance(v, SNode) and not _is_layers(v))
    if t in (Derived, Cond, ListNode, InitNode, Fail):
        return node.parts()
    return ()


def _is_layers(node: SNode) -> bool:
    return type(node) in (LayerNode, SeqNode, ResidualNode, RepeatNode, GraphNode)


def _shared_parts(node: SNode, names: Mapping[int, NamedChoice] | None,
                  bound: Mapping[int, str]) -> tuple[set[int], set[str]]:
    """The ids of the parts that the text of `node` uses more than once, and the names
    of the choices it reads; a part in `bound` is written by its name, not looked into.

    A value threaded through a recursion (`step(n - 1, x + (if x > 3 then 1 else 0))`)
    reads the previous one twice, so written out as a tree its text doubles with every
    step; written with each shared part once, it grows by a line's worth. A shared part
    is what an expression reads twice, so naming it also tells that both uses are one
    value (one decision, for a choice)."""
    uses: dict[int, int] = {}
    order: list[SNode] = []
    taken: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        seen = uses.get(id(n), 0)
        uses[id(n)] = seen + 1
        if seen:
            continue
        order.append(n)
        if id(n) in bound:
            continue
        if type(n) is Choice:
            name = _choice_name(n, names)
            if name is not None:
                taken.add(name)
        stack.extend(_inside(n, names))
    return {id(n) for n in order
            if uses[id(n)] > 1 and id(n) not in bound and _inside(n, names)}, taken


def describe_value(node: SNode, names: Mapping[int, NamedChoice] | None = None) -> str:
    """Short text for a value node: a constant, a choice's options, a derived formula.
    A choice named by the user or a binding reads by its name (as `names` names it).
    A part used more than once is written once, in a `let` before the formula
    (`let v1 = one_of(1, 2) in (v1 * v1)`), so the text stays as small as the value."""
    return _Describe(names).line(node)


def weights_text(choice: Choice, sep: str = "  ") -> str:
    """`weights: [0.5, 0.3, 0.2]` (normalised) for a weighted choice, else nothing."""
    if choice.weights is None:
        return ""
    return f"{sep}weights: [{', '.join(f'{w:.3g}' for w in choice.weights)}]"


def _top_level_choices(node: SNode) -> set[int]:
    """The uids of the choices in `node` outside the options of another choice (each
    part looked at once: a value may read the same part many times)."""
    parts = each_once(node, lambda n: () if type(n) is Choice else n.parts())
    return {n.uid for n in parts if type(n) is Choice}


# `show` counts every node: one line's count may take this many conditionings, and the
# whole tree's lines together SHOW_COUNT_STEPS. A part that cannot be counted cheaply on
# its own (a cell whose choices are bound outside it) is shown as `[?]`, so that the
# tree prints about as fast as `darch count` (NASNet: 72 s of CPU with a budget per line).
SUBTREE_COUNT_STEPS = 100
SHOW_COUNT_STEPS = 2_000


class _Tree(Visitor):
    """Draws each sub-space node as a line and its children below it."""

    def __init__(self, space: Space, show_counts: bool):
        self.space = space
        self.counts = show_counts
        self.lines: list[str] = []
        self.named: set[int] = set()
        self.uncounted = False  # some part could not be counted on its own
        self.budget = SHOW_COUNT_STEPS  # conditionings left for the lines' counts
        # one describer for every line, so a part bound on one line keeps its name on
        # the next; its names avoid those of the space's choices
        taken = {c.name for c in space.by_uid.values()}
        self.words = _Describe(space.by_uid, taken | {
            c.node.bound_name for c in space.by_uid.values() if c.node.bound_name})

    def describe(self, node: SNode) -> str:
        return self.words.line(node)

    def size(self, node: SNode) -> str:
        if not self.counts or not node.vars:
            return ""
        n, used = self.space.try_count_node(node, min(SUBTREE_COUNT_STEPS, self.budget))
        self.budget -= used
        if n is None:
            self.uncounted = True
            return "  [?]"
        return f"  [{n:,}]"

    def add(self, prefix: str, last: bool, text: str) -> str:
        self.lines.append(prefix + ("└─ " if last else "├─ ") + text)
        return prefix + ("   " if last else "│  ")

    def choice_label(self, c: Choice) -> str:
        if c.uid in self.named:
            return f"`{self.space.by_uid[c.uid].name}` (shared, decided above)"
        self.named.add(c.uid)
        where = f"  {c.span.where.rsplit('/', 1)[-1]}" if c.span else ""
        return f"`{self.space.by_uid[c.uid].name}`{where}"

    def value(self, prefix: str, last: bool, label: str, node: SNode) -> None:
        """A value node: a choice with its options, or a formula and the choices in it."""
        if type(node) is Choice and all(type(o) is Const for o in node.options):
            fresh = node.uid not in self.named
            text = f"{label} = {self.describe(node)}  {self.choice_label(node)}"
            if not fresh:
                text = f"{label} = {self.choice_label(node)}"
            self.add(prefix, last, text)
        elif type(node) is Choice:
            inner = self.add(prefix, last, f"{label} = one of {len(node.options)}"
                             f"{weights_text(node)}  {self.choice_label(node)}")
            for i, o in enumerate(node.options):
                self.value(inner, i == len(node.options) - 1, f"option {i}", o)
        else:
            inner = self.add(prefix, last, f"{label} = {self.describe(node)}")
            top = _top_level_choices(node)
            inside = [self.space.by_uid[u].node for u in sorted(top) if u in self.space.by_uid]
            for i, c in enumerate(inside):
                self.value(inner, i == len(inside) - 1, "choice", c)

    def node(self, prefix: str, last: bool, label: str, node: SNode) -> None:
        """A sub-space node under `label`."""
        self.visit(node, prefix, last, f"{label}: " if label else "")

    def visit_SNode(self, node: SNode, prefix: str, last: bool, head: str) -> None:
        self.add(prefix, last, f"{head}{self.describe(node)}")

    def visit_LayerNode(self, node: LayerNode, prefix: str, last: bool, head: str) -> None:
        quiet = node.layer.quiet_defaults
        fixed = [f"{n}: {self.describe(v)}" for n, v in node.params if not v.vars
                 and not (type(v) is Const and n in quiet and v.value == quiet[n])]
        chosen = [(n, v) for n, v in node.params if v.vars]
        inner = self.add(prefix, last, f"{head}{node.layer.name}({', '.join(fixed)})"
                         f"{self.size(node)}")
        for i, (n, v) in enumerate(chosen):
            self.value(inner, i == len(chosen) - 1, n, v)

    def visit_SeqNode(self, node: SeqNode, prefix: str, last: bool, head: str) -> None:
        inner = self.add(prefix, last, f"{head}concat{self.size(node)}")
        for i, item in enumerate(node.items):
            self.node(inner, i == len(node.items) - 1, str(i), item)

    def visit_ResidualNode(self, node: ResidualNode, prefix: str, last: bool, head: str) -> None:
        join = self.describe(node.join)
        inner = self.add(prefix, last, f"{head}residual(join: {join}){self.size(node)}")
        self.node(inner, True, "body", node.body)

    def visit_RepeatNode(self, node: RepeatNode, prefix: str, last: bool, head: str) -> None:
        inner = self.add(prefix, last, f"{head}{node.segment}{self.size(node)}")
        self.value(inner, False, "times", node.times)
        if node.tied:
            self.node(inner, True, "body", node.copies[0])
        else:
            for i, c in enumerate(node.copies):
                self.node(inner, i == len(node.copies) - 1, f"copy {i}", c)

    def visit_Choice(self, node: Choice, prefix: str, last: bool, head: str) -> None:
        inner = self.add(prefix, last, f"{head}one of {len(node.options)}"
                         f"{weights_text(node)}  {self.choice_label(node)}{self.size(node)}")
        for i, o in enumerate(node.options):
            self.node(inner, i == len(node.options) - 1, f"option {i}", o)

    def visit_Cond(self, node: Cond, prefix: str, last: bool, head: str) -> None:
        inner = self.add(prefix, last, f"{head}if {self.describe(node.pred)}{self.size(node)}")
        self.node(inner, False, "then", node.then)
        self.node(inner, True, "else", node.orelse)

    def visit_GraphNode(self, node: GraphNode, prefix: str, last: bool, head: str) -> None:
        inner = self.add(prefix, last, f"{head}graph({', '.join(node.inputs)}){self.size(node)}")
        for st in node.steps:
            if st.kind == "apply":
                args = ", ".join(self.describe(a) for a in st.args)
                self.node(inner, False, f"{st.name} = apply to ({args})", st.op)
            else:
                self.add(inner, False, f"{st.name} = {st.kind}("
                         + ", ".join(self.describe(a) for a in st.args) + ")")
            for a in st.args:
                if type(a) is Choice:
                    self.value(inner, False, f"{st.name} input", a)
        self.value(inner, True, "return", node.output)

    def visit_RecordNode(self, node: RecordNode, prefix: str, last: bool, head: str) -> None:
        inner = self.add(prefix, last, f"{head}hyperparams{self.size(node)}")
        for i, (n, v) in enumerate(node.fields):
            self.value(inner, i == len(node.fields) - 1, n, v)


def render_tree(space: Space, counts: bool = True) -> str:
    """The whole space as an indented tree, with sizes when `counts` is set."""
    tree = _Tree(space, counts)
    total, exact = "", True
    if counts:
        try:
            n = space.count()
            total = f"{n:,} architecture{'' if n == 1 else 's'}"
        except DarchError:  # the tree is still worth reading; `darch count` says why
            total, exact = "too entangled to count exactly (`darch count` says why)", False
    k = len(space.choices)
    tree.lines.append(f"{total}, {k} choice{'' if k == 1 else 's'}".lstrip(", "))
    roots: list[tuple[str, Any]] = []
    if space.network is not None:
        roots.append((space.network_name, space.network))
    if space.hyperparams is not None:
        roots.append((space.hyperparams_name, space.hyperparams))
    for i, (name, node) in enumerate(roots):
        tree.node("", i == len(roots) - 1, name, node)
    if tree.uncounted:
        tree.lines.append("[?]: a part whose choices are shared with the rest of the space, "
                          "too entangled to count on its own"
                          + ("; the total above is exact" if exact else ""))
    return "\n".join(tree.lines)
