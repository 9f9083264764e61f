"""The `tpe` searcher's sampler is Optuna's TPE: the column cache changes its speed,
never its proposals, and reseeding it gives the draws of a fresh sampler."""

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


def trials_of(space, sampler, n: int = 30) -> list[tuple]:
    """Params and states of a study over `space` where some trials fail and some are
    pruned after reporting, so every kind of finished trial reaches the sampler."""
    objective = NKObjective(space, k=1, seed=3)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for number in range(n):
        trial = study.ask()
        arch = space.walk(lambda c: trial.suggest_categorical(  # noqa: B023
            c.name, list(range(len(c.options)))))
        score = objective(arch)
        if number % 7 == 5:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif number % 5 == 4:
            trial.report(score, 1)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, score)
    return [(t.params, t.state) for t in study.trials]


def test_column_cache_proposes_what_stock_tpe_does(medium):
    cached, stock = _sampler_class(optuna), optuna.samplers.TPESampler
    assert cached is not stock
    ours = trials_of(medium, cached(seed=5, **OPTIONS))
    theirs = trials_of(medium, stock(seed=5, **OPTIONS))
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
