"""Speed of `darch check` and `darch check --shapes`, per space.

    python bench/bench_check.py [--runs 5] [--only NAME ...] [--no-shapes]

A language server runs `check` on every edit and users time both commands, so each is
timed on every file in examples/, every stdlib space (stdlib/*.darch that binds
`space`) and the spaces of tests/spaces/: AnyNetX (four stages, each with its own depth,
width, bottleneck ratio and group width: the values over choices that check has the
most work proving) and a small space of ENAS micro cells (625 architectures, each
planned by --shapes). Each time is the least CPU time (`time.process_time`) of `--runs`
calls of the command in this process, after one warm-up call.

The baseline, measured in the same run, is the same command with the check of values
over choices by their combinations turned off (`feasible._search` finds nothing; the
cheap bounds still run): the ratio is what proving the values over choices costs on
top of reading, counting (and, with --shapes, proving shapes for) the space.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from darchlang.cli import main
from darchlang.semantics import feasible

ROOT = Path(__file__).resolve().parent.parent


def spaces() -> dict[str, Path]:
    """Name -> file of every space timed."""
    out = {f"examples/{p.stem}": p for p in sorted((ROOT / "examples").glob("*.darch"))}
    for p in sorted((ROOT / "stdlib").glob("*.darch")):
        if re.search(r"^space = ", p.read_text(), re.M):
            out[f"stdlib/{p.stem}"] = p
    for p in sorted((ROOT / "tests" / "spaces").glob("*.darch")):
        out[f"tests/{p.stem}"] = p
    return out


@contextlib.contextmanager
def combinations_off() -> Iterator[None]:
    """The baseline: no value over choices is checked by trying combinations."""
    with mock.patch.object(feasible, "_search", lambda *_: None):
        yield


def cpu(argv: list[str], runs: int) -> tuple[float, int]:
    """The least CPU seconds of `runs` calls of `darch argv` (after a warm-up), and its
    exit status (1: the command reports an error, which is timed as well)."""
    times, code = [], 0
    for k in range(runs + 1):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            start = time.process_time()
            code = main(argv)
            took = time.process_time() - start
        if k:
            times.append(took)
    return min(times), code


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="names (substrings) to time")
    parser.add_argument("--no-shapes", action="store_true", help="time `check` alone")
    args = parser.parse_args()
    chosen = {n: p for n, p in spaces().items()
              if args.only is None or any(o in n for o in args.only)}
    commands = [("check", [])] + ([] if args.no_shapes else [("--shapes", ["--shapes"])])
    head = f"{'space':28}" + "".join(f"{c + ' ms':>12}{'base ms':>10}{'ratio':>7}"
                                     for c, _ in commands)
    print(head)
    print("-" * len(head))
    totals = {c: [0.0, 0.0] for c, _ in commands}
    for name, path in chosen.items():
        row = f"{name:28}"
        for label, extra in commands:
            argv = ["check", *extra, str(path)]
            took, code = cpu(argv, args.runs)
            with combinations_off():
                base, _ = cpu(argv, args.runs)
            totals[label][0] += took
            totals[label][1] += base
            mark = "!" if code else " "  # the command reports an error (timed all the same)
            row += f"{took * 1e3:11.1f}{mark}{base * 1e3:10.1f}{took / base:7.2f}"
        print(row, flush=True)
    print("-" * len(head))
    print(f"{'total':28}" + "".join(f"{t * 1e3:12.1f}{b * 1e3:10.1f}{t / b:7.2f}"
                                    for t, b in totals.values()))
    print("(!: the command reports an error; times are CPU seconds, least of "
          f"{args.runs} runs)")


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    main_bench()
