"""Print the exact number of architectures in the space (an integer, any size)."""

from __future__ import annotations

import argparse

from darchlang.commands.common import add_program_arguments, load_program_from_args, print_json

HELP = "count the architectures of a space exactly"
ORDER = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print {count, choices} as JSON")


def run(args: argparse.Namespace) -> int:
    space = load_program_from_args(args).space
    n = space.count()
    if args.json:
        print_json({"count": str(n), "choices": len(space.choices)})
    else:
        print(n)
    return 0
