"""Arguments and loading shared by the subcommands that read a `.darch` program."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from darchlang.app.inputs import DEFAULT_INPUT, Input, decide_input
from darchlang.app.programs import load
from darchlang.errors import CountOutOfReach, DarchError, closest
from darchlang.semantics.program import Program
from darchlang.space.space import check_seed


class UsageError(Exception):
    """A wrong command line (exit code 2), as opposed to an error in the program (1)."""


def invalid_choice(value: str, choices: Iterable[str]) -> str:
    """argparse's words for a value none of the choices is, with the closest named:
    `invalid choice: 'evolutoin' (choose from 'random', ...); did you mean 'evolution'?`"""
    names = list(choices)
    close = closest(value, names)
    listed = ", ".join(repr(c) for c in names)
    return (f"invalid choice: {value!r} (choose from {listed})"
            + (f"; did you mean {close!r}?" if close else ""))


def check_choice(flag: str, value: str | None, choices: Iterable[str]) -> None:
    """A usage error when a flag whose values are names (`--searcher`, `--scheduler`,
    `--dataset`: registered, so plugins add to them) is given none of them."""
    names = list(choices)
    if value is not None and value not in names:
        raise UsageError(f"argument {flag}: {invalid_choice(value, names)}")


def check_dataset(spec: str) -> None:
    """`--dataset`: a registered name, or `npz:PATH` with a path."""
    from darchlang.environment import default_environment

    if spec.startswith("npz:"):
        if not spec[4:].strip():
            raise UsageError("argument --dataset: `npz:` needs the archive's path after it, "
                             "as in npz:data/train.npz")
        return
    check_choice("--dataset", spec, [*default_environment().datasets, "npz:PATH"])


def add_program_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the .darch program (- reads standard input)")
    parser.add_argument(
        "-D",
        "--define",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a `param` of the program, e.g. -D num_classes=100",
    )
    parser.add_argument("--entry", default="space", metavar="NAME",
                        help="the binding that holds the network (default: space)")
    parser.add_argument("--import-path", action="append", default=[], metavar="DIR",
                        help="a folder imports may come from, besides the program's own and "
                             "the standard library (repeatable; also DARCH_PATH)")


def parse_defines(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier() or not value.strip():
            raise UsageError(f"-D expects NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def load_program_from_args(args: argparse.Namespace, check_training: bool = False,
                           checks: Sequence[Callable[[Program], object]] = ()) -> Program:
    """Load `args.file` with its `-D` overrides (and, with `check_training`, its `train`
    block checked against the training settings; then `checks`, all errors together)."""
    return load(args.file, defines=defines_from_args(args), entry=getattr(args, "entry", "space"),
                check_training=check_training, import_path=import_path_from_args(args),
                checks=checks)


def defines_from_args(args: argparse.Namespace) -> dict[str, str]:
    return parse_defines(getattr(args, "define", []) or [])


def import_path_from_args(args: argparse.Namespace) -> list[str]:
    return list(getattr(args, "import_path", []) or [])


def device_name(text: str) -> str:
    """An argparse type: `cpu`, `cuda` or `cuda:N` (whether this machine has it is
    checked when the device is used); anything else is a usage error naming the closest."""
    from darchlang.train.settings import DEVICES, is_device_name

    if is_device_name(text):
        return text
    raise argparse.ArgumentTypeError(invalid_choice(text, DEVICES))


def setting_item(text: str) -> str:
    """An argparse type: `NAME=VALUE` naming a training setting (docs/training.md);
    the value is checked with the program's settings. A malformed item or an unknown
    name is a usage error, with the closest setting named."""
    import dataclasses

    from darchlang.train.settings import Settings, parse_setting

    try:
        name, _ = parse_setting(text)
    except DarchError as err:
        raise argparse.ArgumentTypeError(f"{err.message} ({err.help})") from None
    known = [f.name for f in dataclasses.fields(Settings)]
    if name not in known:
        close = closest(name, known)
        raise argparse.ArgumentTypeError(
            f"unknown training setting {name!r}" + (f"; did you mean {close!r}?" if close else
                                                    f" (known: {', '.join(sorted(known))})"))
    return text


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (`--budget 0` is a usage error)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0."""
    return _int_at_least(text, 0)


