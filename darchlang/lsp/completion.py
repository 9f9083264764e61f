"""Completion: the application layer's candidates over the document's text, plus
import paths.

`darchlang.app.complete.complete_code` (the REPL's too) decides what may come next
(names where an expression may start, keywords where the grammar takes them, a
call's parameters not given yet); this module only turns its answers into LSP
items, and completes what the grammar leaves to it: the path inside `import "..."`
or `from "..."` (the files beside the document and in the stdlib), the names of
a namespace after `ns.` and the fields of a record after `r.`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types

from darchlang.app.complete import complete_code
from darchlang.environment import Environment
from darchlang.lsp.positions import Lines

_IMPORT = re.compile(r"""\b(?:import|from)\s+(["'])([^"'\n]*)\Z""")
_MEMBER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)?\Z")
_KINDS = {
    "layer": types.CompletionItemKind.Class,
    "builtin": types.CompletionItemKind.Function,
    "function": types.CompletionItemKind.Function,
    "keyword": types.CompletionItemKind.Keyword,
    "choice": types.CompletionItemKind.EnumMember,
    "sub-space": types.CompletionItemKind.Module,
    "hyperparams": types.CompletionItemKind.Struct,
}


def complete(lines: Lines, offset: int, names: dict[str, Any], env: Environment,
             user_names: Iterable[str], bases: list[Path]) -> list[types.CompletionItem]:
    """Items for the cursor at `offset` in the document's `lines`."""
    before = lines.text[:offset]
    cursor = lines.position_at(offset)
    member = _MEMBER.search(before)
    outer = names.get(member.group(1)) if member else None
    if hasattr(outer, "names") or isinstance(outer, dict):  # `ns.` of `import ... as ns`, `r.`
        fields = {k: v for k, (v, _) in outer.items()} if isinstance(outer, dict) else outer.names
        typed = member.group(2) or ""
        start = lines.position_at(offset - len(typed))
        return members(fields, typed, types.Range(start, cursor))
    match = _IMPORT.search(before[before.rfind("\n") + 1:])
    if match:
        typed = match.group(2)
        start = lines.position_at(offset - len(typed.rpartition("/")[2]))
        return import_paths(typed, bases, types.Range(start, cursor))
    items = []
    for c in complete_code(before, names, env, user_names):
        start = lines.position_at(offset - c.replace)
        kind = _KINDS.get(c.detail, types.CompletionItemKind.Variable)
        if c.insert.endswith(": "):
            kind = types.CompletionItemKind.Property
        items.append(types.CompletionItem(
            label=c.label, kind=kind, detail=c.detail,
            text_edit=types.TextEdit(types.Range(start, cursor), c.insert)))
    return items


def members(exports: dict[str, Any], typed: str, replace: types.Range
            ) -> list[types.CompletionItem]:
    """The names of a namespace that start with what is typed after its `.`."""
    out = []
    for name in sorted(exports):
        if name.startswith(typed) and not name.startswith("_"):
            function = getattr(exports[name], "type_label", "") == "function"  # def or builtin
            kind = types.CompletionItemKind.Function if function else types.CompletionItemKind.Variable
            out.append(types.CompletionItem(label=name, kind=kind,
                                            text_edit=types.TextEdit(replace, name)))
    return out


def import_paths(typed: str, bases: list[Path], replace: types.Range
                 ) -> list[types.CompletionItem]:
    """`.darch` files and folders under the typed directory, in each base folder;
    each item replaces the last path segment typed (`replace`)."""
    folder, _, stem = typed.rpartition("/")
    seen: set[str] = set()
    items = []
    for base in bases:
        where = (base / folder) if folder else base
        try:
            entries = sorted(where.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(stem) or entry.name.startswith((".", "_")):
                continue
            if entry.is_dir():
                label, kind = entry.name + "/", types.CompletionItemKind.Folder
            elif entry.suffix == ".darch":
                label, kind = entry.name, types.CompletionItemKind.File
            else:
                continue
            if label in seen:
                continue
            seen.add(label)
            items.append(types.CompletionItem(label=label, kind=kind, detail=str(where),
                                              text_edit=types.TextEdit(replace, label)))
    return items
