"""Print architectures picked from a space, as `.darch` text with no choices left or as
JSON; the same seed gives the same architectures on every run and machine.

A seed is an integer of at least 0. Architectures print as they are drawn, so
`darch sample -n 1000000 FILE | head` starts at once, stops when `head` has its
lines, and uses the same memory for any `-n`. `--json` prints one object for one
architecture and a list for several (written item by item too); `--jsonl` prints
one object a line, for streaming into other tools.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable

from darchlang.app.programs import header, pick, sample
from darchlang.arch.graph import Architecture
from darchlang.commands.common import (
    add_decision_arguments,
    add_program_arguments,
    load_program_from_args,
    parse_decisions,
    positive_int,
    seed_number,
)

HELP = "pick architectures from a space"
ORDER = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="random seed, 0 or more (default 0)")
    parser.add_argument("-n", type=positive_int, default=1,
                        help="how many architectures (default 1)")
    parser.add_argument("--uniform", action="store_true",
                        help="every architecture equally likely (default: each decision uniform)")
    add_decision_arguments(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print decisions, choice names and values as JSON")
    output.add_argument("--jsonl", action="store_true",
                        help="print one JSON object a line, one line per architecture")


def run(args: argparse.Namespace) -> int:
    space = load_program_from_args(args).space
    if args.decisions is not None:
        archs: Iterable[Architecture] = [pick(space, decisions=parse_decisions(args.decisions))]
        several = False
    else:
        archs = sample(space, args.seed, args.n, uniform=args.uniform)
        several = args.n > 1
    out = sys.stdout
    for i, a in enumerate(archs):
        if args.jsonl:
            out.write(json.dumps(a.to_json()) + "\n")
        elif args.json:
            item = json.dumps(a.to_json(), indent=2)
            if several:  # a list, written item by item
                item = ("[\n" if i == 0 else ",\n") + textwrap.indent(item, "  ")
            out.write(item + ("" if several else "\n"))
        else:
            out.write(("\n" if i else "") + header(a) + "\n" + a.text)
        out.flush()  # each one as it is drawn: `| head` sees it at once
    if args.json and several:
        out.write("\n]\n")
    return 0
