"""Search a space: pick architectures with a searcher, train them, keep every result.

Every evaluation is recorded in the journal as it starts and ends: `--journal PATH`
(a SQLite file), by default a new `runs/<file stem>-<date>-<time>.db` under the
working directory (`--no-journal` keeps it in memory only). Running the same command
with the same `--journal` again resumes the search where it stopped, after Ctrl-C, a
crash or a kill, and stops at the same budget; a larger `--budget` extends it. The
last line printed is the command that reports on it. `--synthetic K` scores
architectures with a synthetic NK landscape of interaction order K instead of
training them: a way to try searchers and budgets on the shape of your own space in
seconds.

Two seeds, two flags: `--seed` makes the searcher's picks reproducible (drawn when
not given), `--train-seed` seeds every training run (default 0), so the same
architecture trains the same way whatever the searcher's seed; both are printed and
recorded in the journal.

The table of best architectures shows the validation score the search selects by;
test accuracy is shown for the final best alone (`--show-test` adds it to the
table): choosing among candidates by their test accuracy would make it a second
validation set, and the reported test accuracy optimistic.

Before a candidate trains, it is planned for the input: one that cannot be built
(its shapes break) or breaks a constraint (`--max-params 1e6`, `--max-macs 5e7`, or
`max_params` / `max_macs` in the `train` block) is recorded `invalid` with its reason,
never trained, and does not use the budget. After `--max-invalid N` (default 1000)
invalid candidates in a row, or when no valid architecture is left, the search stops
with an error naming how many were invalid (exit 1).

`--workers N` keeps N evaluations running at once, each in its own process (or, with
`--executor ray`, as tasks on a Ray cluster); the searcher and the journal stay in
this process. Local workers fork from a server started first, which imports torch
and the data's library while this process plans; they help when an evaluation takes
much longer than a worker's start-up (about a second) and there are cores to spare. `--sync` tells results in batches of N, in ask order, which makes the
model-based searchers reproducible too; `--retries R` runs an evaluation that ended its
process (a dead worker, or the whole search killed while it ran) up to R more times
before recording it failed, and `--eval-timeout S` kills a worker whose evaluation
runs past S seconds.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from darchlang.commands.common import (
    UsageError,
    add_program_arguments,
    check_choice,
    check_dataset,
    check_writable,
    defines_from_args,
    import_path_from_args,
    integer,
    non_negative_int,
    number,
    positive_int,
    print_json,
    resource_amount,
    seed_number,
    warn_declared_input,
)
from darchlang.commands.train import add_training_arguments, check_settings, overrides_from_args
from darchlang.errors import DarchError, Related

HELP = "search a space for the best architecture (resumable)"
ORDER = 80


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--searcher", metavar="NAME",
                        help="random, uniform, grid, evolution (the default), mcts, smbo or tpe")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a searcher option, e.g. -o population=30 (see docs/searchers.md)")
    parser.add_argument("--budget", type=positive_int, default=20, metavar="N",
                        help="finished evaluations in total, failures included (default 20)")
    journal = parser.add_mutually_exclusive_group()
    journal.add_argument("--journal", metavar="PATH",
                         help="SQLite file recording every evaluation; rerun to resume "
                         "(default: a new runs/<file>-<time>.db)")
    journal.add_argument("--no-journal", action="store_true",
                         help="keep the results in memory only")
    parser.add_argument("--seed", type=seed_number,
                        help="the searcher's seed: makes its picks reproducible (default: "
                        "drawn, and recorded in the journal)")
    parser.add_argument("--train-seed", type=seed_number, metavar="SEED",
                        help="seeds every training run (or the synthetic landscape): the same "
                        "architecture trains the same way whatever --seed is (default 0)")
    add_training_arguments(parser)
    other = parser.add_mutually_exclusive_group()
    other.add_argument("--evaluator", metavar="NAME|MODULE:NAME",
                       help="evaluate with a plugin's registered evaluator, or one named by "
                       "import path (a class is instantiated with no arguments) instead of "
                       "training a classifier")
    other.add_argument("--synthetic", type=non_negative_int, metavar="K",
                       help="score with a synthetic NK landscape (interaction order K) "
                       "instead of training")
    cheap = parser.add_argument_group("cheap evaluations (docs/searchers.md)")
    cheap.add_argument("--scheduler", default="none", metavar="NAME",
                       help="none (train each to the end, the default), median, halving, "
                       "hyperband or asha; rungs of --min-epochs * --eta**r up to "
                       "--max-epochs, promoted ones continued from checkpoints")
    cheap.add_argument("--min-epochs", type=positive_int, default=1, metavar="N",
                       help="epochs of the first rung (default 1; median: no stopping before)")
    cheap.add_argument("--eta", type=integer, default=3, metavar="N",
                       help="each rung trains eta times longer and keeps 1/eta (default 3)")
    limits = parser.add_argument_group("constraints, checked before training")
    limits.add_argument("--max-params", type=_count, metavar="N",
                        help="do not train a candidate with more trainable parameters "
                        "(1e6 or 1000000); it is recorded invalid, using no budget")
    limits.add_argument("--max-macs", type=_count, metavar="N",
                        help="do not train a candidate with more multiply-adds per example")
    limits.add_argument("--max-invalid", type=positive_int, metavar="N",
                        help="stop after N invalid candidates in a row (default 1000)")
    parser.add_argument("--keep-best", type=non_negative_int, metavar="K",
                        help="keep the trained weights of the K best architectures beside the "
                        "journal (JOURNAL.best/), for `darch export` (default 1 with the "
                        "built-in classifier and a journal; 0 keeps none)")
    cheap.add_argument("--keep-checkpoints", action="store_true",
                       help="keep every rung's checkpoint beside the journal")
    parallel = parser.add_argument_group("parallel and distributed search")
    parallel.add_argument("--workers", type=integer, metavar="N",
                          help="evaluations running at once (default 1; with --executor ray, "
                          "as many as the cluster's resources allow). Each local worker "
                          "costs a core and about a second to start: they help when an "
                          "evaluation takes much longer than that and cores are free")
    parallel.add_argument("--executor", choices=("local", "ray"), default="local",
                          help="local: worker processes on this machine (the default); "
                          "ray: tasks on a Ray cluster")
    parallel.add_argument("--ray-address", metavar="auto|HOST:PORT",
                          help="the Ray cluster to use (default: start a local one)")
    parallel.add_argument("--cpus-per-eval", type=resource_amount, default=None, metavar="C",
                          help="Ray CPUs each evaluation reserves (default 1)")
    parallel.add_argument("--gpus-per-eval", type=resource_amount, default=0, metavar="G",
                          help="Ray GPUs each evaluation reserves (default 0)")
    parallel.add_argument("--threads-per-eval", type=integer, default=None, metavar="N",
                          help="torch threads in each worker (default 1; with Ray, "
                          "--cpus-per-eval)")
    parallel.add_argument("--sync", action="store_true",
                          help="evaluate in batches of --workers and tell results in ask "
                          "order: reproducible with model-based searchers too")
    parallel.add_argument("--retries", type=integer, default=2, metavar="R",
                          help="run an evaluation that ended its process (its worker died, "
                          "or the search was killed while it ran) up to R more times, "
                          "then record it failed (default 2)")
    parallel.add_argument("--eval-timeout", type=number, default=None, metavar="SECONDS",
                          help="hard limit on each evaluation: its worker process is killed "
                          "past it and the evaluation recorded failed")
    parser.add_argument("--objectives", metavar="LIST",
                        help="what to optimise, e.g. accuracy,-params: accuracy (the score), "
                        "params, macs, latency; a leading - minimises (write --objectives=-x "
                        "when the first is minimised); several give a Pareto front")
    parser.add_argument("--direction", choices=("maximize", "minimize"),
                        help="maximize (the default) or minimize the single objective, e.g. "
                        "an evaluator's loss")
    parser.add_argument("--top", type=positive_int, default=5, metavar="K",
                        help="how many of the best architectures to list (default 5)")
    parser.add_argument("--show-test", action="store_true",
                        help="show every listed architecture's test accuracy, not only the "
                        "final best's (see the note on selection in docs/searchers.md)")
    parser.add_argument("--csv", metavar="PATH", help="also write every evaluation as CSV")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the live progress bar (default: only on a terminal)")
    parser.add_argument("--json", action="store_true",
                        help="print the outcome as JSON (summary, best, every evaluation)")


def request_from_args(args: argparse.Namespace) -> Any:
    """The `SearchRequest` the command line asks for (a usage error when it cannot be)."""
    from darchlang.app.searching import SearchRequest, default_journal
    from darchlang.environment import default_environment
    from darchlang.search import searcher_names

    _check_parallel_flags(args)
    _check_scheduler_flags(args)
    check_choice("--searcher", args.searcher, searcher_names())
    check_choice("--scheduler", args.scheduler, ["none", *default_environment().schedulers])
    if args.evaluator is None and args.synthetic is None:
        check_dataset(args.dataset)
    _check_evaluator(args.evaluator)
    journal = None if args.no_journal else (args.journal or default_journal(args.file))
    request = SearchRequest(
        file=args.file, budget=args.budget, searcher=args.searcher,
        options=_parse_options(args.option), journal=journal, seed=args.seed,
        train_seed=args.train_seed, defines=defines_from_args(args), entry=args.entry,
        import_path=import_path_from_args(args), scheduler=args.scheduler,
        min_epochs=args.min_epochs, eta=args.eta, keep_checkpoints=args.keep_checkpoints,
        keep_best=_keep_best(args),
        dataset=args.dataset, data_dir=args.data_dir,
        overrides={**_overrides(args), **_constraints(args)},
        device=args.device, threads=args.threads, evaluator=args.evaluator,
        synthetic=args.synthetic, workers=args.workers, executor=args.executor,
        ray_address=args.ray_address, cpus_per_eval=args.cpus_per_eval,
        gpus_per_eval=args.gpus_per_eval, threads_per_eval=args.threads_per_eval,
        sync=args.sync, retries=args.retries, eval_timeout=args.eval_timeout,
        max_invalid=args.max_invalid,
    )
    check_settings(request.overrides)  # --objectives too
    return request


def _check_evaluator(spec: str | None) -> None:
    """`--evaluator NAME`: a registered name (MODULE:NAME is imported later)."""
    from darchlang.environment import default_environment
    from darchlang.errors import did_you_mean

    registered = default_environment().evaluators
    if spec is None or ":" in spec or spec in registered:
        return
    known = ", ".join(sorted(registered)) or "none (plugins add them)"
    hint = did_you_mean(spec, registered)
    raise UsageError(f"argument --evaluator: unknown evaluator {spec!r} (registered: {known}; "
                     f"or MODULE:NAME){'; ' + hint if hint else ''}")


def _usage(err: DarchError) -> UsageError:
    """A `DarchError` about the command line, as the usage error it is (exit 2)."""
    return UsageError(err.message + (f"; {err.help}" if err.help else ""))


def _keep_best(args: argparse.Namespace) -> int:
    """How many best architectures' weights to keep: as given, else the best one's
    (so `darch export` works after any search that trains), when there is a journal
    to keep them beside and the built-in classifier, which saves them."""
    if args.keep_best is not None:
        return args.keep_best
    trains = args.evaluator is None and args.synthetic is None
    return 1 if trains and not args.no_journal else 0


def _count(text: str) -> int:
    """An argparse type: a positive whole number, plain or in scientific notation
    (`1000000`, `1e6`, `2.5e5`)."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = 0.0
    if not (value >= 1 and value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected a positive whole number such as 1000000 "
                                         f"or 1e6, got {text!r}")
    return int(value)


