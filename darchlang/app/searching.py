"""Setting up a search: the program, the searcher, the evaluator and its seeds, the
journal and where evaluations run, from one `SearchRequest`.

`darch search` fills a request from its flags; a notebook or another front end can
fill one by hand. Two seeds are kept apart, each with its own flag: the searcher's
(`seed`, drawn and recorded when not given) decides which architectures are tried,
the evaluator's (`train_seed`, 0 unless given) seeds every training run (or the
synthetic landscape), so two searches that try the same architecture score it the
same however their searcher's seed came about. Both are recorded in the journal, and
a resumed search takes them from there.

Before a candidate trains it is checked (`darchlang.search.preflight`): planned for
the evaluator's input shape, and held to the `max_params` / `max_macs` constraints of
its training settings (the `train` block under the command line's flags); one that
fails is recorded `invalid` and does not use the budget.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from darchlang.app.programs import load
from darchlang.app.training import load_with_dataset, make_evaluator
from darchlang.errors import DarchError
from darchlang.semantics.program import STDIN, Program


@dataclass
class SearchRequest:
    """Everything a search is asked to do; None means "the default, or what the journal
    recorded" wherever a resumed search has a recorded value."""

    file: str
    budget: int = 20
    searcher: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    journal: str | None = None
    seed: int | None = None
    train_seed: int | None = None
    defines: dict[str, Any] = field(default_factory=dict)
    entry: str = "space"
    import_path: list[str] = field(default_factory=list)
    # the evaluator: a classifier on `dataset` (the default), a plugin's, or synthetic
    dataset: str = "digits"
    data_dir: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    threads: int | None = None
    evaluator: str | None = None
    synthetic: int | None = None
    # cheap evaluations: a scheduler's rungs of min_epochs * eta**r up to max_epochs
    scheduler: str = "none"
    min_epochs: int = 1
    eta: int = 3
    keep_checkpoints: bool = False
    keep_best: int = 0  # keep the trained weights of this many best beside the journal
    # where evaluations run
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    cpus_per_eval: float | None = None
    gpus_per_eval: float = 0
    threads_per_eval: int | None = None
    sync: bool = False
    retries: int = 2  # reruns of an evaluation that ended its process
    eval_timeout: float | None = None  # seconds; a worker past it is killed
    max_invalid: int | None = None  # invalid candidates in a row before the search stops

    @property
    def parallel(self) -> bool:
        """Whether evaluations leave this process: several workers, Ray, `sync`, or a
        hard time limit (only a worker process can be killed)."""
        return (self.executor == "ray" or (self.workers or 1) > 1 or self.sync
                or self.eval_timeout is not None)

    def worker_threads(self) -> int:
        """Torch threads in each worker process."""
        if self.threads_per_eval is not None:
            return self.threads_per_eval
        if self.executor == "ray":
            return max(1, int(self.cpus_per_eval or 1))
        return 1


@dataclass
class SearchSetup:
    """A search ready to run: `run(progress)` runs it to its budget."""

    request: SearchRequest
    program: Program
    searcher: Any
    evaluator: Any
    settings: dict[str, Any]
    searcher_name: str
    scheduler: Any = None
    preflight: Any = None  # the check before training (`Preflight`), None for none

    @property
    def space(self) -> Any:
        return self.program.space

    @property
    def seed(self) -> int:
        """The searcher's seed (drawn when not given)."""
        return self.searcher.seed

    @property
    def train_seed(self) -> int | None:
        """The evaluator's seed; None for a plugin evaluator, which seeds itself."""
        return self.settings.get("train_seed")

    def run(self, progress: Any = None) -> Any:
        """Run the search (resuming its journal) and return its `SearchResult`;
        Ctrl-C leaves the journal consistent and re-raises `KeyboardInterrupt`."""
        from darchlang.search import run_search

        req = self.request
        evaluator = self._recipe() if req.parallel else self.evaluator
        if req.keep_best:
            evaluator = self._keep_best(evaluator)
        executor = self._executor() if req.parallel else None
        try:
            return run_search(
                self.space, self.searcher, evaluator, req.budget, req.journal,
                settings=self.settings, space_text=self.program.source.text, progress=progress,
                workers=req.workers, executor=executor, sync=req.sync, retries=req.retries,
                threads_per_eval=req.worker_threads(), scheduler=self.scheduler,
                keep_checkpoints=req.keep_checkpoints, eval_timeout=req.eval_timeout,
                preflight=self.preflight, **({} if req.max_invalid is None
                                             else {"max_invalid": req.max_invalid}),
            )
        finally:
            if executor is not None:
                executor.shutdown()

    def _keep_best(self, evaluator: Any) -> Any:
        """The evaluator wrapped to keep the weights of the `keep_best` best."""
        from darchlang.report.export import checkpoint_dir
        from darchlang.search.keep_best import KeepBest, KeepBestRecipe

        req = self.request
        if not req.journal or self.settings["evaluator"] != "classifier":
            raise DarchError("keeping the best weights needs a journal and the built-in "
                             "classifier evaluator, which saves checkpoints")
        folder = checkpoint_dir(req.journal)
        return (KeepBestRecipe(evaluator, folder, req.keep_best) if req.parallel
                else KeepBest(evaluator, folder, req.keep_best))

    def _executor(self) -> Any:
        """The Ray executor; None for the local pool, which `run_search` makes itself."""
        req = self.request
        if req.executor != "ray":
            return None
        from darchlang.search import RayExecutor

        cpus = 1 if req.cpus_per_eval is None else req.cpus_per_eval
        return RayExecutor(req.ray_address, cpus_per_eval=cpus, gpus_per_eval=req.gpus_per_eval)

    def _recipe(self) -> Any:
        """How the workers rebuild the evaluator: the dataset is loaded in each worker
        once, a named evaluator is imported there, the synthetic landscape travels as
        it is."""
        from darchlang.search import ClassifierRecipe, ImportedEvaluator

        req = self.request
        if self.settings["evaluator"] == "classifier":
            return ClassifierRecipe(req.dataset, req.data_dir, overrides=self.settings["overrides"],
                                    seed=self.settings["train_seed"], device=req.device,
                                    threads=req.worker_threads())
        if req.evaluator is not None:
            return ImportedEvaluator(req.evaluator)
        return self.evaluator


