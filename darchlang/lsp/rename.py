"""Rename: a name the file defines, at its definition and every use, in this file.

What can be renamed is what the file itself defines: a `def`, a binding, a `param`, a
function's parameter (with the keyword arguments that pass it, `block(width: 8)`) and
`let` or graph names. A builtin, a prelude function or an imported name is defined
elsewhere, and renaming it here would only break this file's uses, so it is refused
with the reason, as is a new name that is not a name or that another name of the same
scope already has (the uses of both would merge).
"""

from __future__ import annotations

import re

from darchlang.errors import Span
from darchlang.lsp.index import ARGUMENT, DEF, IMPORTED, Definition, Index, Keyword, Use
from darchlang.syntax.parser import KEYWORDS

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Refused(Exception):
    """Why the thing under the cursor cannot be renamed (or not to that name)."""


def target_of(item: Definition | Use | Keyword, index: Index) -> Definition:
    """The file's definition that renaming `item` renames."""
    if isinstance(item, Keyword):
        owner = index.global_named(item.callee) if item.callee is not None else None
        found = next((c for c in owner.children if c.name == item.name), None) \
            if owner is not None and owner.kind == DEF else None
        if found is None:
            raise Refused(f"`{item.name}` is a parameter of `{item.callee}`, which is not "
                          "defined in this file")
        return found
    target = item if isinstance(item, Definition) else item.target
    if target is None or target.kind == IMPORTED:
        where = "an imported file" if target is not None or (
            isinstance(item, Use) and item.namespace) else "the standard library or an import"
        raise Refused(f"`{item.name}` is defined in {where}, not in this file")
    return target


def spans_of(target: Definition, index: Index) -> list[Span]:
    """The definition's name, its uses, and for a parameter of a `def`, the keyword
    arguments of the calls to that function that pass it by name."""
    spans = [target.span, *(u.span for u in index.references(target))]
    owner = target.parent
    if target.kind == ARGUMENT and owner is not None and owner.kind == DEF:
        spans += [k.span for k in index.keywords
                  if k.callee == owner.name and k.name == target.name
                  and index.global_named(owner.name) is owner]
    return sorted(spans, key=lambda s: (s.line, s.col))


def check_new_name(target: Definition, new: str, index: Index) -> None:
    """Refuse a new name that is not a name, or that the scope already uses."""
    if not _NAME.match(new) or new in KEYWORDS:
        raise Refused(f"`{new}` is not a name: use letters, digits and `_`, not a keyword")
    siblings = [*index.top_level(), *(target.parent.children if target.parent else [])]
    clash = next((d for d in siblings if d.name == new and d is not target), None)
    if clash is not None:
        raise Refused(f"`{new}` is already defined at line {clash.span.line}")
    if any(u.name == new and u.target is None and u.namespace is None for u in index.uses):
        raise Refused(f"`{new}` is used in this file for a name defined elsewhere "
                      "(a builtin, the prelude or an import), which would then mean the "
                      "renamed one")