def _constraints(args: argparse.Namespace) -> dict[str, int]:
    """`--max-params` and `--max-macs` as the training settings they override."""
    return {name: value for name, value in (("max_params", args.max_params),
                                             ("max_macs", args.max_macs)) if value is not None}
def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The training settings the flags fix, the search's objectives among them."""
    out = overrides_from_args(args)
    for name in ("objectives", "direction"):
        if getattr(args, name) is not None:
            out[name] = getattr(args, name)
    return out


def run(args: argparse.Namespace) -> int:
    from darchlang.app.searching import setup_search
    from darchlang.search.base import BadOption, UnsupportedObjectives

    request = request_from_args(args)
    if args.csv:
        check_writable(args.csv)
    _start_workers_early(request)
    # Everything that can be wrong with the command line or the program is checked
    # before the journal file is created.
    try:
        setup = setup_search(request)
    except (UnsupportedObjectives, BadOption) as err:
        raise _usage(err) from None
    if getattr(setup.evaluator, "dataset", None) is not None:  # the classifier's
        warn_declared_input(setup.program, setup.evaluator.dataset)
    if request.journal and not args.journal:  # the default one: its folder is ours to make
        try:
            Path(request.journal).parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DarchError(f"cannot make the folder for the journal {request.journal}: "
                             f"{err.strerror or err}", help="give --journal PATH") from None
    reporter = _reporter(args, setup.searcher_name, setup.searcher.objectives)
    previous = _install_sigterm()
    try:
        with reporter:
            result = setup.run(reporter)
    except KeyboardInterrupt:
        if args.journal:
            where = f"; run the same command again to resume ({args.journal})"
        elif request.journal:
            where = f"; run the same command with --journal {request.journal} to resume"
        else:
            where = ""
        print(f"interrupted after {reporter.done} of {args.budget} evaluations{where}",
              file=sys.stderr)
        return 130
    finally:
        _restore_sigterm(previous)
    if args.csv:
        result.to_csv(args.csv)
    if args.json:
        print_json({**result.to_json(), "seed": setup.seed, "train_seed": setup.train_seed})
        return _exit_code(result)
    if result.stopped is not None and not result.done:
        raise _stopped(result, args, setup)
    _print_outcome(result, args, setup, request.journal)
    if result.stopped is not None:
        raise _stopped(result, args, setup)
    return _exit_code(result)