def why_refused(setup: SearchSetup, refused: list[Any]) -> tuple[int, DarchError] | None:
    """The first refused candidate whose shapes break, with its error in full: the
    journal keeps a one-line reason, and planning it again gives the call that made the
    failing layer and the layer's own line, for the message of a search that stopped."""
    shape = getattr(setup.preflight, "input_shape", None)
    if shape is None:
        return None
    from darchlang.backends.torch.plan import plan_network

    for row in refused[:5]:
        arch = setup.space.replay(list(row.decisions))
        try:
            plan_network(arch, shape, reserved=())
        except DarchError as err:
            return row.index, err
    return None


def recorded_config(journal: str | None) -> dict[str, Any]:
    """What an existing journal recorded about its search ({} for a new one)."""
    if not journal or not Path(journal).exists():
        return {}
    from darchlang.search import Journal

    with Journal(journal, create=False) as existing:
        return existing.config() or {}


def setup_search(req: SearchRequest) -> SearchSetup:
    """Check everything a search needs (program, searcher, evaluator) before any file is
    written; what the journal recorded fills in what the request leaves open."""
    from darchlang.search import make_searcher

    if req.budget < 1:
        raise DarchError(f"the budget must be at least 1, got {req.budget}")
    recorded = recorded_config(req.journal)
    name = req.searcher or recorded.get("searcher") or "evolution"
    seed = req.seed if req.seed is not None else recorded.get("seed")
    options = dict(req.options)
    if not options and not req.searcher and recorded.get("options"):
        options = dict(recorded["options"])
    was = recorded.get("settings", {})
    train_seed = req.train_seed if req.train_seed is not None else was.get("train_seed", 0)
    evaluator, settings, program = _evaluator(req, was, train_seed)
    objectives = _objectives(req, program)
    searcher = make_searcher(name, program.space, seed, objectives=objectives, **options)
    scheduler = _scheduler(req, evaluator, program)
    preflight = _preflight(req, evaluator, program)
    if preflight is not None:
        wrong = preflight.fixed_output_error(program.space)
        if wrong is not None:  # no architecture could train: say so before the first
            raise wrong
    return SearchSetup(req, program, searcher, evaluator, settings, name, scheduler,
                       preflight)


def _preflight(req: SearchRequest, evaluator: Any, program: Program) -> Any:
    """The check before training: the classifier plans for its dataset's input and
    reads each architecture's constraints from its settings; another evaluator is
    planned for its `input_shape` when it has one, with the command line's
    constraints. The synthetic landscape scores any architecture: nothing to plan."""
    from darchlang.search.preflight import Preflight
    from darchlang.train.settings import Settings

    given = Settings().updated({k: v for k, v in req.overrides.items()
                                if k in ("max_params", "max_macs")}, "the command line")
    limits = (given.max_params, given.max_macs)
    settings_for = getattr(evaluator, "settings_for", None)
    if req.evaluator is None and req.synthetic is None and settings_for is not None:
        def limits_for(arch: Any) -> tuple[int | None, int | None]:
            settings = settings_for(arch)
            return settings.max_params, settings.max_macs

        return Preflight(tuple(evaluator.input_shape), limits_for=limits_for,
                         num_classes=evaluator.num_classes, dataset=evaluator.dataset.name,
                         class_param=program.params.get("num_classes"))
    shape = None if req.synthetic is not None else getattr(evaluator, "input_shape", None)
    if shape is None and limits != (None, None):
        flag = "--max-params" if limits[0] is not None else "--max-macs"
        what = "the synthetic landscape" if req.synthetic is not None else \
            f"the evaluator `{req.evaluator}`"
        raise DarchError(f"{flag} needs the input shape to count costs, and {what} has none",
                         help="constraints work with the built-in classifier, or with an "
                         "evaluator that has an `input_shape` attribute")
    if shape is None:
        return None
    return Preflight(tuple(shape), *limits)


