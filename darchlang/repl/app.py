"""The terminal front end: a prompt_toolkit prompt around a `Session`.

The prompt highlights input with the darchlang Pygments lexer, completes with
`DarchCompleter`, and checks syntax with `DarchValidator` before anything runs.
Enter runs complete input and continues incomplete input on a new line, indented
by the brackets still open (a blank line submits anyway, so the validator can say
what is missing). History persists in the user's data directory. Ctrl-C cancels
the line being typed, or interrupts a running command (`:train`); Ctrl-D quits.

When stdin is not a terminal (`darch repl < script`), the same session reads the
input a statement at a time and prints plain replies, so a REPL script runs in CI.
"""

from __future__ import annotations

import shlex
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

import platformdirs
from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import ConditionalCompleter
from prompt_toolkit.filters import has_validation_error, to_filter
from prompt_toolkit.formatted_text import FormattedText, PygmentsTokens
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.layout import Layout
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import Output

from darchlang.app.reader import state
from darchlang.repl.completer import DarchCompleter
from darchlang.repl.keys import key_bindings
from darchlang.repl.lexer import DarchLexer, DarchReplLexer
from darchlang.repl.session import COMMANDS, Reply, Session
from darchlang.repl.validator import DarchValidator

PROMPT = "darch> "
BANNER = "darchlang REPL: type definitions or expressions; :help lists commands, Ctrl-D quits."
HISTORY_FILE = "repl_history"


def history_path() -> Path:
    """Where the REPL keeps its history: the user's data directory (XDG on Linux)."""
    return platformdirs.user_data_path("darchlang") / HISTORY_FILE


def open_history(path: Path | None) -> History:
    """A file history at `path`; in memory when `path` is None or cannot be written."""
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:prompt.continuation", "." * (width - 1) + " ")])


def _wrap_validation_message(layout: Layout) -> None:
    """Let the line under the input that shows a syntax error wrap: prompt_toolkit's
    validation toolbar is one row high, which cut a long message at the terminal's
    width."""
    for window in layout.find_all_windows():
        text = getattr(window.content, "text", None)
        if getattr(text, "__qualname__", "").startswith("ValidationToolbar."):
            window.height = None
            window.wrap_lines = to_filter(True)
            window.dont_extend_height = to_filter(True)


def render(reply: Reply) -> FormattedText | PygmentsTokens:
    """A reply for the terminal: errors in red, darchlang highlighted, the rest plain."""
    if not reply.ok:
        return FormattedText([("ansired", reply.text)])
    if reply.darch:
        return PygmentsTokens(list(DarchLexer(ensurenl=False).get_tokens(reply.text.rstrip("\n"))))
    return FormattedText([("", reply.text)])


class Repl:
    """The interactive loop: prompt, run, print, until `:quit` or Ctrl-D.

    `input`/`output` default to the terminal (tests pass a pipe input and a dummy
    output); `echo` receives every reply (by default it prints it).
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        history: History | None = None,
        input: Input | None = None,
        output: Output | None = None,
        echo: Callable[[Reply], None] | None = None,
    ):
        self.output = output
        self.session = session or Session()
        self.session.progress = self.say
        self.echo = echo or self.print_reply
        self.prompt = PromptSession(
            PROMPT,
            multiline=True,
            lexer=PygmentsLexer(DarchReplLexer, sync_from_start=True),
            # No menu while a syntax error is shown: the cursor jumped to the error,
            # and what may be typed there is not what the user is looking at.
            completer=ConditionalCompleter(
                DarchCompleter(self.session.visible, self.session.env, COMMANDS,
                               self.session.user_names),
                ~has_validation_error),
            complete_while_typing=True,
            validator=DarchValidator(),
            validate_while_typing=False,
            history=history or InMemoryHistory(),
            auto_suggest=AutoSuggestFromHistory(),
            key_bindings=key_bindings(),
            prompt_continuation=_continuation,
            input=input,
            output=output,
        )

        _wrap_validation_message(self.prompt.layout)

    def print_reply(self, reply: Reply) -> None:
        print_formatted_text(render(reply), output=self.output)

    def say(self, line: str) -> None:
        print_formatted_text(FormattedText([("ansibrightblack", line)]), output=self.output)

    def handle(self, text: str) -> Reply:
        """Run one input; Ctrl-C while it runs abandons it and the session goes on.

        A bug in darchlang itself (any other exception) is shown with its traceback
        rather than ending the session and losing what the user defined.
        """
        try:
            reply = self.session.execute(text)
        except KeyboardInterrupt:
            reply = Reply("interrupted", ok=False)
        except Exception:
            reply = Reply("internal error (a bug in darchlang; please report it):\n"
                          + traceback.format_exc().rstrip(), ok=False)
        if reply.text:
            self.echo(reply)
        return reply

    def run(self) -> int:
        while not self.session.quit_requested:
            try:
                text = self.prompt.prompt()
            except KeyboardInterrupt:
                continue  # Ctrl-C drops the line being typed
            except EOFError:
                break
            self.handle(text)
        return 0


def inputs(lines: Iterable[str]) -> Iterator[str]:
    """Group lines into inputs the way Enter does: a line that leaves input incomplete
    continues it; a blank line ends it anyway, and so does a `:command` at the start of
    a line (a script's next command, not part of an unfinished expression)."""
    pending = ""
    for line in lines:
        line = line.rstrip("\n")
        if pending and line.startswith(":"):
            yield pending
            pending = ""
        if not line.strip():
            if pending:
                yield pending
            pending = ""
            continue
        pending = f"{pending}\n{line}" if pending else line
        if state(pending) != "incomplete":
            yield pending
            pending = ""
    if pending:
        yield pending


def run_script(session: Session, stream: TextIO, out: TextIO, err: TextIO) -> int:
    """Run every input read from `stream`, printing replies (errors to `err`); 1 if any
    input failed."""
    failed = False
    session.progress = lambda line: print(line, file=out, flush=True)
    for text in inputs(stream):
        reply = session.execute(text)
        failed = failed or not reply.ok
        if reply.text:
            print(reply.text, file=out if reply.ok else err, flush=True)
        if session.quit_requested:
            break
    return 1 if failed else 0


def main(path: str | None = None, history: bool = True) -> int:
    """`darch repl [FILE]`: interactive on a terminal, a script runner otherwise."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    session = Session(live=interactive)
    first = session.execute(f":load {shlex.quote(path)}") if path else None
    if not interactive:
        if first is not None and first.text:
            print(first.text, file=sys.stdout if first.ok else sys.stderr)
        code = run_script(session, sys.stdin, sys.stdout, sys.stderr)
        return 1 if (first is not None and not first.ok) else code
    repl = Repl(session, history=open_history(history_path() if history else None))
    print(BANNER)
    if first is not None and first.text:
        repl.print_reply(first)
    return repl.run()
