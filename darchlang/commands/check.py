"""Parse and interpret a program; print nothing and exit 0 when it is fine.

The `train` block is checked too: every name must be a training setting and every
value it may take one that setting accepts (docs/training.md lists them), each error
at its place, as a layer's arguments are.

With `--shapes`, also check that every architecture of the space compiles for the
input: `--input 3x32x32`, else the file's `# darch: input` line, else 3x32x32 (the
output says which). Small spaces are enumerated (at most 2,000 architectures, and at
most 150,000 layers planned in all; `--enumerate-up-to N` enumerates any of at most N),
large ones are proved by shape analysis over each choice's options; the output says
which was done. A failure prints
a concrete failing architecture: its decisions and the line where shapes break.

A space too entangled to count exactly is still a valid space (sampling, compiling,
shape proofs and searches do not need the count): `check` warns, at the place that
makes counting hard, and exits 0; only `darch count` fails on it.
"""

from __future__ import annotations

import argparse
from typing import Any

from darchlang.app.programs import check_function_names
from darchlang.commands.common import (
    add_input_argument,
    add_program_arguments,
    input_from_args,
    load_program_from_args,
    non_negative_int,
    out_of_reach,
    print_json,
    warn,
)
from darchlang.errors import CountOutOfReach, DarchError, all_errors
from darchlang.semantics.interpreter import is_space
from darchlang.syntax import ast
from darchlang.text import option_text

HELP = "check a program for errors (and, with --shapes, that every architecture compiles)"
ORDER = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--shapes", action="store_true",
                        help="prove that every architecture compiles for --input")
    add_input_argument(parser, "for --shapes")
    parser.add_argument("--enumerate-up-to", type=non_negative_int, default=None, metavar="N",
                        help="enumerate spaces of at most N architectures (default 2000, "
                        "when planning them all plans at most 150,000 layers)")
    parser.add_argument("--json", action="store_true",
                        help='print {"ok", "errors": [...]} (every error, in source order)')


def run(args: argparse.Namespace) -> int:
    warnings: list[DarchError] = []
    try:
        summary = _check(args, warnings)
    except DarchError as err:
        if not args.json:
            raise
        print_json({"ok": False, "errors": [e.to_json() for e in all_errors(err)],
                    "warnings": [w.to_json() for w in warnings]})
        return 1
    if args.json:
        print_json({"ok": True, "errors": [], "warnings": [w.to_json() for w in warnings],
                    **({"shapes": summary} if summary else {})})
        return 0
    for warning in warnings:
        warn(warning)
    if summary:
        print(summary)
    return 0


def _is_library(program: Any, entry: str) -> bool:
    """A file with definitions and no `space` (no `--entry` named) is a library: valid
    as it is, and used by importing it."""
    return (entry == "space" and entry not in program.names
            and any(isinstance(st, ast.Def | ast.Bind) for st in program.ast.statements))


def _check(args: argparse.Namespace, warnings: list[DarchError]) -> str | None:
    """None, or the summary of a shape proof; errors are raised, and a count out of
    reach is added to `warnings`."""
    # building, naming and counting the whole space surfaces every error a program can
    # have; the `train` block's and the functions' errors are reported with them
    def count(program: Any) -> None:
        if args.shapes or not _is_library(program, args.entry):
            try:
                program.space.count()
            except CountOutOfReach as err:
                warnings.append(out_of_reach(err))

    program = load_program_from_args(args, check_training=True,
                                     checks=(check_function_names, count))
    if _is_library(program, args.entry):
        nets = [name for name, value in program.names.items() if is_space(value)]
        if nets:  # a network bound, but not as `space`: perhaps a program misnamed
            warnings.append(DarchError(
                f"no `space` binding: {program.source.name} is checked as a library",
                notes=[f"the networks it binds: {', '.join(nets)}"],
                help=f"to check one as the program's network, name it: --entry {nets[-1]}"))
    if not args.shapes:
        return None
    space = program.space
    from darchlang.backends.torch.shape_rules import torch_shape_rules
    from darchlang.space.shapes import ENUMERATE_UP_TO, PLANNED_UP_TO, check_shapes

    given = input_from_args(args, program)
    if args.enumerate_up_to is None:
        report = check_shapes(space, given.shape, torch_shape_rules(), ENUMERATE_UP_TO,
                              PLANNED_UP_TO)
    else:
        report = check_shapes(space, given.shape, torch_shape_rules(), args.enumerate_up_to)
    if report.ok:
        return report.summary(given.described())
    err = report.failure
    assert err is not None
    how = ("found by enumerating the space" if report.method == "enumerated"
           else "found by shape analysis over each choice's options")
    notes = list(err.notes) + [how, f"for input {given.described()}"]
    if report.architecture is not None:
        arch = report.architecture
        notes.append(f"a failing architecture: decisions {','.join(map(str, arch.decisions))}"
                     f" (replay with --decisions)" if arch.decisions else
                     "the space has one architecture, and it fails")
        notes.extend(f"  {n} = {option_text(v)}"
                     for n, v in zip(arch.names, arch.values, strict=True))
    raise DarchError(err.message, err.span, err.help, notes, list(err.related))
