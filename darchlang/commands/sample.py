"""Print architectures picked from a space, as `.darch` text with no choices left or as
JSON; the same seed gives the same architectures on every run and machine."""

from __future__ import annotations

import argparse

from darchlang.app.programs import header, pick, sample
from darchlang.commands.common import (
    add_decision_arguments,
    add_program_arguments,
    load_program_from_args,
    parse_decisions,
    positive_int,
    print_json,
)

HELP = "pick architectures from a space"
ORDER = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-n", type=positive_int, default=1,
                        help="how many architectures (default 1)")
    parser.add_argument("--uniform", action="store_true",
                        help="every architecture equally likely (default: each decision uniform)")
    add_decision_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print decisions, choice names and values as JSON")


def run(args: argparse.Namespace) -> int:
    space = load_program_from_args(args).space
    if args.decisions is not None:
        archs = [pick(space, decisions=parse_decisions(args.decisions))]
    else:
        archs = list(sample(space, args.seed, args.n, uniform=args.uniform))
    if args.json:
        data = [a.to_json() for a in archs]
        print_json(data if len(data) > 1 else data[0])
        return 0
    for i, a in enumerate(archs):
        if i:
            print()
        print(header(a))
        print(a.text, end="")
    return 0
