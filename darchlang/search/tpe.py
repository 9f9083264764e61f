"""Optuna's Tree-structured Parzen Estimator, driven through its ask-and-tell API.

Each candidate is one Optuna trial. The space is walked as usual and every choice is
suggested by its stable name (`trial.suggest_categorical(name, option indices)`) at
the moment it becomes active, so a conditional space stays conditional: a choice
inside a branch that was not taken never appears in the trial. Optuna keeps its
trials in memory only; the darchlang journal is the record, and a resumed search
rebuilds the study by replaying it (`adopt` enqueues the recorded decisions as the
trial's fixed parameters). Under a scheduler each trial also gets its intermediate
values, and one stopped early is told as pruned.

Several objectives make the study a multi-objective one (one direction per objective;
values are told oriented, so every direction is "maximize"), which Optuna's
`TPESampler` handles as MOTPE (Ozaki et al., "Multiobjective tree-structured Parzen
estimator", JAIR 2022): the good trials are the best Pareto fronts, split by
hypervolume contribution. It is chosen over `NSGAIISampler` because it is the same
sampler, so it keeps TPE's handling of conditional choices (NSGA-II's generations
draw a parameter outside its fixed search space at random) and learns from the
first trials on, where NSGA-II waits for a whole population (50 by default) per
generation, more than most architecture searches can afford. Optuna cannot record
intermediate values of a multi-objective trial, so under a scheduler such a trial
gets none; one stopped early is still told as pruned.

One `TPESampler` serves the whole search, so its incremental caches (the search
space it has inferred, the trials it has read) carry over from ask to ask. Before
each ask its random streams are reseeded from (seed, ask number), following the rule
of `darchlang.search.base` that makes resumed searches identical to uninterrupted
ones: a reseeded sampler draws exactly what a fresh one with that seed would. The
sampler also keeps finished trials' parameters converted, by column, and splits
them into good and bad ones once per ask (see `_sampler_class`), which makes this
searcher faster than Optuna's own TPE loop on the
same space (`python bench/bench_search.py --only speed`).
"""

from __future__ import annotations

import operator
import random
import sys
from collections.abc import Sequence
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.search.base import Candidate, Searcher, check_option
from darchlang.search.objectives import Objectives
from darchlang.space.nodes import Choice
from darchlang.space.space import Space
from darchlang.train.result import EvalResult


class TPESearcher(Searcher):
    """TPE with `startup` random trials first; `multivariate` models choices jointly."""

    name = "tpe"
    several_objectives = True

    def __init__(
        self,
        space: Space,
        seed: int | None = None,
        *,
        startup: int = 10,
        candidates: int = 24,
        multivariate: bool = True,
    ):
        super().__init__(space, seed)
        check_option(self.name, "startup", startup, startup >= 0, "at least 0")
        check_option(self.name, "candidates", candidates, candidates >= 1, "at least 1")
        import optuna

        # Optuna logs a line per trial; the runner reports progress itself.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.startup = startup
        self.candidates = candidates
        self.multivariate = multivariate
        self._optuna = optuna
        sampler = _sampler_class(optuna)
        # its trials get no constraint values: darchlang's constraints refuse candidates
        # before they are evaluated
        extra = {"unconstrained": True} if sampler is not optuna.samplers.TPESampler else {}
        self.sampler = sampler(
            n_startup_trials=startup, n_ei_candidates=candidates, multivariate=multivariate,
            seed=self.seed, **extra,
        )
        self.study = optuna.create_study(direction="maximize", sampler=self.sampler)
        self._last: Any = None

    def set_objectives(self, objectives: Objectives) -> None:
        """A study with one direction per objective (before the first ask)."""
        super().set_objectives(objectives)
        if objectives.several:
            self.study = self._optuna.create_study(
                directions=["maximize"] * len(objectives.items), sampler=self.sampler)

    def _reseed(self, seed: int) -> None:
        """Give the sampler the random streams a `TPESampler(seed=seed)` starts with.

        Optuna exposes only `reseed_rng()` (a seed from the clock), so the two streams
        it draws from, its own and its random sampler's (for startup trials), are
        seeded by hand; `tests/test_search_tpe.py` checks that a reseeded sampler
        draws what a fresh one does."""
        self.sampler._rng.rng.seed(seed)
        self.sampler._random_sampler._rng.rng.seed(seed)

    def propose(self, rng: random.Random) -> Architecture:
        self._reseed(rng.randrange(2**31))
        trial = self.study.ask()
        self._last = trial
        return self.space.walk(lambda choice: self._suggest(trial, choice))

    def adopt(self, decisions: Sequence[int]) -> Candidate:
        arch = self.space.replay(list(decisions))
        self.study.enqueue_trial(dict(zip(arch.names, arch.decisions, strict=True)))
        self._reseed(self.rng_for(self.asked).randrange(2**31))
        trial = self.study.ask()
        self._last = trial
        replayed = self.space.walk(lambda choice: self._suggest(trial, choice))
        if replayed.decisions != arch.decisions:
            raise AssertionError("an enqueued Optuna trial did not replay its decisions")
        return self._hand_out(arch)

    def on_pending(self, candidate: Candidate) -> None:
        candidate.token = self._last
        self._last = None

    def learn(self, candidate: Candidate, result: EvalResult) -> None:
        # A scheduled search's candidate brings its curve, and one a scheduler stopped
        # early is told as pruned, so TPE ranks it by how far it got and how well it
        # did there, as Optuna's TPE does with its pruners (BOHB-like with Hyperband).
        trial, states = candidate.token, self._optuna.trial.TrialState
        values = self.values(result)
        several = self.objectives.several
        sign = -1.0 if self.objectives.first.minimize else 1.0
        for step, value in [] if several else result.metrics.get("curve") or []:
            if value is not None and value == value:
                trial.report(sign * float(value), int(step))
        if values is None:
            self._tell(trial, None, states.FAIL)
        elif result.metrics.get("stopped"):
            self._tell(trial, None, states.PRUNED)
        else:
            self._tell(trial, list(values) if several else values[0], None)

    def _tell(self, trial: Any, value: float | list[float] | None, state: Any) -> None:
        # `Study.tell` returns a deep copy of the finished trial, which costs more than
        # the rest of a tell and is thrown away here; the function it wraps does not.
        try:
            from optuna.study._tell import _tell_with_warning
        except ImportError:  # a future Optuna moved it: the public call does the same
            self.study.tell(trial, value, state=state)
            return
        _tell_with_warning(self.study, trial, value, state)

    @staticmethod
    def _suggest(trial: Any, choice: Choice) -> int:
        return trial.suggest_categorical(choice.name, list(range(len(choice.options))))


