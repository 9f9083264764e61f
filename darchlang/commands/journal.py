"""Work on a search journal as a file: `darch journal backup DB COPY` makes a
consistent copy, safe while the search is still writing it (SQLite's online backup).
The copy is a journal of its own: `darch report COPY` reads it, and `darch search
--journal COPY` continues the search from it."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "journal files: a consistent backup copy while a search runs"
ORDER = 88


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    backup = sub.add_parser("backup", help="copy a journal consistently, even mid-search")
    backup.add_argument("journal", type=Path, help="the journal to copy")
    backup.add_argument("copy", type=Path, help="the new file")


def run(args: argparse.Namespace) -> int:
    from darchlang.search import Journal

    with Journal(args.journal, create=False) as journal:
        done = journal.count_finished()
        journal.backup(args.copy)
    print(f"copied {args.journal} to {args.copy} ({done} finished evaluations)")
    return 0
