"""Search a space: pick architectures with a searcher, train them, keep every result.

Every evaluation is recorded in the journal (`--journal PATH`, a SQLite file) as it
starts and ends. Running the same command again resumes the search where it stopped,
after Ctrl-C, a crash or a kill, and stops at the same budget; a larger `--budget`
extends it. Without `--journal` the results live only as long as the command.
`--synthetic K` scores architectures with a synthetic NK landscape of interaction
order K instead of training them: a way to try searchers and budgets on the shape of
your own space in seconds.

`--workers N` keeps N evaluations running at once, each in its own process (or, with
`--executor ray`, as tasks on a Ray cluster); the searcher and the journal stay in
this process. `--sync` tells results in batches of N, in ask order, which makes the
model-based searchers reproducible too; `--retries R` runs an evaluation whose worker
died up to R more times before recording it failed.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from darchlang.commands.common import UsageError, add_program_arguments, print_json
from darchlang.commands.train import add_training_arguments

HELP = "search a space for the best architecture (resumable)"
ORDER = 80


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--searcher", metavar="NAME",
                        help="random, uniform, grid, evolution (the default), mcts, smbo or tpe")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a searcher option, e.g. -o population=30 (see docs/searchers.md)")
    parser.add_argument("--budget", type=int, default=20, metavar="N",
                        help="finished evaluations in total, failures included (default 20)")
    parser.add_argument("--journal", metavar="PATH",
                        help="SQLite file recording every evaluation; rerun to resume")
    parser.add_argument("--seed", type=int,
                        help="makes the search reproducible (default: drawn, and recorded "
                        "in the journal)")
    add_training_arguments(parser)
    other = parser.add_mutually_exclusive_group()
    other.add_argument("--evaluator", metavar="NAME|MODULE:NAME",
                       help="evaluate with a plugin's registered evaluator, or one named by "
                       "import path (a class is instantiated with no arguments) instead of "
                       "training a classifier")
    other.add_argument("--synthetic", type=int, metavar="K",
                       help="score with a synthetic NK landscape (interaction order K) "
                       "instead of training")
    cheap = parser.add_argument_group("cheap evaluations (docs/searchers.md)")
    cheap.add_argument("--scheduler", default="none", metavar="NAME",
                       help="none (train each to the end, the default), median, halving, "
                       "hyperband or asha; rungs of --min-epochs * --eta**r up to "
                       "--max-epochs, promoted ones continued from checkpoints")
    cheap.add_argument("--min-epochs", type=int, default=1, metavar="N",
                       help="epochs of the first rung (default 1; median: no stopping before)")
    cheap.add_argument("--eta", type=int, default=3, metavar="N",
                       help="each rung trains eta times longer and keeps 1/eta (default 3)")
    parser.add_argument("--keep-best", type=int, default=0, metavar="K",
                        help="keep the trained weights of the K best architectures beside the "
                        "journal (JOURNAL.best/), for `darch export`")
    cheap.add_argument("--keep-checkpoints", action="store_true",
                       help="keep every rung's checkpoint beside the journal")
    parallel = parser.add_argument_group("parallel and distributed search")
    parallel.add_argument("--workers", type=int, metavar="N",
                          help="evaluations running at once (default 1; with --executor ray, "
                          "as many as the cluster's resources allow)")
    parallel.add_argument("--executor", choices=("local", "ray"), default="local",
                          help="local: worker processes on this machine (the default); "
                          "ray: tasks on a Ray cluster")
    parallel.add_argument("--ray-address", metavar="auto|HOST:PORT",
                          help="the Ray cluster to use (default: start a local one)")
    parallel.add_argument("--cpus-per-eval", type=float, default=None, metavar="C",
                          help="Ray CPUs each evaluation reserves (default 1)")
    parallel.add_argument("--gpus-per-eval", type=float, default=0, metavar="G",
                          help="Ray GPUs each evaluation reserves (default 0)")
    parallel.add_argument("--threads-per-eval", type=int, default=None, metavar="N",
                          help="torch threads in each worker (default 1; with Ray, "
                          "--cpus-per-eval)")
    parallel.add_argument("--sync", action="store_true",
                          help="evaluate in batches of --workers and tell results in ask "
                          "order: reproducible with model-based searchers too")
    parallel.add_argument("--retries", type=int, default=0, metavar="R",
                          help="run an evaluation whose worker died up to R more times "
                          "(default 0: record it failed)")
    parser.add_argument("--top", type=int, default=5, metavar="K",
                        help="how many of the best architectures to list (default 5)")
    parser.add_argument("--csv", metavar="PATH", help="also write every evaluation as CSV")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the live progress bar (default: only on a terminal)")
    parser.add_argument("--json", action="store_true",
                        help="print the outcome as JSON (summary, best, every evaluation)")


def run(args: argparse.Namespace) -> int:
    from darchlang.search import Journal, make_searcher, run_search
    from darchlang.search.results import write_csv

    if args.budget < 0:
        raise UsageError("--budget must be at least 0")
    _check_parallel_flags(args)
    options = _parse_options(args.option)
    recorded: dict[str, Any] = {}
    if args.journal and Path(args.journal).exists():
        with Journal(args.journal, create=False) as existing:
            recorded = existing.config() or {}
    name = args.searcher or recorded.get("searcher") or "evolution"
    seed = args.seed if args.seed is not None else recorded.get("seed")
    if not options and not args.searcher and recorded.get("options"):
        options = dict(recorded["options"])
    # Everything that can be wrong with the command line or the program is checked
    # before the journal file is created.
    evaluator, settings, program = _evaluator(args, seed, recorded)
    space = program.space
    searcher = make_searcher(name, space, seed, **options)
    scheduler = _scheduler(args, evaluator, program)
    parallel = _parallel(args)
    if parallel:
        evaluator = _recipe(args, evaluator, settings)
    if args.keep_best:
        evaluator = _keep_best(args, evaluator, settings, parallel)
    journal = Journal(args.journal) if args.journal else Journal(None)
    try:
        reporter = _Reporter(args, name)
        previous = _install_sigterm()
        try:
            with reporter:
                executor = _executor(args) if parallel else None
                try:
                    result = run_search(
                        space, searcher, evaluator, args.budget, journal,
                        settings=settings, space_text=program.source.text, progress=reporter,
                        workers=args.workers, executor=executor, sync=args.sync,
                        retries=args.retries, threads_per_eval=_threads_per_eval(args),
                        scheduler=scheduler, keep_checkpoints=args.keep_checkpoints,
                    )
                finally:
                    if executor is not None:
                        executor.shutdown()
        except KeyboardInterrupt:
            done = journal.count_finished()
            where = f"; run the same command again to resume ({args.journal})" \
                if args.journal else ""
            print(f"interrupted after {done} of {args.budget} evaluations{where}", file=sys.stderr)
            return 130
        finally:
            _restore_sigterm(previous)
        if args.csv:
            write_csv(result.evaluations, args.csv)
        if args.json:
            print_json(result.to_json())
            return 0
        _print_outcome(result, args.top, searcher.seed, args.journal)
        return 0
    finally:
        journal.close()


def _keep_best(args: argparse.Namespace, evaluator: Any, settings: dict[str, Any],
               parallel: bool) -> Any:
    """The evaluator wrapped to keep the weights of the `--keep-best` best."""
    from darchlang.report.export import checkpoint_dir
    from darchlang.search.keep_best import KeepBest, KeepBestRecipe

    if args.keep_best < 0:
        raise UsageError("--keep-best must be at least 0")
    if not args.journal:
        raise UsageError("--keep-best keeps weights beside the journal: give --journal")
    if settings["evaluator"] != "classifier":
        raise UsageError("--keep-best needs the built-in classifier evaluator, which saves "
                         "checkpoints")
    folder = checkpoint_dir(args.journal)
    return (KeepBestRecipe(evaluator, folder, args.keep_best) if parallel
            else KeepBest(evaluator, folder, args.keep_best))


def _scheduler(args: argparse.Namespace, evaluator: Any, program: Any) -> Any:
    """The `--scheduler`, its top rung the `--max-epochs` (else the epochs the
    evaluator trains the program's first architecture for)."""
    from darchlang.search.schedulers import make_scheduler

    if args.scheduler == "none":
        return None
    if args.sync:
        raise UsageError("--sync cannot be combined with --scheduler")
    top = args.max_epochs
    if top is None:
        settings_for = getattr(evaluator, "settings_for", None)
        top = settings_for(program.space.sample(0)).max_epochs if settings_for else \
            getattr(evaluator, "epochs", None)
    if top is None:
        raise UsageError("--scheduler needs --max-epochs with this evaluator")
    return make_scheduler(args.scheduler, min_epochs=args.min_epochs, max_epochs=top,
                          eta=args.eta)


def _check_parallel_flags(args: argparse.Namespace) -> None:
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.retries < 0:
        raise UsageError("--retries must be at least 0")
    if args.threads_per_eval is not None and args.threads_per_eval < 1:
        raise UsageError("--threads-per-eval must be at least 1")
    ray_only = [flag for flag, value in (("--ray-address", args.ray_address),
                                         ("--cpus-per-eval", args.cpus_per_eval),
                                         ("--gpus-per-eval", args.gpus_per_eval or None))
                if value is not None]
    if ray_only and args.executor != "ray":
        raise UsageError(f"{ray_only[0]} needs --executor ray")


def _parallel(args: argparse.Namespace) -> bool:
    """Whether evaluations leave this process: more than one worker, Ray, or --sync."""
    return args.executor == "ray" or (args.workers or 1) > 1 or args.sync


def _threads_per_eval(args: argparse.Namespace) -> int:
    if args.threads_per_eval is not None:
        return args.threads_per_eval
    if args.executor == "ray":
        return max(1, int(args.cpus_per_eval or 1))
    return 1


def _executor(args: argparse.Namespace) -> Any:
    """The Ray executor; None for the local pool, which `run_search` makes itself."""
    if args.executor != "ray":
        return None
    from darchlang.search import RayExecutor

    cpus = 1 if args.cpus_per_eval is None else args.cpus_per_eval
    return RayExecutor(args.ray_address, cpus_per_eval=cpus, gpus_per_eval=args.gpus_per_eval)


def _recipe(args: argparse.Namespace, evaluator: Any, settings: dict[str, Any]) -> Any:
    """How the workers rebuild the evaluator: the dataset is loaded in each worker once,
    a named evaluator is imported there, the synthetic landscape travels as it is."""
    from darchlang.search import ClassifierRecipe, ImportedEvaluator

    if settings["evaluator"] == "classifier":
        return ClassifierRecipe(args.dataset, args.data_dir, overrides=settings["overrides"],
                                seed=settings["train_seed"], device=args.device,
                                threads=_threads_per_eval(args))
    if args.evaluator is not None:
        return ImportedEvaluator(args.evaluator)
    return evaluator


def _parse_options(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-o expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _evaluator(args: argparse.Namespace, seed: int | None, recorded: dict[str, Any]
               ) -> tuple[Any, dict[str, Any], Any]:
    """The evaluator, the settings the journal records for it, and the program."""
    from darchlang.commands.common import load_program_from_args

    if args.synthetic is not None:
        from darchlang.search.synthetic import NKCurves, NKObjective

        if args.synthetic < 0:
            raise UsageError("--synthetic expects an interaction order K >= 0")
        program = load_program_from_args(args)
        # The landscape's own seed is part of the settings, so a resumed search scores
        # with the same landscape even when --seed was left to be drawn.
        landscape = recorded.get("settings", {}).get("landscape", 0 if seed is None else seed)
        objective = NKObjective(program.space, k=args.synthetic, seed=landscape) \
            if args.scheduler == "none" else NKCurves(program.space, k=args.synthetic,
                                                      seed=landscape,
                                                      epochs=args.max_epochs or 9)
        return objective, {"evaluator": "synthetic-nk", "k": args.synthetic,
                           "landscape": landscape}, program

    if args.evaluator is not None:
        program = load_program_from_args(args)
        return custom_evaluator(args.evaluator), {"evaluator": args.evaluator}, program

    from darchlang.commands.train import load_for_dataset, overrides_from_args
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    overrides = overrides_from_args(args)
    dataset = load_dataset(args.dataset, args.data_dir)
    program = load_for_dataset(args, dataset.num_classes)
    # Training is seeded too: each architecture trains the same way on every run, so a
    # resumed search's results match an uninterrupted one's (on CPU).
    train_seed = recorded.get("settings", {}).get("train_seed", 0 if seed is None else seed)
    evaluator = ClassifierEvaluator(
        dataset, overrides=overrides, seed=train_seed, device=args.device,
        threads=args.threads, progress=False, raise_errors=False,
    )
    # A misspelt setting in the program's `hyperparams` block would fail every
    # evaluation alike; one architecture shows it before the search starts.
    evaluator.settings_for(program.space.sample(0))
    settings = {"evaluator": "classifier", "dataset": args.dataset, "overrides": overrides,
                "train_seed": train_seed}
    return evaluator, settings, program


def custom_evaluator(spec: str) -> Any:
    """The evaluator `--evaluator` names (see `darchlang.search.workers.load_evaluator`)."""
    from darchlang.search.workers import load_evaluator

    return load_evaluator(spec)


class _Reporter:
    """Progress of a search: a rich bar with the running best on a terminal, one line
    per evaluation on stderr otherwise (logs of batch jobs stay readable)."""

    def __init__(self, args: argparse.Namespace, searcher: str):
        from rich.console import Console

        self.console = Console(stderr=True)
        live = args.progress if args.progress is not None else self.console.is_terminal
        self.live = bool(live) and not args.json
        self.quiet = args.json and args.progress is None
        self.searcher = searcher
        self.progress = None
        self.task = None

    def __enter__(self) -> _Reporter:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn(f"[bold]{self.searcher}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[best]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                refresh_per_second=4,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def __call__(self, event: Any) -> None:
        best = "best -" if event.best is None else f"best {event.best.score:.4f}"
        if event.kind == "resumed":
            if self.progress is not None:
                self.task = self.progress.add_task("search", total=event.budget,
                                                   completed=event.done, best=best)
            if event.done and not self.quiet:
                self._line(f"resuming: {event.done} of {event.budget} evaluations already done")
            return
        if event.kind != "finished":
            return
        e = event.evaluation
        if e.ok:
            what = f"score {e.score:.4f}"
        else:
            what = f"failed: {e.reason}"
        if e.reused is not None:
            what += f" (same architecture as #{e.reused}, not trained again)"
        seconds = "" if e.reused is not None or e.seconds is None else f" in {e.seconds:.1f}s"
        if not self.quiet:
            where = event.where()
            where = f", {where}" if where else ""
            self._line(f"#{e.index} {what}{seconds}  [{event.done}/{event.budget}, {best}{where}]")
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=event.done, best=best)

    def _line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)


def _print_outcome(result: Any, k: int, seed: int, journal: str | None) -> None:
    from rich.console import Console

    from darchlang.commands.report import best_table

    best_list = result.top(k)
    console = Console(highlight=False)
    s = f"{result.done} evaluations ({result.failed} failed), seed {seed}"
    if result.exhausted:
        s += "; the searcher has no architectures left"
    console.print(s, markup=False)
    if not best_list:
        console.print("no evaluation succeeded", markup=False)
        return
    console.print(best_table(best_list))
    best = best_list[0]
    console.print(f"best architecture (#{best.index}, score {best.score:.4f}):", markup=False)
    sys.stdout.write(best.text if best.text.endswith("\n") else best.text + "\n")
    if journal:
        console.print(f"journal: {journal}  (darch report {journal})", markup=False)


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

