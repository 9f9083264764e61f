"""Draw one architecture of a space as a graph: each layer with its output shape,
residual and graph joins drawn as joins. The architecture is the one `darch sample`
prints for the same seed (or decisions).

`-o arch.svg` (or `.png`, `.dot`) picks the format from the file name; `--format`
overrides it; without `-o` the dot or SVG text goes to standard output. System Graphviz
lays the graph out when it is installed; otherwise darchlang's own layout is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from darchlang.commands.common import (
    UsageError,
    add_decision_arguments,
    add_input_argument,
    add_program_arguments,
    check_writable,
    input_from_args,
    load_program_from_args,
    parse_decisions,
    seed_number,
)
from darchlang.errors import DarchError

HELP = "draw an architecture as a graph (dot, svg or png)"
ORDER = 65


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="random seed of the pick, 0 or more (default 0)")
    add_decision_arguments(parser)
    add_input_argument(parser)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the drawing to FILE (.svg, .png or .dot)")
    parser.add_argument("--format", choices=("dot", "svg", "png"),
                        help="output format (default: from -o's suffix, else dot)")


def run(args: argparse.Namespace) -> int:
    from darchlang.report.draw import FORMATS, draw

    fmt = args.format
    if fmt is None and args.output is not None:
        fmt = args.output.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise UsageError(f"-o {args.output}: cannot tell the format from the suffix; "
                             "use .svg, .png or .dot, or give --format")
    fmt = fmt or "dot"
    if fmt == "png" and args.output is None:
        raise UsageError("a PNG needs a file: add -o FILE.png")
    if args.output is not None:
        check_writable(args.output)
    program = load_program_from_args(args)
    given = input_from_args(args, program)
    if given.origin != "given":  # on stderr: the drawing may be going to stdout
        print(f"drawn for input {given.described()}", file=sys.stderr)
    space = program.space
    if args.decisions is not None:
        arch = space.replay(parse_decisions(args.decisions))
    else:
        arch = space.sample(args.seed)
    text = draw(arch, given.shape, fmt, args.output)
    if args.output is None:
        print(text, end="")
        return 0
    try:
        if text is not None:
            args.output.write_text(text)
    except OSError as exc:
        raise DarchError(f"cannot write {args.output}: {exc.strerror or exc}",
                         help="check that the folder exists and is writable") from None
    print(f"wrote {args.output}")
    return 0