def integer(text: str) -> int:
    """An argparse type: an integer, for a flag whose range the command checks with
    the other flags (`--eta`, `--workers`); refused in the words of `positive_int`."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _int_at_least(text: str, low: int) -> int:
    value = integer(text)
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def number(text: str) -> float:
    """An argparse type: a number (`--time-minutes-max 1.5`), refused in the words the
    integer flags use (argparse's own are `invalid float value`)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def resource_amount(text: str) -> float:
    """An argparse type for what each Ray task reserves (`--cpus-per-eval 0.5`): a
    finite number of at least 0, refused before Ray starts (which takes seconds, and
    whose own check of `nan` is a traceback)."""
    value = number(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {text!r}")
    return value


def seed_number(text: str) -> int:
    """An argparse type for `--seed` and `--train-seed`: an integer of at least 0.
    Python's generator seeds with the absolute value, so `-1` would silently repeat
    `1`: a negative seed is refused rather than made to look distinct."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    except DarchError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def add_input_argument(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """`--input SHAPE`; when it is not given, the file's `# darch: input` line or the
    default decides (darchlang.app.inputs), and the command says which it used."""
    parser.add_argument("--input", metavar="SHAPE", type=input_shape_text,
                        help="input shape without the batch: CxHxW or a feature count"
                             f"{' ' + purpose if purpose else ''} (default: the file's "
                             f"`# darch: input` line, else {DEFAULT_INPUT})")


def input_shape_text(text: str) -> str:
    """An argparse type: a shape that reads (`3x32x32`, `64`), kept as its text."""
    from darchlang.app.inputs import parse_input_shape

    try:
        parse_input_shape(text)
    except DarchError as err:
        raise argparse.ArgumentTypeError(f"{err.message}; {err.help}") from None
    return text


def input_from_args(args: argparse.Namespace, program: Program) -> Input:
    """The input shape a command plans for: `--input`, else the program's `# darch:
    input` line, else the default."""
    return decide_input(args.input, program.source)


def warn_declared_input(program: Program, dataset: Any) -> None:
    """For a command that trains on `dataset`: warn when the program's `# darch: input`
    line declares another shape than the dataset's examples have."""
    from darchlang.app.inputs import mismatch

    found = mismatch(program.source, dataset.name, dataset.input_shape)
    if found is not None:
        warn(found)


def out_of_reach(err: CountOutOfReach) -> CountOutOfReach:
    """A count out of reach as the warning a command other than `count` prints."""
    return CountOutOfReach(err.message, err.span, err.help,
                           [*err.notes, "the space is valid: sampling, compiling and "
                                        "`check --shapes` do not need the exact count"],
                           list(err.related))


def warn(warning: DarchError) -> None:
    """A located warning on standard error; the command goes on."""
    print(warning.render("warning"), file=sys.stderr)


def add_decision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--decisions", metavar="LIST",
                        help="replay a decision list such as 0,2,1 instead of sampling")


def parse_decisions(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise UsageError("--decisions expects integers separated by commas") from None


def check_writable(path: str | Path) -> None:
    """A file a command will write (`--csv`, `--model-path`, `--emit-onnx`, `--html`,
    `draw -o`), refused before any work when it cannot be: a folder, or in a folder
    that does not exist. Each command checks all of its files first, so a typo in a
    path costs a fraction of a second, not a training run or a report's plots."""
    path = Path(path)
    if path.is_dir():
        raise DarchError(f"cannot write `{path}`: it is a folder", help="give a file name")
    if not path.parent.is_dir():
        raise DarchError(f"cannot write `{path}`: the folder `{path.parent}` does not exist",
                         help=f"make it first (`mkdir -p {shlex.quote(str(path.parent))}`), "
                              "or give another path")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
