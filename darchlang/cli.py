"""The `darch` command: one entry point, one module per subcommand in `darchlang.commands`.

Exit codes: 0 fine, 1 an error in the user's program or data, 2 a wrong command line
(a one-line usage and the message, also for what a command checks itself, such as an
unknown `--searcher`).
A darchlang error prints as `FILE:LINE:COL: error: ...` with a caret; `--debug` shows
the Python traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import Any, NoReturn

from darchlang import __version__
from darchlang.commands.common import UsageError, invalid_choice
from darchlang.errors import DarchError, UnknownDefine, closest
from darchlang.process import deep_recursion, long_integers


class _Parser(argparse.ArgumentParser):
    """argparse's parser, naming the closest choice for a mistyped one (`--executor
    rya`, `darch chek`), as the registered names (`--searcher`) are named, and
    printing a usage error under a one-line usage (`usage_error`)."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, invalid_choice(value, action.choices))

    def error(self, message: str) -> NoReturn:
        usage_error(self, message)
        sys.exit(2)


def usage_error(parser: argparse.ArgumentParser, message: str) -> None:
    """Print a wrong command line's message under a one-line usage that says where the
    options are listed. argparse's own usage lists every option: twenty lines for
    `darch search`, which push the one line that says what is wrong out of sight."""
    formatter = parser._get_formatter()
    formatter.add_usage(None, parser._get_positional_actions(), [], prefix="")
    positionals = formatter.format_help().strip().removeprefix(parser.prog).strip()
    print(f"usage: {parser.prog} [options] {positionals}  "
          f"(`{parser.prog} --help` lists them)", file=sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only` (a command's name), just that command's part.

    Each command module imports what its command needs, so building the parser of one
    command (what `main` does when the first word names one) imports only that one:
    its usage lines and errors are the same, `darch count` starts sooner."""
    parser = _Parser(
        prog="darch",
        description="darchlang: write, count, sample, compile, train and search "
        "neural architecture spaces.",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"darch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    names = _command_names() if only is None else [only]
    modules = [importlib.import_module(f"darchlang.commands.{name}") for name in names]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 50)):
        name = module.__name__.rsplit(".", 1)[1]
        # the docstring's own lines: its example commands stay one to a line
        cmd = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show Python tracebacks on errors")
        module.add_arguments(cmd)
        cmd.set_defaults(handler=module.run, command_parser=cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["help"]:  # `darch help [COMMAND]`, as git and pip take it
        words = [*words[1:2], "--help"]
    parser = build_parser(words[0] if words and words[0] in _command_names() else None)
    try:
        args, extra = parser.parse_known_args(words)
        if extra:  # the subcommand's usage, not the top level's, and the closest option
            _unrecognized(args.command_parser, extra)
    except SystemExit as done:  # argparse's usage error (2) or --help (0)
        return int(done.code or 0)
    try:
        # the process is darch's own: deep spaces count and print, long counts print
        with deep_recursion(), long_integers():
            return int(args.handler(args) or 0)
    except UsageError as err:
        usage_error(args.command_parser, str(err))
        return 2
    except UnknownDefine as err:  # a -D for no `param`: the command line's mistake
        print(err.render(), file=sys.stderr)
        return 2
    except DarchError as err:
        if args.debug:
            raise
        print(err.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader is gone (`darch sample -n 1000000 | head`): quiet, and fine, as
        # Unix tools are; what is still buffered goes nowhere, not to a traceback at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _command_names() -> list[str]:
    """The commands: the modules of `darchlang.commands` (but its shared `common`)."""
    import darchlang.commands as commands

    return [info.name for info in pkgutil.iter_modules(commands.__path__)
            if not info.name.startswith("_") and info.name != "common"]


def _unrecognized(command: argparse.ArgumentParser, extra: list[str]) -> None:
    message = f"unrecognized arguments: {' '.join(extra)}"
    flag = next((e.split("=", 1)[0] for e in extra if e.startswith("--")), None)
    if flag is not None:
        # alike by the words, not by the `--` every option shares
        close = closest(flag[2:], [o[2:] for a in command._actions for o in a.option_strings
                                   if o.startswith("--")])
        if close:
            message += f"; did you mean --{close}?"
    command.error(message)


if __name__ == "__main__":
    sys.exit(main())
