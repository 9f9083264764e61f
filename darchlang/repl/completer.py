"""Tab completion in the REPL: darchlang code, `:command` names and their arguments.

Code completion is the application layer's (`darchlang.app.complete`: the open
call's parameters, names, keywords the grammar takes); this module turns its
candidates into prompt_toolkit completions, and completes `:commands` from the REPL's
command table: each command's name and summary, and its argument by the kind the
table gives it (a file path, or a name defined in the session).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from darchlang.app.complete import complete_code
from darchlang.environment import Environment

_COMMAND_LINE = re.compile(r"\A\s*:(\w*)(\s+(.*))?\Z", re.DOTALL)


class DarchCompleter(Completer):
    """prompt_toolkit completer over a live name table (the REPL session's).

    `names` returns every visible name and its value, innermost definition winning;
    `user_names` those the user defined, offered first; `commands` is the REPL's
    command table (name -> an object with `summary` and `argument`: "file", "name",
    "any name" or None).
    """

    def __init__(self, names: Callable[[], Mapping[str, Any]], env: Environment,
                 commands: Mapping[str, Any], user_names: Callable[[], Iterable[str]] = tuple):
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
        for c in complete_code(text, self.names(), self.env, self.user_names()):
            yield Completion(c.insert, -c.replace, display=c.label, display_meta=c.detail)

    def _command(self, match: re.Match[str], event: CompleteEvent) -> Iterable[Completion]:
        name, rest = match.group(1), match.group(3)
        if match.group(2) is None:
            for command, entry in self.commands.items():
                if command.startswith(name):
                    yield Completion(f":{command}", -len(name) - 1, display_meta=entry.summary)
            return
        entry = self.commands.get(name)
        argument = entry.argument if entry is not None else None
        if argument == "file":
            yield from self.paths.get_completions(Document(rest, len(rest)), event)
        elif argument in ("name", "any name") and " " not in rest:
            names = list(self.user_names())
            if argument == "any name":
                names += [n for n in self.names() if n not in names]
            for n in names:
                if n.startswith(rest):
                    yield Completion(n, -len(rest), display_meta="name")