def _sampler_class(optuna: Any) -> type:
    """`TPESampler` with two caches that change its speed, never its proposals.

    - **Parameters by column.** For every suggestion TPE converts the parameters of
      every finished trial to its internal representation again (`_get_internal_repr`,
      a third of a sample's time at 200 trials). A finished trial never changes, so its
      values are converted once, into one array per parameter indexed by trial number
      (NaN where the trial lacks the parameter; one sampler serves one study), and each
      call gathers its rows.
    - **One split per ask.** TPE splits the finished trials into good and bad ones for
      every sample it draws: once for the choices it models jointly and once more for
      each conditional choice it samples alone (a third of the samples on a
      conditional space). The trials it learns from do not change while one trial is
      being sampled (a tell comes between asks), so the split is computed once per
      set of them and reused.
    - **The joint space, uncopied.** The choices TPE models jointly are those every
      finished trial has; Optuna updates that intersection incrementally and then
      returns a deep copy of it for every trial. The sampler only reads it, so it
      gets the intersection itself.

    `tests/test_search_tpe.py` checks that it proposes what a stock `TPESampler` does,
    single- and multi-objective, with failed and pruned trials. An Optuna without the
    methods these caches build on gets the stock sampler."""
    import numpy as np

    stock = optuna.samplers.TPESampler
    module = sys.modules[stock.__module__]
    needed = (callable(getattr(stock, name, None)) for name in (
        "_get_internal_repr", "_build_parzen_estimator", "_compute_acquisition_func",
        "_compare"))
    intersection = sys.modules[optuna.search_space.IntersectionSearchSpace.__module__]
    if not all(needed) or not all(callable(getattr(place, name, None)) for place, name in (
            (module, "_split_trials"), (intersection, "_calculate"))):
        return stock
    stock_split = module._split_trials
    split_complete = getattr(module, "_split_complete_trials", None)
    split_pruned = getattr(module, "_split_pruned_trials", None)
    states = optuna.trial.TrialState

    def split_trials(study: Any, trials: list, n_below: int, constrained: bool) -> tuple:
        """Optuna's split of `trials` into good and bad ones. When no trial can have
        constraint values, none is infeasible: the stock split would still read every
        trial's constraints on every ask (a fifth of an ask at 200 trials), so the
        split is made directly from the same parts, the complete trials' and the
        pruned trials' splits, in the same order."""
        if constrained or split_complete is None or split_pruned is None:
            return stock_split(study, trials, n_below)
        complete = [t for t in trials if t.state == states.COMPLETE]
        pruned = [t for t in trials if t.state == states.PRUNED]
        running = [t for t in trials if t.state == states.RUNNING]
        good, bad = split_complete(complete, study, n_below)
        good_pruned, bad_pruned = split_pruned(pruned, study, max(0, n_below - len(good)))
        by_number = operator.attrgetter("number")
        return (sorted(good + good_pruned, key=by_number),
                sorted(bad + bad_pruned + running, key=by_number))

    class UncopiedIntersectionSearchSpace(optuna.search_space.IntersectionSearchSpace):
        def calculate(self, study: Any, use_cache: bool = False) -> dict:
            self._search_space, self._cached_trial_number = intersection._calculate(
                study._get_trials(deepcopy=False, use_cache=use_cache), self._include_pruned,
                self._search_space, self._cached_trial_number)
            return dict(sorted((self._search_space or {}).items()))

    class CachingTPESampler(stock):
        def __init__(self, *, unconstrained: bool = False, **kwargs: Any):
            super().__init__(**kwargs)
            self.unconstrained = unconstrained
            """The study's trials never get constraint values (`Trial.set_constraint`):
            the split can skip reading them (see `split_trials`)."""
            self._search_space = UncopiedIntersectionSearchSpace(include_pruned=True)
            self._columns: dict[str, np.ndarray] = {}
            self._recorded: set[int] = set()
            self._capacity = 64
            self._split: tuple[tuple, tuple[list, list]] | None = None

        def _record(self, trial: Any) -> None:
            if trial.number >= self._capacity:
                self._capacity = 2 * (trial.number + 1)
                for name, column in self._columns.items():
                    self._columns[name] = np.full(self._capacity, np.nan)
                    self._columns[name][:len(column)] = column
            for name, dist in trial.distributions.items():
                if name not in self._columns:
                    self._columns[name] = np.full(self._capacity, np.nan)
                self._columns[name][trial.number] = dist.to_internal_repr(trial.params[name])
            self._recorded.add(trial.number)

        def _get_internal_repr(self, trials: list, search_space: dict, study: Any) -> dict:
            for trial in trials:
                if trial.number not in self._recorded:
                    if not trial.state.is_finished():
                        return super()._get_internal_repr(trials, search_space, study)
                    self._record(trial)
            if not search_space:
                return {}
            rows = np.fromiter((trial.number for trial in trials), np.intp, len(trials))
            absent = np.full(len(trials), np.nan)
            gathered = {name: self._columns[name][rows] if name in self._columns else absent
                        for name in search_space}
            # The stock method keeps the trials that have every parameter of the space.
            keep = ~np.isnan(np.array(list(gathered.values()))).any(axis=0)
            return {name: column[keep] for name, column in gathered.items()}

        def _sample(self, study: Any, trial: Any, search_space: dict) -> dict:
            below, above = self._good_and_bad(study, trial)
            mpe_below = self._build_parzen_estimator(study, search_space, below, True)
            mpe_above = self._build_parzen_estimator(study, search_space, above, False)
            samples = mpe_below.sample(self._rng.rng, self._n_ei_candidates)
            scores = self._compute_acquisition_func(samples, mpe_below, mpe_above)
            best = self._compare(samples, scores)
            return {name: dist.to_external_repr(best[name])
                    for name, dist in search_space.items()}

        def _good_and_bad(self, study: Any, trial: Any) -> tuple[list, list]:
            """The stock split of the trials TPE learns from, once per set of them.

            Those are the finished trials and, with the constant liar (Optuna's
            default), the other running ones, which are told as bad. Finished states
            are final, so the number of finished trials and the numbers of the running
            ones name the set exactly."""
            liar = self._constant_liar
            wanted = (states.COMPLETE, states.PRUNED) + ((states.RUNNING,) if liar else ())
            trials = study._get_trials(deepcopy=False, states=wanted, use_cache=not liar)
            if liar:
                trials = [other for other in trials if other.number != trial.number]
            running = tuple(other.number for other in trials if other.state == states.RUNNING)
            if self._gamma is None:
                self._gamma = (module.default_gamma if len(study.directions) <= 1
                               else module.default_gamma_multiobjective)
            n_below = self._gamma(len(trials) - len(running))
            key = (len(trials) - len(running), running, n_below)
            if self._split is None or self._split[0] != key:
                constrained = not self.unconstrained or self._constraints_func is not None
                self._split = key, split_trials(study, trials, n_below, constrained)
            return self._split[1]

    return CachingTPESampler
