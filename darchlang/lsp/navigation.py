"""Go to definition, find references, document symbols.

A name the file does not define is looked for where the loader would find it: the
files it imports (in order, and what those import), then the prelude. Imported files
are read from disk and parsed once per modification time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from darchlang.errors import DarchError, Span
from darchlang.lsp.index import (
    ARGUMENT,
    DEF,
    IMPORTED,
    PARAM,
    Definition,
    Index,
    Keyword,
    Use,
    build_index,
)
from darchlang.semantics.program import Loader, read_source, stdlib_dir
from darchlang.syntax import ast
from darchlang.syntax.parser import parse


@dataclass
class Library:
    """A file the document's names may come from: its path and index."""

    path: str
    tree: ast.Program
    index: Index


_LIBRARIES: dict[str, tuple[int, Library | None]] = {}


def library(path: str) -> Library | None:
    """The parsed and indexed file at `path` (None when it cannot be read or parsed)."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        return None
    cached = _LIBRARIES.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        tree = parse(read_source(path), path)
        found: Library | None = Library(path, tree, build_index(tree))
    except (DarchError, RecursionError):
        found = None
    _LIBRARIES[path] = (stamp, found)
    return found


def import_path(loader: Loader, st: ast.Import, importer: str) -> Path | None:
    """The file an import names, as the loader resolves it (None when it is missing)."""
    try:
        return loader.resolve(st, importer)
    except DarchError:
        return None


def prelude_paths() -> list[Path]:
    return sorted(stdlib_dir().glob("prelude*.darch"))


def definition_elsewhere(name: str, index: Index, importer: str, loader: Loader) -> Span | None:
    """Where an imported or prelude name is defined (None for a Python builtin)."""
    if name.startswith("_"):
        return None
    found = _in_imports(name, index, importer, loader, set())
    if found is not None:
        return found
    for path in prelude_paths():
        lib = library(str(path))
        definition = lib.index.global_named(name) if lib is not None else None
        if definition is not None:
            return definition.span
    return None


def _in_imports(name: str, index: Index, importer: str, loader: Loader, seen: set[str]
                ) -> Span | None:
    """The definition of `name` in the files whose imports bring it unqualified."""
    for st in index.imports:
        if st.alias is not None or (st.names is not None and name not in st.names):
            continue
        found = _in_file(name, st, importer, loader, seen)
        if found is not None:
            return found
    return None


def _in_file(name: str, st: ast.Import, importer: str, loader: Loader, seen: set[str]
             ) -> Span | None:
    """The definition of `name` in the file `st` imports, or in what that file imports."""
    path = import_path(loader, st, importer)
    if path is None or str(path) in seen:
        return None
    seen.add(str(path))
    lib = library(str(path))
    if lib is None:
        return None
    definition = lib.index.global_named(name)
    if definition is not None:
        return definition.span
    return _in_imports(name, lib.index, lib.path, loader, seen)


def _imported(item: Use | Definition, index: Index, importer: str, loader: Loader
              ) -> Span | None:
    """Where a name an import brings is defined: a namespace's file, a member of it,
    or a name listed in `from "f" import ...`."""
    for st in index.imports:
        if isinstance(item, Use) and item.namespace is not None:
            if st.alias == item.namespace:
                return _in_file(item.name, st, importer, loader, set())
        elif st.alias == item.name:
            path = import_path(loader, st, importer)
            lib = library(str(path)) if path is not None else None
            if lib is not None and lib.tree.span is not None:
                source = lib.tree.span.source
                return Span(source, 1, 1, 1, 1)
        elif st.names is not None and item.name in st.names:
            return _in_file(item.name, st, importer, loader, set())
    return None


def definition_of(item: Definition | Use | Keyword, index: Index, importer: str,
                  loader: Loader) -> Span | None:
    """Where the thing under the cursor is defined."""
    if isinstance(item, Definition):
        return _imported(item, index, importer, loader) if item.kind == IMPORTED else item.span
    if isinstance(item, Use):
        if item.namespace is not None or (item.target is not None and item.target.kind == IMPORTED):
            return _imported(item, index, importer, loader)
        if item.target is not None:
            return item.target.span
        return definition_elsewhere(item.name, index, importer, loader)
    if item.callee is None:
        return None
    local = index.global_named(item.callee)
    if local is None or local.kind != DEF:
        return None
    for child in local.children:
        if child.name == item.name:
            return child.span
    return None


def import_at(index: Index, line: int, col: int) -> ast.Import | None:
    """The import statement under the cursor, if any."""
    for st in index.imports:
        span = st.span
        if span is not None and (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col):
            return st
    return None


def references_of(item: Definition | Use | Keyword, index: Index, include_declaration: bool
                  ) -> list[Span]:
    """Every use of the definition the cursor is on (or refers to), in this file."""
    target = item if isinstance(item, Definition) else getattr(item, "target", None)
    if target is None:
        if isinstance(item, Use):  # an imported or builtin name: its uses in this file
            return [u.span for u in index.uses if u.name == item.name and u.target is None]
        return []
    spans = [u.span for u in index.references(target)]
    return [target.span, *spans] if include_declaration else spans


_KINDS = {DEF: types.SymbolKind.Function, PARAM: types.SymbolKind.Constant,
          ARGUMENT: types.SymbolKind.Variable}


def symbols(index: Index, range_of) -> list[types.DocumentSymbol]:
    """The file's `def`s (with their parameters), bindings and `param`s."""
    out = []
    for d in index.top_level():
        if d.kind == IMPORTED:
            continue
        whole = getattr(d.statement, "span", None) or d.span
        children = [types.DocumentSymbol(c.name, _KINDS[ARGUMENT], range_of(c.span),
                                         range_of(c.span), detail="parameter")
                    for c in d.children]
        out.append(types.DocumentSymbol(
            d.name, _KINDS.get(d.kind, types.SymbolKind.Variable), range_of(whole),
            range_of(d.span), detail=d.kind, children=children or None))
    return out
