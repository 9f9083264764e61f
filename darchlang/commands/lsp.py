"""Run the language server on stdin and stdout, for editors (see docs/editors.md).

The protocol owns both streams: stdout carries only LSP messages and stderr stays
silent, so logs go to `--log FILE` (and errors to the client's log window). The
server exits when the client sends `exit` or closes the connection.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import warnings

from darchlang.commands.common import check_writable
from darchlang.errors import DarchError

HELP = "run the language server (stdio) for editors"
ORDER = 95


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true",
                        help="talk over stdin and stdout (the default and only transport)")
    parser.add_argument("--log", metavar="FILE",
                        help="write the server's log to FILE (nothing is logged otherwise)")


def run(args: argparse.Namespace) -> int:
    from darchlang.lsp.server import create_server

    handler: logging.Handler = _log_file(args.log) if args.log else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO if args.log else logging.WARNING,
                        handlers=[handler], force=True)
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # a stray print anywhere would corrupt the protocol: only the server writes stdout
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"), encoding="utf-8")
    create_server().start_io(stdin, stdout)
    try:
        stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        # the client is gone: keep the interpreter's own flush at exit from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    return 0


def _log_file(path: str) -> logging.Handler:
    """The `--log` file, refused as any file a command writes is (before the server
    starts, while stderr may still speak), not with the traceback of `open`."""
    check_writable(path)
    try:
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as err:
        raise DarchError(f"cannot write the log `{path}`: {err.strerror or err}",
                         help="give --log a file you may write") from None
