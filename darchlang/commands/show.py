"""Show the space as a tree: every choice with its stable name and options, and the
number of architectures under each subtree. Where the count is out of reach (a space
too entangled to count exactly) the tree is shown all the same, the parts it cannot
count as `[?]` (`"count": null` in JSON)."""

from __future__ import annotations

import argparse

from darchlang.commands.common import add_program_arguments, load_program_from_args, print_json
from darchlang.errors import CountOutOfReach
from darchlang.space.show import describe_value, render_tree

HELP = "show the space as a tree of choices"
ORDER = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--no-counts", action="store_true", help="leave out subtree sizes")
    parser.add_argument("--json", action="store_true", help="list the choices as JSON")


def run(args: argparse.Namespace) -> int:
    space = load_program_from_args(args, check_training=True).space  # as check does
    if args.json:
        try:
            count: str | None = str(space.count())
        except CountOutOfReach:
            count = None  # too entangled to count: the tree is still shown
        print_json({
            "count": count,
            "choices": [
                {
                    "name": c.name,
                    "options": [describe_value(o) for o in c.options],
                    "where": c.span.where if c.span else None,
                    **({"weights": list(c.weights)} if c.weights else {}),
                }
                for c in space.choices
            ],
        })
    else:
        print(render_tree(space, counts=not args.no_counts))
    return 0
