"""Parse and interpret a program; print nothing and exit 0 when it is fine."""

from __future__ import annotations

import argparse

from darchlang.commands.common import add_program_arguments, load_program_from_args

HELP = "check a program for errors"
ORDER = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)


def run(args: argparse.Namespace) -> int:
    # building, naming and counting the whole space surfaces every error a program can have
    load_program_from_args(args).space.count()
    return 0
