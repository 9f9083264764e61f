"""Print architectures picked from a space, as `.darch` text with no choices left or as
JSON; the same seed gives the same architectures on every run and machine."""

from __future__ import annotations

import argparse
import random

from darchlang.commands.common import (
    add_decision_arguments,
    add_program_arguments,
    load_program_from_args,
    parse_decisions,
    print_json,
)

HELP = "pick architectures from a space"
ORDER = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-n", type=int, default=1, help="how many architectures (default 1)")
    parser.add_argument("--uniform", action="store_true",
                        help="every architecture equally likely (default: each decision uniform)")
    add_decision_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print decisions, choice names and values as JSON")


def run(args: argparse.Namespace) -> int:
    from darchlang.commands.common import UsageError

    space = load_program_from_args(args).space
    if args.n < 1:
        raise UsageError("-n must be at least 1")
    if args.decisions is not None:
        archs = [space.replay(parse_decisions(args.decisions))]
    else:
        rng = random.Random(args.seed)
        pick = space.sample_uniform if args.uniform else space.sample
        archs = [pick(rng) for _ in range(args.n)]
    if args.json:
        data = [a.to_json() for a in archs]
        print_json(data if len(data) > 1 else data[0])
        return 0
    for i, a in enumerate(archs):
        if i:
            print()
        print(f"# architecture {a.identity}  decisions: {','.join(map(str, a.decisions))}")
        print(a.text, end="")
    return 0
