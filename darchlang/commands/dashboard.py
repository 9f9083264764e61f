"""Serve a page on this machine that follows a search as it runs: progress, the best so
far, the score history, and each evaluation's architecture and learning curve.

    darch dashboard runs/digits.db --port 8050

The journal may belong to a search that is still running, or to a finished one. The
page listens on 127.0.0.1 only (`--host` to change it, knowingly) and stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from darchlang.commands.common import UsageError, non_negative_int

HELP = "a local page that follows a search journal live"
ORDER = 87


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("journal", type=Path, help="the journal of `darch search --journal`")
    parser.add_argument("--port", type=non_negative_int, default=8050, help="port to listen on (default 8050)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")


def run(args: argparse.Namespace) -> int:
    from darchlang.report.dashboard import make_server

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    server = make_server(args.journal, args.host, args.port)
    url = f"http://{args.host}:{server.server_port}/"
    print(f"serving {args.journal} at {url} (Ctrl-C to stop)", flush=True)
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