def _start_workers_early(request: Any) -> None:
    """Local workers fork from a server that imports torch and the data's library;
    starting it now lets those imports run while this process loads and plans."""
    if request.executor != "local" or not request.parallel:
        return
    from darchlang.search.executors import start_workers_early
    from darchlang.search.workers import ClassifierRecipe

    classifier = request.evaluator is None and request.synthetic is None
    start_workers_early(ClassifierRecipe(request.dataset) if classifier else None)


def _exit_code(result: Any) -> int:
    """1 when evaluations ran and every one failed, or the search stopped on invalid
    candidates: a script should not read a search that learnt nothing (a broken space,
    dataset or evaluator) as a success."""
    return 1 if (result.done and result.best is None) or result.stopped is not None else 0


def _stopped(result: Any, args: argparse.Namespace, setup: Any) -> DarchError:
    """The error of a search that stopped early: on invalid candidates, why, and the
    first one whose shapes break, located in full (the call, the layer's line); on a
    broken evaluator, what it raised."""
    from darchlang.app.searching import why_refused
    from darchlang.search.preflight import constraint_of

    if not result.refused:  # the evaluator raised the same error again and again
        raised = [e.detail for e in result.evaluations if e.status == "failed" and e.detail]
        return DarchError(
            result.stopped,
            notes=["what it raised last:\n" + raised[-1].rstrip()] if raised else [],
            help="the evaluator is broken, not the architectures: fix it and run the same "
            "command again, which resumes from the journal")
    over = [constraint_of(row.reason) for row in result.refused]
    if over and all(over):  # every one broke a constraint: the help is about it
        name, _, limit = over[0]
        smallest = min(value for which, value, _ in over if which == name)
        flag = "--max-params" if name == "max_params" else "--max-macs"
        return DarchError(
            result.stopped,
            help=f"every candidate tried was over {name} {limit:,} (the smallest tried "
            f"has {smallest:,}): raise {flag} (or `{name}` in the train block) above that, or "
            "search a space with smaller architectures")
    shape = getattr(setup.preflight, "input_shape", None)
    shape = "x".join(map(str, shape)) if shape else "SHAPE"
    cause = why_refused(setup, result.refused)
    related = [] if cause is None or cause[1].span is None else [
        Related(cause[1].span, f"#{cause[0]} breaks here"),
        *cause[1].related]
    return DarchError(
        result.stopped, related=related,
        help=f"`darch check --shapes --input {shape} {args.file}` shows where shapes break, "
        "`darch report` lists every reason; --max-invalid N allows longer runs of them")


