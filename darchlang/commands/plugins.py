"""List installed plugins: what each one adds and where it came from; a plugin that
failed to load is shown with its error."""

from __future__ import annotations

import argparse

from darchlang.commands.common import print_json
from darchlang.layers.registry import default_registry

HELP = "list installed plugins and what they provide"
ORDER = 95


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    registry = default_registry()
    if args.json:
        print_json([vars(p) for p in registry.plugins])
        return 0
    if not registry.plugins:
        print("no plugins installed (entry point group: darchlang.plugins)")
        return 0
    for p in registry.plugins:
        where = f"{p.source}" + (f"  [{p.distribution}]" if p.distribution else "")
        if p.error:
            print(f"{p.name}: FAILED  {where}\n    {p.error}")
        else:
            print(f"{p.name}: {', '.join(p.provides) or 'nothing'}  {where}")
    return 0
