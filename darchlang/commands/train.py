"""Train one architecture picked from a space and report how well it classifies.

`--seed` picks the architecture and `--train-seed` seeds its training (by default
the same number, so `darch train FILE --seed 3` trains the same model to the same
numbers on every run, on CPU). The program's `num_classes` parameter, when it has
one, is set from the dataset. Settings come from the program's `train =
hyperparams {...}` block over the evaluator's defaults (each checked at its line
before training starts); the flags below override both.
"""

from __future__ import annotations

import argparse
from typing import Any

from darchlang.commands.common import (
    UsageError,
    add_decision_arguments,
    add_program_arguments,
    check_dataset,
    check_writable,
    defines_from_args,
    device_name,
    import_path_from_args,
    number,
    parse_decisions,
    positive_int,
    print_json,
    seed_number,
    setting_item,
    warn_declared_input,
)

HELP = "train a picked architecture on a dataset and report its accuracy"
ORDER = 70


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The dataset and the command-line overrides of training settings (train, search)."""
    parser.add_argument("--dataset", default="digits", metavar="NAME",
                        help="digits (built in, the default), cifar10, mnist, fashion-mnist "
                        "or npz:PATH")
    parser.add_argument("--data-dir", metavar="DIR", help="the folder holding the dataset's files")
    parser.add_argument("--max-epochs", type=positive_int, metavar="N", help="override max_epochs")
    parser.add_argument("--time-minutes-max", type=number, metavar="X",
                        help="override the time budget of one training run, in minutes")
    parser.add_argument("--batch-size", type=positive_int, metavar="N", help="override batch_size")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        type=setting_item,
                        help="override any training setting, e.g. --set learning_rate_init=0.001")
    parser.add_argument("--device", default="cpu", type=device_name,
                        help="cpu (default), cuda or cuda:N (with --workers, bare cuda spreads "
                        "the workers over the GPUs)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16"),
                        help="override precision: fp32, or mixed bf16 / fp16 under autocast")
    parser.add_argument("--compile", action="store_true", default=None,
                        help="train through torch.compile (eager, with a warning, if it fails)")
    parser.add_argument("--threads", type=positive_int, metavar="N", help="torch CPU threads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="picks the architecture, 0 or more (default 0)")
    parser.add_argument("--train-seed", type=seed_number, metavar="SEED",
                        help="seeds the training: initial weights, shuffling (default: --seed)")
    add_decision_arguments(parser)
    add_training_arguments(parser)
    parser.add_argument("--model-path", metavar="PATH",
                        help="save the best checkpoint, its architecture text and settings here")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the live progress bar (default: only on a terminal)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line fixes: `--set` first, then the named flags."""
    from darchlang.app.training import overrides

    return overrides(args.set, max_epochs=args.max_epochs,
                     time_minutes_max=args.time_minutes_max, batch_size=args.batch_size,
                     precision=args.precision, compile=args.compile)


def check_settings(overrides: dict[str, Any]) -> None:
    """Every value the flags give a training setting (--set, --max-epochs, ...) is of
    its kind: a usage error (exit 2) otherwise, as an unknown setting's name is."""
    from darchlang.errors import DarchError
    from darchlang.train.settings import Settings

    try:
        Settings().updated(overrides, "the command line")
    except DarchError as err:
        raise UsageError(err.message + (f"; {err.help}" if err.help else "")) from None


def run(args: argparse.Namespace) -> int:
    from darchlang.app.programs import pick
    from darchlang.app.training import (
        check_builds,
        check_constraints,
        load_with_dataset,
        make_evaluator,
    )
    from darchlang.train.progress import result_text

    check_dataset(args.dataset)
    if args.model_path:
        check_writable(args.model_path)
    overrides = overrides_from_args(args)
    check_settings(overrides)
    program, dataset = load_with_dataset(args.file, args.dataset, args.data_dir,
                                         defines=defines_from_args(args), entry=args.entry,
                                         import_path=import_path_from_args(args))
    warn_declared_input(program, dataset)
    decisions = None if args.decisions is None else parse_decisions(args.decisions)
    architecture = pick(program.space, args.seed, decisions)
    train_seed = args.seed if args.train_seed is None else args.train_seed
    evaluator = make_evaluator(dataset, overrides=overrides, seed=train_seed, device=args.device,
                               threads=args.threads, model_path=args.model_path,
                               progress=args.progress,
                               raise_errors=getattr(args, "debug", False))
    # the settings, the shapes, then the constraints: each an error before training
    settings = evaluator.settings_for(architecture)
    check_builds(architecture, dataset, program=program)
    check_constraints(architecture, dataset, settings, program)
    result = evaluator.evaluate(architecture)
    if args.json:
        print_json({**result.to_json(), "decisions": list(architecture.decisions),
                    "seed": args.seed, "train_seed": train_seed})
        return 0 if result.ok else 1
    print(result_text(result, architecture.decisions, dataset.describe(), args.model_path))
    return 0 if result.ok else 1