def _check_scheduler_flags(args: argparse.Namespace) -> None:
    """The rungs' flags, as usage errors: each rung trains eta times longer."""
    if args.scheduler == "none":
        return
    if args.eta < 2:
        raise UsageError(f"argument --eta: must be at least 2, got {args.eta}")
    if args.max_epochs is not None and args.max_epochs < args.min_epochs:
        raise UsageError(f"--max-epochs ({args.max_epochs}) must be at least --min-epochs "
                         f"({args.min_epochs})")


def _check_parallel_flags(args: argparse.Namespace) -> None:
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.retries < 0:
        raise UsageError("--retries must be at least 0")
    if args.eval_timeout is not None and not args.eval_timeout > 0:
        raise UsageError("--eval-timeout must be a positive number of seconds")
    if args.eval_timeout is not None and args.executor == "ray":
        raise UsageError("--eval-timeout needs the local executor")
    if args.threads_per_eval is not None and args.threads_per_eval < 1:
        raise UsageError("--threads-per-eval must be at least 1")
    ray_only = [flag for flag, value in (("--ray-address", args.ray_address),
                                         ("--cpus-per-eval", args.cpus_per_eval),
                                         ("--gpus-per-eval", args.gpus_per_eval or None))
                if value is not None]
    if ray_only and args.executor != "ray":
        raise UsageError(f"{ray_only[0]} needs --executor ray")
    if args.sync and args.scheduler != "none":
        raise UsageError("--sync cannot be combined with --scheduler")
    if args.keep_best and args.no_journal:
        raise UsageError("--keep-best keeps weights beside the journal: drop --no-journal")
    if args.keep_best and (args.evaluator is not None or args.synthetic is not None):
        raise UsageError("--keep-best needs the built-in classifier evaluator, which saves "
                         "checkpoints")


