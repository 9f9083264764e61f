"""Print a program in the canonical layout (comments kept); `-i` rewrites the file,
`--check` exits 1 when the file is not already formatted. `-` reads the program from
standard input (`darch fmt - < a.darch`, as editors pipe a buffer)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from darchlang.commands.common import UsageError
from darchlang.semantics.program import STDIN, read_source, source_name
from darchlang.syntax.formatter import format_source

HELP = "format a program in the canonical layout"
ORDER = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", help=".darch files (- reads standard input)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if a file would be reformatted")
    mode.add_argument("-i", "--in-place", action="store_true", help="rewrite the files")


def run(args: argparse.Namespace) -> int:
    if args.in_place and STDIN in args.files:
        raise UsageError("-i rewrites files: standard input (-) has none to rewrite")
    status = 0
    for name in args.files:
        path = Path(name)
        text = read_source(path)
        name = source_name(name)
        pretty = format_source(text, name)
        if args.check:
            if pretty != text:
                print(f"{name}: would be reformatted", file=sys.stderr)
                status = 1
        elif args.in_place:
            if pretty != text:
                path.write_text(pretty, "utf-8")
        else:
            sys.stdout.write(pretty)
    return status
