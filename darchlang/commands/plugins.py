"""List installed plugins: what each one adds and where it came from; a plugin that
failed to load is shown with its error."""

from __future__ import annotations

import argparse

from darchlang.commands.common import print_json
from darchlang.environment import default_environment

HELP = "list installed plugins and what they provide"
ORDER = 95


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    env = default_environment()
    if args.json:
        print_json([vars(p) for p in env.plugins])
        return 0
    if not env.plugins:
        print("no plugins installed (entry point group: darchlang.plugins)")
        return 0
    for p in env.plugins:
        where = f"{p.source}" + (f"  [{p.distribution}]" if p.distribution else "")
        if p.error:
            print(f"{p.name}: FAILED  {where}\n    {p.error}")
        else:
            print(f"{p.name}: {', '.join(p.provides) or 'nothing'}  {where}")
    return 0