def _parse_options(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-o expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _reporter(args: argparse.Namespace, searcher: str, objectives: Any) -> Any:
    """The search's progress: a live bar on a terminal (or with --progress), one line
    per evaluation on stderr otherwise, so the logs of batch jobs stay readable; each
    line shows every objective when there are several."""
    from rich.console import Console

    from darchlang.search.progress import SearchProgress

    live = args.progress if args.progress is not None else Console(stderr=True).is_terminal
    return SearchProgress(searcher, live=bool(live) and not args.json,
                          lines=not (args.json and args.progress is None),
                          objectives=objectives)


def _print_outcome(result: Any, args: argparse.Namespace, setup: Any, journal: str | None
                   ) -> None:
    from rich.console import Console

    from darchlang.commands.report import best_heading, best_table, pareto_table, trained_text

    best_list = result.top(args.top)
    console = Console(highlight=False)
    s = f"{result.done} evaluations ({result.failed} failed"
    s += f"; {result.invalid} invalid, not trained), " if result.invalid else "), "
    s += f"seed {setup.seed}"
    if setup.train_seed is not None:
        s += f", train seed {setup.train_seed}"
    if result.exhausted:
        s += "; the searcher has no architectures left"
    console.print(s, markup=False)
    if not best_list and any(e.ok for e in result.evaluations):
        missing = [o.text for o in result.objectives.items if o.kind != "score"]
        console.print(f"no evaluation reported every objective: the evaluator must give "
                      f"{', '.join(missing)} as metrics (docs/searchers.md)", markup=False)
    elif not best_list:
        where = f" and in `darch report {journal}`" if journal else ""
        console.print(f"no evaluation succeeded: every one failed (their reasons are "
                      f"above{where})", markup=False)
    else:
        if result.objectives.several:
            console.print(pareto_table(result.pareto_front(), result.objectives,
                                       len({e.identity for e in result.evaluations if e.ok})))
        else:
            console.print(best_table(best_list, show_test=args.show_test))
        best = best_list[0]
        console.print(best_heading(best, result.objectives), markup=False)
        text = trained_text(best)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if journal:
        console.print(f"journal: {journal}", markup=False)
        console.print(f"next: darch report {journal}", markup=False)


def _install_sigterm() -> Any:
    """SIGTERM (a batch scheduler stopping the job) stops like Ctrl-C: journal intact."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        return None


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)

