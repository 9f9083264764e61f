"""Hover: what a name is, in the words the REPL uses for it.

A layer or builtin shows its signature and docs (what `:help NAME` prints); a
function its signature and the comment above its `def`; a binding what it holds and,
for a space, how many architectures it has ("2,025 architectures"); a `one_of` the
name of the choice it makes and its options; a keyword argument its parameter's type,
default and docs.
"""

from __future__ import annotations

from typing import Any

from darchlang.app.complete import parameters
from darchlang.app.describe import brief, help_text
from darchlang.environment import Environment
from darchlang.errors import DarchError, Span
from darchlang.lsp.index import ARGUMENT, LOCAL, Definition, Keyword, Use
from darchlang.lsp.navigation import library
from darchlang.semantics.values import Builtin, Closure
from darchlang.space.nodes import Choice
from darchlang.space.show import describe_value
from darchlang.syntax import ast

_MISSING = object()


def doc_comment(tree: ast.Program, line: int) -> str:
    """The own-line comments directly above `line`, without their `#`."""
    by_line = {c.line: c for c in tree.comments}
    lines: list[str] = []
    row = line - 1
    while row in by_line and by_line[row].col == 1:
        lines.append(by_line[row].text[1:].strip())
        row -= 1
    return "\n".join(reversed(lines))


def _code(text: str) -> str:
    return f"```darch\n{text}\n```"


class Hover:
    """Answers hovers for one document; `names` are the names visible in it (the last
    program that built, or the prelude), `choices` the choices of its space with the
    names the space gave them."""

    def __init__(self, env: Environment, names: dict[str, Any], tree: ast.Program,
                 choices: list[tuple[Choice, str]]):
        self.env = env
        self.names = names
        self.tree = tree
        self.choices = choices

    def text(self, item: Definition | Use | Keyword, call: ast.Call | None) -> str | None:
        if isinstance(item, Keyword):
            return self.keyword(item)
        if isinstance(item, Definition) and item.kind in (ARGUMENT, LOCAL):
            return self.local(item)
        if isinstance(item, Use) and item.target is not None and item.target.kind in (ARGUMENT, LOCAL):
            return self.local(item.target)
        names = self.names
        if isinstance(item, Use) and item.namespace is not None:  # `ns.name`, or `r.field`
            outer = names.get(item.namespace)
            names = ({k: v for k, (v, _) in outer.items()} if isinstance(outer, dict)
                     else getattr(outer, "names", {}))
        value = names.get(item.name, _MISSING)
        if value is _MISSING:
            return None
        if call is not None and item.name == "one_of":
            made = self.choice_at(call.span)
            if made:
                return made
        return self.value(item.name, value)

    def value(self, name: str, value: Any) -> str:
        if isinstance(value, Builtin):
            head, _, rest = help_text(value, self.env).partition("\n")
            return _code(head) + ("\n\n" + "\n".join(r.strip() for r in rest.splitlines())
                                  if rest else "")
        if isinstance(value, Closure):
            out = _code(brief(value, name, self.env).replace("function ", "def ", 1))
            doc = self.function_doc(value)
            return f"{out}\n\n{doc}" if doc else out
        if isinstance(value, Choice):
            named = [(c, n) for c, n in self.choices if c is value]
            return self.choice_text(named or [(value, value.name)])
        try:
            line = brief(value, name, self.env)
        except DarchError as err:
            line = err.message
        return f"`{name}`: {line}"

    def function_doc(self, value: Closure) -> str:
        span = value.defn.span
        if span is None:
            return ""
        tree = self.tree if span.source.name == _tree_name(self.tree) else None
        if tree is None:
            lib = library(span.source.name)
            tree = lib.tree if lib is not None else None
        return doc_comment(tree, span.line) if tree is not None else ""

    def keyword(self, item: Keyword) -> str | None:
        callee = self.names.get(item.callee) if item.callee else None
        for p in parameters(callee, self.env):
            if p.name == item.name:
                return f"`{item.name}` of `{item.callee}`: {p.meta}"
        return None

    def local(self, definition: Definition) -> str:
        if definition.kind == ARGUMENT and definition.parent is not None:
            return f"`{definition.name}`: parameter of `{definition.parent.name}`"
        return f"`{definition.name}`: a local name"

    def choice_at(self, span: Span | None) -> str | None:
        if span is None:
            return None
        key = (span.line, span.col, span.end_line, span.end_col, span.source.name)
        made = [(c, n) for c, n in self.choices if c.span is not None
                and (c.span.line, c.span.col, c.span.end_line, c.span.end_col,
                     c.span.source.name) == key]
        return self.choice_text(made) if made else None

    def choice_text(self, made: list[tuple[Choice, str]]) -> str:
        first, name = made[0]
        options = " | ".join(describe_value(o) for o in first.options)
        head = f"choice `{name}`" if name else "a choice"
        out = f"{head}: {len(first.options)} options: {options}"
        if len(made) > 1:
            others = ", ".join(f"`{n}`" for _, n in made[1:6])
            more = ", ..." if len(made) > 6 else ""
            out += f"\n\nthis `one_of` makes {len(made)} choices, one per call: {others}{more}"
        return out


def _tree_name(tree: ast.Program) -> str | None:
    return tree.span.source.name if tree.span is not None else None
