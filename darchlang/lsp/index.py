"""The names of one parsed file: where each is defined, and what each use refers to.

Scopes follow the language: a file's `def`s, bindings and `param`s are visible
everywhere in it; a function's parameters in its body; `let` bindings in the later
bindings and the body; a graph's inputs and values inside the graph. A use that no
definition of the file matches comes from an import, the prelude or the builtins
(`target` is None), and `navigation` looks it up there.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

from darchlang.errors import Source, Span
from darchlang.lsp.positions import contains
from darchlang.syntax import ast

# What a definition is; `navigation` maps these to LSP symbol kinds. IMPORTED names
# come from `from "f" import a` or `import "f" as ns`; they are defined in that file.
DEF, BINDING, PARAM, ARGUMENT, LOCAL = "def", "binding", "param", "argument", "local"
IMPORTED = "imported"


@dataclass(eq=False)
class Definition:
    """A name introduced by the file: `kind` is one of DEF, BINDING, PARAM (a program
    `param`), ARGUMENT (a function's parameter) or LOCAL (`let` and graph names)."""

    name: str
    kind: str
    span: Span
    statement: ast.Node
    parent: Definition | None = None
    children: list[Definition] = field(default_factory=list)


@dataclass(eq=False)
class Use:
    """A name as an expression; `target` is the file's definition it refers to. For
    `ns.name`, the use of `name` has `namespace` set to `ns`."""

    name: str
    span: Span
    target: Definition | None
    namespace: str | None = None


@dataclass(eq=False)
class Keyword:
    """A keyword argument's name (`filters:` in `conv2d(filters: 32)`), with the name
    of the function called when the callee is a plain name."""

    name: str
    span: Span
    callee: str | None
    call: ast.Call


@dataclass
class Index:
    """Every definition, use and keyword argument of a file, in source order."""

    definitions: list[Definition] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    keywords: list[Keyword] = field(default_factory=list)
    calls: list[ast.Call] = field(default_factory=list)
    imports: list[ast.Import] = field(default_factory=list)

    def top_level(self) -> list[Definition]:
        """The file's statements' names (and the names its imports bring)."""
        return [d for d in self.definitions if d.kind in (DEF, BINDING, PARAM, IMPORTED)]

    def at(self, line: int, col: int) -> Definition | Use | Keyword | None:
        """What the 1-based line and column is on: a use, a definition's name or a
        keyword argument's name."""
        for item in (*self.uses, *self.definitions, *self.keywords):
            if contains(item.span, line, col):
                return item
        return None

    def call_named_at(self, span: Span) -> ast.Call | None:
        """The call whose callee is the plain name at `span`."""
        for call in self.calls:
            if isinstance(call.func, ast.Name) and call.func.span == span:
                return call
        return None

    def references(self, target: Definition) -> list[Use]:
        return [u for u in self.uses if u.target is target]

    def global_named(self, name: str) -> Definition | None:
        """The file's own top-level definition of `name` (not one an import brings)."""
        for d in self.definitions:
            if d.name == name and d.kind in (DEF, BINDING, PARAM):
                return d
        return None


def build_index(program: ast.Program) -> Index:
    """Index a parsed file."""
    return _Indexer(program).index


def lexical_index(source: Source) -> Index:
    """The names of a text that does not parse, as the lexer sees them: each is a use
    with no definition of the file, so hover and go to definition still answer for
    builtins and the names of the last text that built."""
    from pygments.token import Name

    from darchlang.repl.lexer import DarchLexer

    where = _Positions(source)
    index = Index()
    for offset, token, value in DarchLexer().get_tokens_unprocessed(source.text):
        if token in Name and token is not Name.Attribute:
            line = bisect.bisect_right(where.starts, offset)
            col = offset - where.starts[line - 1] + 1
            index.uses.append(Use(value, Span(source, line, col, line, col + len(value)), None))
    return index


_WORD = r"(?<![A-Za-z0-9_]){}(?![A-Za-z0-9_])"


class _Positions:
    """Offsets in a source text and the spans of names found after a point."""

    def __init__(self, source: Source):
        self.source = source
        self.starts = [0] + [m.end() for m in re.finditer("\n", source.text)]

    def offset(self, line: int, col: int) -> int:
        return self.starts[min(line, len(self.starts)) - 1] + col - 1

    def name_after(self, span: Span, name: str) -> Span:
        """The span of the first `name` (as a whole word) at or after the start of
        `span`: the name of a `param`, parameter, `let` binding or keyword argument."""
        start = self.offset(span.line, span.col)
        match = re.compile(_WORD.format(re.escape(name))).search(self.source.text, start)
        if match is None:
            return span
        line = bisect.bisect_right(self.starts, match.start())
        col = match.start() - self.starts[line - 1] + 1
        return Span(self.source, line, col, line, col + len(name))


class _Indexer:
    def __init__(self, program: ast.Program):
        self.index = Index()
        self.where: _Positions | None = None
        if program.span is not None:
            self.where = _Positions(program.span.source)
        names: dict[str, Definition] = {}
        for st in program.statements:
            definition = self.top_definition(st)
            if definition is not None:
                names.setdefault(definition.name, definition)
                self.index.definitions.append(definition)
            if isinstance(st, ast.Import):
                self.index.imports.append(st)
                for name, span in zip([st.alias] if st.alias else st.names or [],
                                      st.name_spans, strict=False):
                    imported = Definition(name, IMPORTED, span, st)
                    names.setdefault(name, imported)
                    self.index.definitions.append(imported)
        for st in program.statements:
            if isinstance(st, ast.Def):
                self.function(st, names, self.index.global_named(st.name))
            elif isinstance(st, ast.Bind | ast.ParamDecl):
                self.expr(st.value, names)

    def name_span(self, node: ast.Node, name: str) -> Span | None:
        span = getattr(node, "span", None)
        if span is None or self.where is None:
            return span
        return self.where.name_after(span, name)

    def top_definition(self, st: ast.Node) -> Definition | None:
        if isinstance(st, ast.Def) and (st.name_span or st.span):
            return Definition(st.name, DEF, st.name_span or st.span, st)
        if isinstance(st, ast.Bind) and (st.name_span or st.span):
            return Definition(st.name, BINDING, st.name_span or st.span, st)
        span = self.name_span(st, st.name) if isinstance(st, ast.ParamDecl) else None
        return Definition(st.name, PARAM, span, st) if span is not None else None

    def local(self, node: ast.Node, name: str, kind: str, parent: Definition | None
              ) -> Definition | None:
        span = self.name_span(node, name)
        if span is None:
            return None
        definition = Definition(name, kind, span, node, parent)
        self.index.definitions.append(definition)
        if parent is not None:
            parent.children.append(definition)
        return definition

    def function(self, st: ast.Def, outer: dict[str, Definition], owner: Definition | None
                 ) -> None:
        inner = dict(outer)
        for p in st.params:
            if p.default is not None:
                self.expr(p.default, outer)
            definition = self.local(p, p.name, ARGUMENT, owner)
            if definition is not None:
                inner[p.name] = definition
        self.expr(st.body, inner)

    def expr(self, node: ast.Node, names: dict[str, Definition]) -> None:
        if isinstance(node, ast.Name):
            if node.span is not None:
                self.index.uses.append(Use(node.id, node.span, names.get(node.id)))
        elif isinstance(node, ast.Let):
            inner = dict(names)
            for b in node.bindings:
                self.expr(b.value, inner)
                definition = self.local(b, b.name, LOCAL, None)
                if definition is not None:
                    inner[b.name] = definition
            self.expr(node.body, inner)
        elif isinstance(node, ast.Graph):
            inner = dict(names)
            if node.span is not None and self.where is not None:
                for name in node.inputs:
                    span = self.where.name_after(node.span, name)
                    definition = Definition(name, LOCAL, span, node)
                    self.index.definitions.append(definition)
                    inner[name] = definition
            for b in node.bindings:
                definition = self.local(b, b.name, LOCAL, None)
                if definition is not None:
                    inner[b.name] = definition
            for child in (*(b.value for b in node.bindings), node.output):
                self.expr(child, inner)
        elif isinstance(node, ast.Attribute):
            self.expr(node.value, names)
            if node.name_span is not None and isinstance(node.value, ast.Name):
                self.index.uses.append(Use(node.name, node.name_span, None, node.value.id))
        elif isinstance(node, ast.Call):
            self.index.calls.append(node)
            callee = node.func.id if isinstance(node.func, ast.Name) else None
            self.expr(node.func, names)
            for arg in node.args:
                if arg.name is not None:
                    span = self.name_span(arg, arg.name)
                    if span is not None:
                        self.index.keywords.append(Keyword(arg.name, span, callee, node))
                self.expr(arg.value, names)
        else:
            for child in _children(node):
                self.expr(child, names)


def _children(node: ast.Node) -> Iterator[ast.Node]:
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, ast.Node))
