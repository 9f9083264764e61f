"""Print the exact number of architectures in the space (an integer, any size).

With a `train` block, every network counts once with each combination of its
training settings (what a search picks from); `--json` gives both parts too.
"""

from __future__ import annotations

import argparse

from darchlang.app.programs import count
from darchlang.commands.common import add_program_arguments, load_program_from_args, print_json

HELP = "count the architectures of a space exactly"
ORDER = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print {count, choices, networks, settings} as JSON")


def run(args: argparse.Namespace) -> int:
    space = load_program_from_args(args, check_training=True).space  # as check does
    size = count(space)
    if args.json:
        print_json({"count": str(size.total), "choices": len(space.choices),
                    "networks": None if size.network is None else str(size.network),
                    "settings": None if size.settings is None else str(size.settings)})
    else:
        print(size.total)
    return 0
