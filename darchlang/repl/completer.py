"""Tab completion: names, keywords, keyword arguments, and REPL commands.

What may come next is asked of the LALR parser (`accepts()` after the text before
the cursor), so names are offered where an expression may start and keywords only
where the grammar takes them (`then` after `if x`). Inside an open call, at the start
of an argument, the callee's parameters not given yet are offered first, as
`size: ` — read from the environment's layers (with types and docs), a builtin's
parameter list, or a `def`'s parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from darchlang.arch.printer import format_value
from darchlang.environment import Environment
from darchlang.layers.defs import REQUIRED, type_name
from darchlang.repl.reader import accepts_at_end
from darchlang.semantics.interpreter import is_space
from darchlang.semantics.values import Builtin, Closure
from darchlang.space.nodes import Choice, RecordNode, SNode
from darchlang.syntax.parser import KEYWORDS, lark_parser

_WORD = re.compile(r"[A-Za-z_]\w*\Z")
_KWARG = re.compile(r"\A([A-Za-z_]\w*)\s*:")
_NAME_BEFORE = re.compile(r"([A-Za-z_]\w*)\s*\Z")
_COMMAND_LINE = re.compile(r"\A\s*:(\w*)(\s+(.*))?\Z", re.DOTALL)
# Commands whose argument is a file, and those whose first argument is a name.
_PATH_COMMANDS = {"load"}
_NAME_COMMANDS = {"show", "count", "sample", "compile", "train", "fmt", "help"}


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


def kind_label(value: Any, env: Environment) -> str:
    """A one-word description of a value, shown beside its name in the menu."""
    if isinstance(value, Builtin):
        return "layer" if value.name in env.layers else "builtin"
    if isinstance(value, Closure):
        return "function"
    if isinstance(value, RecordNode):
        return "hyperparams"
    if is_space(value):
        return "sub-space"
    if isinstance(value, Choice):
        return "choice"
    if isinstance(value, SNode):
        return "derived value"
    if isinstance(value, dict):
        return "record"
    return type_name(value)


def complete_code(text: str, names: Mapping[str, Any], env: Environment,
                  user_names: Iterable[str] = ()) -> list[Completion]:
    """Completions for darchlang code, given the text before the cursor."""
    match = _WORD.search(text)
    word = match.group(0) if match else ""
    before = text[: len(text) - len(word)]
    if before and (before[-1].isdigit() or before[-1] == "."):
        return []  # inside a number such as `1e`
    context = scan(before)
    if context.in_literal:
        return []
    accepts = accepts_at_end(before)
    out: list[Completion] = []
    seen: set[str] = set()

    def add(name: str, insert: str, meta: str) -> None:
        if name.startswith(word) and insert not in seen:
            seen.add(insert)
            out.append(Completion(insert, -len(word), display=name, display_meta=meta))

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


class DarchCompleter(Completer):
    """prompt_toolkit completer over a live name table (the REPL session's).

    `names` returns every visible name and its value, innermost definition winning;
    `user_names` those the user defined, offered first; `commands` maps each REPL
    command to a one-line description.
    """

    def __init__(self, names: Callable[[], Mapping[str, Any]], env: Environment,
                 commands: Mapping[str, str], user_names: Callable[[], Iterable[str]] = tuple):
        self.names = names
        self.env = env
        self.commands = commands
        self.user_names = user_names
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        text = document.text_before_cursor
        command = _COMMAND_LINE.match(text)
        if command:
            yield from self._command(command, complete_event)
            return
        yield from complete_code(text, self.names(), self.env, self.user_names())

    def _command(self, match: re.Match[str], event: CompleteEvent) -> Iterable[Completion]:
        name, rest = match.group(1), match.group(3)
        if match.group(2) is None:
            for command, doc in self.commands.items():
                if command.startswith(name):
                    yield Completion(f":{command}", -len(name) - 1, display_meta=doc)
            return
        if name in _PATH_COMMANDS:
            yield from self.paths.get_completions(Document(rest, len(rest)), event)
        elif name in _NAME_COMMANDS and " " not in rest:
            names = list(self.user_names())
            if name == "help":
                names += [n for n in self.names() if n not in names]
            for n in names:
                if n.startswith(rest):
                    yield Completion(n, -len(rest), display_meta="name")
