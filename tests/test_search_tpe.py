"""The `tpe` searcher's sampler is Optuna's TPE: its caches (parameters by column, one
split per ask) change its speed, never its proposals, and reseeding it gives the draws
of a fresh sampler."""

from __future__ import annotations

import optuna
import pytest
from search_spaces import MEDIUM

import darchlang
from darchlang.search.synthetic import NKObjective
from darchlang.search.tpe import TPESearcher, _sampler_class
from darchlang.train.result import EvalResult

optuna.logging.set_verbosity(optuna.logging.WARNING)
OPTIONS = {"n_startup_trials": 4, "n_ei_candidates": 24, "multivariate": True}


@pytest.fixture(scope="module")
def medium():
    return darchlang.load_string(MEDIUM).space


def trials_of(space, sampler, n: int = 30, objectives: int = 1, in_flight: int = 1) -> list:
    """Params and states of a study over `space` where some trials fail and some are
    pruned after reporting, so every kind of finished trial reaches the sampler. With
    two objectives the second is the architecture's number of decisions, minimized.
    With `in_flight` trials asked before the oldest is told, as a search with workers
    does, the constant liar sees running trials."""
    objective = NKObjective(space, k=1, seed=3)
    directions = ["maximize", "minimize"][:objectives]
    study = optuna.create_study(directions=directions, sampler=sampler)
    running = []
    for number in range(n):
        trial = study.ask()
        arch = space.walk(lambda c: trial.suggest_categorical(  # noqa: B023
            c.name, list(range(len(c.options)))))
        running.append((number, trial, arch))
        if len(running) == in_flight or number == n - 1:
            for number, trial, arch in running:
                _tell(study, number, trial, objective(arch), len(arch.decisions), objectives)
            running = []
    return [(t.params, t.state) for t in study.trials]


def _tell(study, number: int, trial, score: float, size: int, objectives: int) -> None:
    if number % 7 == 5:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    elif number % 5 == 4:
        if objectives == 1:  # Optuna keeps no intermediate values with several
            trial.report(score, 1)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, [score, size][:objectives])


@pytest.mark.parametrize(("objectives", "in_flight", "liar"), [(1, 3, True)] + [
    pytest.param(*case, marks=pytest.mark.slow)
    for case in [(1, 1, True), (1, 1, False), (2, 1, True), (2, 3, True), (1, 3, False)]])
def test_caching_sampler_proposes_what_stock_tpe_does(medium, objectives, in_flight, liar):
    cached, stock = _sampler_class(optuna), optuna.samplers.TPESampler
    assert cached is not stock
    options = {**OPTIONS, "constant_liar": liar}
    ours, theirs = (trials_of(medium, sampler, objectives=objectives, in_flight=in_flight)
                    for sampler in (cached(seed=5, unconstrained=True, **options),
                                    stock(seed=5, **options)))
    assert ours == theirs
    # the space is conditional: trials differ in which choices they have
    assert len({frozenset(params) for params, _ in ours}) > 1


def test_reseeded_sampler_draws_what_a_fresh_one_does(medium):
    searcher = TPESearcher(medium, 0, startup=4)
    for _ in range(6):  # startup and model-based asks, each reseeded from (seed, ask)
        candidate = searcher.ask()
        searcher.tell(candidate, EvalResult("ok", 0.5))
    searcher._reseed(123)
    reseeded = searcher.sampler
    fresh = _sampler_class(optuna)(seed=123, **OPTIONS)
    assert reseeded._rng.rng.randint(2**31) == fresh._rng.rng.randint(2**31)
    assert (reseeded._random_sampler._rng.rng.randint(2**31)
            == fresh._random_sampler._rng.rng.randint(2**31))


@pytest.mark.filterwarnings("ignore:`constraints_func` has been deprecated:FutureWarning")
def test_caching_sampler_with_constraints_proposes_what_stock_tpe_does(medium):
    """With constraints some trials are infeasible, which the split ranks apart: the
    caching sampler then takes Optuna's own split."""
    def constraints(trial):
        return [1.0 if trial.number % 3 == 0 else -1.0]

    cached, stock = _sampler_class(optuna), optuna.samplers.TPESampler
    options = {**OPTIONS, "constraints_func": constraints}
    ours, theirs = (trials_of(medium, sampler(seed=7, **options), in_flight=2)
                    for sampler in (cached, stock))
    assert ours == theirs
