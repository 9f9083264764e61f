"""Train one architecture picked from a space and report how well it classifies.

The seed picks the architecture and seeds its training, so `darch train FILE --seed 3`
trains the same model to the same numbers on every run (on CPU). The program's
`num_classes` parameter, when it has one, is set from the dataset. Settings come from
the program's `train = hyperparams {...}` block over the evaluator's defaults; the
flags below override both.
"""

from __future__ import annotations

import argparse
from typing import Any

from darchlang.commands.common import (
    add_decision_arguments,
    add_program_arguments,
    load_program_from_args,
    parse_decisions,
    print_json,
)

HELP = "train a picked architecture on a dataset and report its accuracy"
ORDER = 70


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The dataset and the command-line overrides of training settings (train, search)."""
    parser.add_argument("--dataset", default="digits", metavar="NAME",
                        help="digits (built in, the default), cifar10, mnist, fashion-mnist "
                        "or npz:PATH")
    parser.add_argument("--data-dir", metavar="DIR", help="the folder holding the dataset's files")
    parser.add_argument("--max-epochs", type=int, metavar="N", help="override max_epochs")
    parser.add_argument("--time-minutes-max", type=float, metavar="X",
                        help="override the time budget of one training run, in minutes")
    parser.add_argument("--batch-size", type=int, metavar="N", help="override batch_size")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override any training setting, e.g. --set learning_rate_init=0.001")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--threads", type=int, metavar="N", help="torch CPU threads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=int, default=0,
                        help="picks the architecture and seeds its training (default 0)")
    add_decision_arguments(parser)
    add_training_arguments(parser)
    parser.add_argument("--model-path", metavar="PATH",
                        help="save the best checkpoint, its architecture text and settings here")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the live progress bar (default: only on a terminal)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line fixes: `--set` first, then the named flags."""
    from darchlang.train.settings import parse_setting

    out: dict[str, Any] = dict(parse_setting(item) for item in args.set)
    for flag, name in (("max_epochs", "max_epochs"), ("time_minutes_max", "time_minutes_max"),
                       ("batch_size", "batch_size")):
        value = getattr(args, flag)
        if value is not None:
            out[name] = value
    return out


def load_for_dataset(args: argparse.Namespace, num_classes: int) -> Any:
    """The program with `num_classes` set from the dataset, when it declares that param."""
    return load_program_from_args(args, num_classes=num_classes)


def pick(args: argparse.Namespace, program: Any) -> Any:
    space = program.space
    if args.decisions is None:
        return space.sample(args.seed)
    return space.replay(parse_decisions(args.decisions))


def run(args: argparse.Namespace) -> int:
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator
    from darchlang.train.progress import result_text

    overrides = overrides_from_args(args)
    dataset = load_dataset(args.dataset, args.data_dir)
    program = load_for_dataset(args, dataset.num_classes)
    architecture = pick(args, program)
    evaluator = ClassifierEvaluator(
        dataset,
        overrides=overrides,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        model_path=args.model_path,
        progress=args.progress,
        raise_errors=getattr(args, "debug", False),
    )
    result = evaluator.evaluate(architecture)
    if args.json:
        print_json({**result.to_json(), "decisions": list(architecture.decisions)})
        return 0 if result.ok else 1
    print(result_text(result, architecture.decisions, dataset.describe(), args.model_path))
    return 0 if result.ok else 1
