"""What runs inside a worker process: evaluator recipes and the task that evaluates.

A parallel search keeps its searcher and journal in the driver; workers only
evaluate. What travels to a worker must be picklable and small, so an evaluator goes
as a *recipe* that the worker builds once and keeps for every later evaluation (a
dataset is loaded once per worker, not per evaluation):

- `ClassifierRecipe(dataset, ...)`: a `ClassifierEvaluator` on a named dataset;
- `ImportedEvaluator("pkg.mod:NAME")`: an evaluator found by import path or plugin name;
- `Shipped(evaluator)`: any picklable evaluator (a module-level function, an
  `NKObjective`), sent as it is.

The architecture itself travels pickled (an `Architecture` holds plain data and its
layers' definitions, which pickle by reference to their modules). The worker calls
`evaluate_safely`, so an exception in the evaluator is a failed result there, exactly
as in a one-process search; only a worker that dies reaches the driver as an error.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError
from darchlang.train.budget import Budget
from darchlang.train.result import EvalResult

_BUILT: dict[str, Any] = {}  # recipe key -> evaluator, one per worker process
_DATASETS: dict[tuple[str, str | None], Any] = {}  # (name, folder) -> Dataset
_CLOCK: list[Any] = []  # a local pool's shared clock: when this worker's evaluation began


class EvaluatorRecipe(ABC):
    """A picklable description of an evaluator, built once per worker process.

    `key` names what `build` makes: two recipes with the same key build the same
    evaluator, so a worker builds it once and reuses it for every evaluation.
    """

    key: str

    @abstractmethod
    def build(self) -> Any:
        """Make the evaluator (a callable or an object with `evaluate`)."""

    def preload(self) -> tuple[str, ...]:
        """Modules the evaluator imports: a local pool's forkserver imports them once
        for every worker (see `darchlang.search.executors`)."""
        return ()

    def takes_budget(self) -> bool:
        """Whether the evaluator built takes a `budget` (a scheduled search asks)."""
        from darchlang.search.outcome import as_evaluate
        from darchlang.train.budget import takes_budget

        return takes_budget(as_evaluate(self.build()))


class Shipped(EvaluatorRecipe):
    """Any picklable evaluator, sent to the workers as it is."""

    def __init__(self, evaluator: Any):
        self.evaluator = evaluator
        self.key = f"shipped-{uuid.uuid4().hex}"

    def build(self) -> Any:
        return self.evaluator


class ImportedEvaluator(EvaluatorRecipe):
    """The evaluator `--evaluator` names (a plugin's registered name or MODULE:NAME),
    looked up again in each worker."""

    def __init__(self, spec: str):
        self.spec = spec
        self.key = f"import:{spec}"

    def build(self) -> Any:
        return load_evaluator(self.spec)


class ClassifierRecipe(EvaluatorRecipe):
    """A `ClassifierEvaluator` on a dataset named as `load_dataset` takes it; the worker
    loads the dataset once (on `device`) and trains with `threads` torch threads."""

    def __init__(self, dataset: str, data_dir: str | Path | None = None, *,
                 settings: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
                 seed: int = 0, device: str = "cpu", threads: int | None = None):
        self.dataset = dataset
        self.data_dir = None if data_dir is None else str(data_dir)
        self.settings = dict(settings or {})
        self.overrides = dict(overrides or {})
        self.seed, self.device, self.threads = seed, device, threads
        self.key = "classifier:" + json.dumps(
            [dataset, self.data_dir, self.settings, self.overrides, seed, device, threads],
            sort_keys=True, default=str)

    def takes_budget(self) -> bool:
        return True

    def preload(self) -> tuple[str, ...]:
        # torch._dynamo: torch.optim imports it inside the first optimizer (seconds);
        # the built-in digits come from scikit-learn, imported on first load.
        return classifier_preload(self.dataset)

    def build(self) -> Any:
        from darchlang.train.data import load_dataset
        from darchlang.train.evaluator import ClassifierEvaluator

        where = (self.dataset, self.data_dir)
        if where not in _DATASETS:
            _DATASETS[where] = load_dataset(self.dataset, self.data_dir)
        evaluator = ClassifierEvaluator(
            _DATASETS[where], self.settings, overrides=self.overrides, seed=self.seed,
            device=self.device, threads=self.threads, progress=False, raise_errors=False,
        )
        evaluator.warm_up()  # in the worker's start-up, not the first evaluation
        return evaluator


def classifier_preload(dataset: str) -> tuple[str, ...]:
    """What a classifier's workers import before their first evaluation."""
    modules = ("darchlang.train.evaluator", "torch._dynamo")
    return (*modules, "sklearn.datasets") if dataset == "digits" else modules


def as_recipe(evaluator: Any) -> EvaluatorRecipe:
    """A recipe as it is; anything else is shipped as it is (it must pickle)."""
    return evaluator if isinstance(evaluator, EvaluatorRecipe) else Shipped(evaluator)


def load_evaluator(spec: str) -> Any:
    """The evaluator a spec names: a registered one (its factory is called with no
    arguments) or `MODULE:NAME` (a class is instantiated, anything else used as is)."""
    import importlib

    from darchlang.environment import default_environment, resolve
    from darchlang.errors import did_you_mean

    registered = default_environment().evaluators
    if ":" not in spec:
        factory = registered.get(spec)
        if factory is None:
            known = ", ".join(sorted(registered)) or "none (plugins add them)"
            raise DarchError(f"unknown evaluator `{spec}`",
                             help=did_you_mean(spec, registered)
                             or f"registered evaluators: {known}; or give MODULE:NAME")
        return resolve(factory)()
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the user's to fix, said plainly
        raise DarchError(f"cannot import `{module_name}` for --evaluator: "
                         f"{type(exc).__name__}: {exc}") from None
    target = getattr(module, attr, None)
    if target is None:
        raise DarchError(f"`{module_name}` has no `{attr}`",
                         help=did_you_mean(attr, [n for n in dir(module) if not n.startswith("_")]))
    evaluator = target() if isinstance(target, type) else target
    if not callable(evaluator) and not callable(getattr(evaluator, "evaluate", None)):
        raise DarchError(f"`{spec}` is not an evaluator: it must be callable with an "
                         "architecture or have an `evaluate` method")
    return evaluator


# -- in the worker ----------------------------------------------------------------------
def prepare_worker(recipe: EvaluatorRecipe | None, threads: int | None,
                   clock: Any = None) -> None:
    """A local pool's initializer: runs once as a worker process starts.

    The driver alone answers Ctrl-C (it stops the workers and keeps the journal
    consistent), so workers ignore SIGINT. Thread counts are set before torch is
    imported, and the evaluator (with its dataset) is built now rather than inside the
    first evaluation; a failure to build is reported by that evaluation instead.
    `clock` (a shared double) is where each evaluation notes its start, so the driver
    can kill a worker that runs past the hard time limit.
    """
    if clock is not None:
        _CLOCK[:] = [clock]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
    _set_threads(threads)
    if recipe is not None:
        try:
            _evaluator(recipe)
        except Exception:  # noqa: BLE001 - the first evaluation reports it with its reason
            pass


def _exit_with_parent() -> None:
    """A driver killed with SIGKILL cannot stop its workers; each one watches it and
    ends itself, so none is left behind training for a search that no longer exists."""
    import multiprocessing.connection
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="darch-parent-watch", daemon=True).start()