def _objectives(req: SearchRequest, program: Program) -> Any:
    """What the search optimises (the `train` block, then `--objectives`/`--direction`);
    the synthetic landscape has a score and nothing else to optimise."""
    from darchlang.search.objectives import search_objectives

    objectives = search_objectives(program, req.overrides)
    other = [o.text for o in objectives.items if o.kind != "score"]
    if req.synthetic is not None and other:
        raise DarchError(f"the synthetic landscape gives a score only, not {', '.join(other)}",
                         help="train a classifier (drop --synthetic), or use an evaluator "
                              "that reports them as metrics")
    if req.scheduler != "none" and any(o.kind == "score" and o.minimize
                                       for o in objectives.items):
        raise DarchError(f"the `{req.scheduler}` scheduler promotes the highest scores, so it "
                         "cannot minimise the score",
                         help="search without --scheduler, or have the evaluator report a "
                              "score to maximise")
    return objectives


def _scheduler(req: SearchRequest, evaluator: Any, program: Program) -> Any:
    """The scheduler, its top rung the `max_epochs` override (else the epochs the
    evaluator trains the program's first architecture for)."""
    from darchlang.search.schedulers import make_scheduler

    if req.scheduler == "none":
        return None
    if req.sync:
        raise DarchError("`sync` cannot be combined with a scheduler")
    top = req.overrides.get("max_epochs")
    if top is None:
        settings_for = getattr(evaluator, "settings_for", None)
        top = settings_for(program.space.sample(0)).max_epochs if settings_for else \
            getattr(evaluator, "epochs", None)
    if top is None:
        raise DarchError("a scheduler needs `max_epochs` with this evaluator",
                         help="give --max-epochs")
    return make_scheduler(req.scheduler, min_epochs=req.min_epochs, max_epochs=top, eta=req.eta)


def _evaluator(req: SearchRequest, was: dict[str, Any], train_seed: int
               ) -> tuple[Any, dict[str, Any], Program]:
    """The evaluator, the settings the journal records for it, and the program."""
    if req.synthetic is not None:
        from darchlang.search.synthetic import NKCurves, NKObjective

        program = load(req.file, defines=req.defines, entry=req.entry, import_path=req.import_path)
        # The landscape is the evaluator's: seeded by the train seed, recorded, so a
        # resumed search scores with the same landscape.
        landscape = was.get("landscape", train_seed)
        if req.scheduler == "none":
            objective: Any = NKObjective(program.space, k=req.synthetic, seed=landscape)
        else:
            objective = NKCurves(program.space, k=req.synthetic, seed=landscape,
                                 epochs=req.overrides.get("max_epochs") or 9)
        return objective, {"evaluator": "synthetic-nk", "k": req.synthetic,
                           "landscape": landscape}, program
    if req.evaluator is not None:
        from darchlang.search.workers import load_evaluator

        program = load(req.file, defines=req.defines, entry=req.entry, import_path=req.import_path)
        settings = {"evaluator": req.evaluator, **_constraints(req)}
        return load_evaluator(req.evaluator), settings, program
    program, dataset = load_with_dataset(req.file, req.dataset, req.data_dir,
                                         defines=req.defines, entry=req.entry,
                                         import_path=req.import_path)
    evaluator = make_evaluator(dataset, overrides=req.overrides, seed=train_seed,
                               device=req.device, threads=req.threads)
    settings = {"evaluator": "classifier", "dataset": req.dataset, "overrides": req.overrides,
                "train_seed": train_seed}
    return evaluator, settings, program


def _constraints(req: SearchRequest) -> dict[str, Any]:
    """The command line's constraints, for the journal's record of a plugin evaluator's
    settings (the classifier's are among its overrides)."""
    return {k: v for k, v in req.overrides.items() if k in ("max_params", "max_macs")}


def default_journal(file: str, runs: str = "runs", now: dt.datetime | None = None) -> str:
    """Where a search keeps its journal when none is named: `runs/<file stem>-<date>-
    <time>.db` under the working directory, a new file for every run (`-2`, `-3`, ...
    when one started in the same second); a program read from standard input is
    `stdin` (its `-` would make names that read as options: `--20260101-...`)."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    stem = "stdin" if file == STDIN else Path(file).stem
    base = Path(runs) / f"{stem}-{stamp}"
    path, n = base.with_suffix(".db"), 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}.db")
    return str(path)
