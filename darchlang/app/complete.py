"""Completion candidates for darchlang code, for any front end (REPL, language server).

What may come next is asked of the LALR parser (`accepts()` after the text before
the cursor), so names are offered where an expression may start and keywords only
where the grammar takes them (`then` after `if x`). Inside an open call, at the start
of an argument, the callee's parameters not given yet are offered first, as
`size: ` — read from the environment's layers (with types and docs), a builtin's
parameter list, or a `def`'s parameters. Candidates are plain data; the REPL turns
them into prompt_toolkit completions, the language server into LSP items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from darchlang.app.describe import kind_label
from darchlang.app.reader import accepts_at_end
from darchlang.environment import Environment
from darchlang.layers.defs import REQUIRED
from darchlang.semantics.values import Builtin, Closure
from darchlang.syntax.parser import KEYWORDS, lark_parser
from darchlang.text import format_value

_WORD = re.compile(r"[A-Za-z_]\w*\Z")
_KWARG = re.compile(r"\A([A-Za-z_]\w*)\s*:")
_NAME_BEFORE = re.compile(r"([A-Za-z_]\w*)\s*\Z")


@dataclass(frozen=True)
class Candidate:
    """One completion: what the menu shows, the text that replaces the `replace`
    characters before the cursor, and a short description."""

    label: str
    insert: str
    replace: int
    detail: str


@lru_cache(maxsize=1)
def keyword_terminals() -> dict[str, str]:
    """Each keyword and the grammar terminal that spells it (to match `accepts()`)."""
    by_text = {t.pattern.value: t.name for t in lark_parser().terminals if t.pattern.type == "str"}
    return {k: by_text[k] for k in KEYWORDS if k in by_text}


@dataclass
class _Frame:
    """One open bracket while scanning: its callee (for `(`) and the arguments so far."""

    bracket: str
    callee: str | None
    arg_start: int
    keywords: set[str] = field(default_factory=set)
    positional: int = 0


@dataclass
class Context:
    """What the text before the cursor is in: a string or comment, or a call's argument."""

    in_literal: bool
    frame: _Frame | None
    at_arg_start: bool
    depth: int = 0  # brackets still open


def scan(text: str) -> Context:
    """Scan brackets, strings and comments of `text` (the text before the cursor)."""
    stack: list[_Frame] = []
    i, n = 0, len(text)

    def close_arg(frame: _Frame, end: int) -> None:
        arg = text[frame.arg_start:end].strip()
        match = _KWARG.match(arg)
        if match:
            frame.keywords.add(match.group(1))
        elif arg:
            frame.positional += 1

    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            if end < 0:
                return Context(True, None, False)
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                return Context(True, None, False)
            i = j + 1
            continue
        if c in "([{":
            callee = None
            if c == "(":
                match = _NAME_BEFORE.search(text, 0, i)
                callee = match.group(1) if match else None
            stack.append(_Frame(c, callee, i + 1))
        elif c in ")]}" and stack:
            stack.pop()
        elif c == "," and stack:
            close_arg(stack[-1], i)
            stack[-1].arg_start = i + 1
        i += 1
    if not stack:
        return Context(False, None, False)
    frame = stack[-1]
    at_start = not text[frame.arg_start:].strip()
    if not at_start:
        close_arg(frame, n)
    return Context(False, frame, at_start, len(stack))


@dataclass(frozen=True)
class ParamInfo:
    """A parameter as completion shows it."""

    name: str
    meta: str


def parameters(value: Any, env: Environment) -> list[ParamInfo]:
    """The parameters of a callable value, documented where the definition says more."""
    if isinstance(value, Builtin):
        layer = env.layers.get(value.name)
        if layer is not None:
            out = []
            for p in layer.params:
                what = p.type.name if p.default is REQUIRED else f"= {format_value(p.default)}"
                out.append(ParamInfo(p.name, f"{what}; {p.doc}" if p.doc else what))
            return out
        return [ParamInfo(p, f"parameter of {value.name}") for p in value.params]
    if isinstance(value, Closure):
        return [ParamInfo(p.name, "required" if p.default is None else "has a default")
                for p in value.defn.params]
    return []


def complete_code(text: str, names: Mapping[str, Any], env: Environment,
                  user_names: Iterable[str] = ()) -> list[Candidate]:
    """Completions for darchlang code, given the text before the cursor: the callee's
    parameters not given yet first (at the start of an argument), then names (the
    user's first) and keywords where the grammar takes them."""
    match = _WORD.search(text)
    word = match.group(0) if match else ""
    before = text[: len(text) - len(word)]
    if before and (before[-1].isdigit() or before[-1] == "."):
        return []  # inside a number such as `1e`
    context = scan(before)
    if context.in_literal:
        return []
    accepts = accepts_at_end(before)
    out: list[Candidate] = []
    seen: set[str] = set()

    def add(name: str, insert: str, meta: str) -> None:
        if name.startswith(word) and insert not in seen:
            seen.add(insert)
            out.append(Candidate(name, insert, len(word), meta))

    frame = context.frame
    if frame is not None and frame.bracket == "(" and frame.callee and context.at_arg_start:
        params = parameters(names.get(frame.callee), env)
        for i, p in enumerate(params):
            if p.name not in frame.keywords and i >= frame.positional:
                add(f"{p.name}:", f"{p.name}: ", p.meta)
    if accepts is None or "NAME" in accepts:
        user = [n for n in user_names if n in names]
        for name in sorted(user) + sorted(set(names) - set(user)):
            if not name.startswith("_"):
                add(name, name, kind_label(names[name], env))
    for keyword, terminal in keyword_terminals().items():
        if accepts is None or terminal in accepts:
            add(keyword, keyword, "keyword")
    return out