def evaluate_in_worker(recipe: EvaluatorRecipe, arch: Architecture, threads: int | None = None,
                       budget: Budget | None = None) -> tuple[EvalResult, str | None]:
    """The task every executor runs: evaluate one architecture (one rung of it, with a
    `budget`) with the recipe's evaluator (built once per process); any failure is a
    failed result."""
    for clock in _CLOCK:
        clock.value = time.time()
    try:
        return _evaluate(recipe, arch, threads, budget)
    finally:
        for clock in _CLOCK:
            clock.value = 0.0


def _evaluate(recipe: EvaluatorRecipe, arch: Architecture, threads: int | None,
              budget: Budget | None) -> tuple[EvalResult, str | None]:
    from darchlang.search.outcome import as_evaluate, evaluate_safely

    _set_threads(threads)
    try:
        evaluator = _evaluator(recipe)
    except Exception as exc:
        reason = exc.message if isinstance(exc, DarchError) else f"{type(exc).__name__}: {exc}"
        return (EvalResult.failed(f"the worker could not build the evaluator: {reason}",
                                  identity=arch.identity), traceback.format_exc())
    _set_threads(threads)  # building may have imported torch
    return evaluate_safely(as_evaluate(evaluator), arch, budget)


def _evaluator(recipe: EvaluatorRecipe) -> Any:
    built = _BUILT.get(recipe.key)
    if built is None:
        built = _BUILT[recipe.key] = recipe.build()
    return built


def _set_threads(threads: int | None) -> None:
    # Only where torch is loaded already: importing it for an evaluator that does not
    # use it would cost every worker a second or two.
    if threads is None or "torch" not in sys.modules:
        return
    torch = sys.modules["torch"]
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
