"""Explore spaces interactively: define, show, count, sample, compile and train.

On a terminal this opens a prompt with highlighting, completion and history; with
input from a pipe or file it runs the input as a script and prints the replies.
"""

from __future__ import annotations

import argparse

HELP = "explore spaces interactively (a REPL)"
ORDER = 90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="a .darch program to load first")
    parser.add_argument("--no-history", action="store_true",
                        help="keep no history file (by default it lives in the user data dir)")


def run(args: argparse.Namespace) -> int:
    from darchlang.repl.app import main

    return main(args.file, history=not args.no_history)
