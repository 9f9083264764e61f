"""The searcher interface: every searcher's candidates are valid, reproducible and
tolerate several pending asks; uniform is uniform, grid is exhaustive; the environment
gives clear errors."""

from __future__ import annotations

import collections

import pytest
from scipy.stats import chisquare
from search_spaces import MEDIUM, SMALL

import darchlang
from darchlang.environment import builtin_environment
from darchlang.errors import DarchError
from darchlang.search import Searcher, make_searcher, run_search, searcher_names
from darchlang.search.synthetic import NKObjective
from darchlang.train.result import EvalResult

ALL = ["random", "uniform", "grid", "evolution", "mcts", "smbo", "tpe"]
FAST = {"smbo": {"candidates": 32, "trees": 5, "startup": 4}, "tpe": {"startup": 4},
        "evolution": {"population": 4, "sample": 2}}


def space_of(text: str):
    return darchlang.load_string(text).space


@pytest.fixture(scope="module")
def medium():
    return space_of(MEDIUM)


@pytest.fixture(scope="module")
def small():
    return space_of(SMALL)


def test_every_builtin_searcher_is_registered():
    assert set(ALL) <= set(searcher_names())


def drive(space, name, seed, n, objective):
    """Ask and tell `n` times; the decision sequences handed out."""
    searcher = make_searcher(name, space, seed, **FAST.get(name, {}))
    out = []
    for _ in range(n):
        candidate = searcher.ask()
        if candidate is None:
            break
        out.append(candidate.decisions)
        searcher.tell(candidate, EvalResult("ok", objective(candidate.arch)))
    return out


@pytest.mark.parametrize("name", ALL)
def test_candidates_are_valid_and_reproducible(medium, name):
    objective = NKObjective(medium, k=1, seed=5)
    first = drive(medium, name, 7, 12, objective)
    assert first == drive(medium, name, 7, 12, objective)
    assert len(first) == 12
    for decisions in first:
        # every candidate is an architecture of the space that replays exactly
        assert medium.replay(list(decisions)).decisions == list(decisions)
    if name != "grid":
        assert first != drive(medium, name, 8, 12, objective)


@pytest.mark.parametrize("name", ALL)
def test_several_pending_asks_and_tells_in_any_order(medium, name):
    objective = NKObjective(medium, k=1, seed=5)
    searcher = make_searcher(name, medium, 3, **FAST.get(name, {}))
    handed = []
    for _round in range(3):
        batch = [searcher.ask() for _ in range(5)]
        assert len(searcher.pending) == 5
        for candidate in reversed(batch):  # results come back out of order
            searcher.tell(candidate, EvalResult("ok", objective(candidate.arch)))
        handed += [c.decisions for c in batch]
    assert not searcher.pending
    # nothing is handed out twice while pending or after (the space is large)
    assert len(set(handed)) == len(handed)


def test_telling_twice_is_an_error(medium):
    searcher = make_searcher("random", medium, 0)
    candidate = searcher.ask()
    searcher.tell(candidate, EvalResult("ok", 1.0))
    with pytest.raises(ValueError, match="told already"):
        searcher.tell(candidate, EvalResult("ok", 1.0))


@pytest.mark.parametrize("name", ["evolution", "mcts", "smbo", "tpe"])
def test_model_based_searchers_survive_failures(medium, name):
    objective = NKObjective(medium, k=1, seed=2)

    def sometimes_fails(arch):
        score = objective(arch)
        if score < 0.5:
            return EvalResult.failed("pretend it ran out of memory")
        return score

    result = run_search(medium, make_searcher(name, medium, 1, **FAST.get(name, {})),
                        sometimes_fails, 30)
    assert result.done == 30
    assert 0 < result.failed < 30
    assert result.best.score >= 0.5


@pytest.mark.slow
def test_uniform_visits_every_architecture_equally_often(small):
    assert small.count() == 10
    searcher = make_searcher("uniform", small, 11)
    n = 4000
    counts = collections.Counter()
    for _ in range(n):
        candidate = searcher.ask()
        counts[candidate.arch.identity] += 1
        searcher.tell(candidate, EvalResult("ok", 0.0))
    assert len(counts) == 10
    assert chisquare(list(counts.values())).pvalue > 0.01


def test_random_is_not_uniform_on_unequal_subtrees(small):
    """The chi-square test above has power: per-decision sampling fails it."""
    searcher = make_searcher("random", small, 11)
    counts = collections.Counter()
    for _ in range(4000):
        candidate = searcher.ask()
        counts[candidate.arch.identity] += 1
        searcher.tell(candidate, EvalResult("ok", 0.0))
    assert chisquare(list(counts.values())).pvalue < 1e-9


def test_grid_visits_each_architecture_once_then_stops(small):
    searcher = make_searcher("grid", small, 0)
    seen = []
    while (candidate := searcher.ask()) is not None:
        seen.append(candidate.arch.identity)
        searcher.tell(candidate, EvalResult("ok", 0.0))
    assert len(seen) == len(set(seen)) == small.count()
    assert seen == [a.identity for a in small.enumerate()]


def test_grid_search_ends_before_its_budget_when_exhausted(small):
    calls = []
    result = run_search(small, make_searcher("grid", small, 0), lambda a: calls.append(1) or 0.5,
                        budget=25)
    assert result.exhausted
    assert result.done == len(calls) == 10


def test_unknown_searcher_suggests_the_closest_name(small):
    with pytest.raises(DarchError) as err:
        make_searcher("evolutoin", small)
    assert err.value.message == "unknown searcher `evolutoin`"
    assert err.value.help == "did you mean `evolution`?"


def test_unknown_option_lists_the_known_ones(small):
    with pytest.raises(DarchError) as err:
        make_searcher("evolution", small, population_size=3)
    assert err.value.message == "searcher `evolution` has no option `population_size`"
    assert err.value.help == "did you mean `population`?"


def test_options_from_a_command_line_are_converted(small):
    searcher = make_searcher("evolution", small, 0, population="7", sample="3")
    assert (searcher.population, searcher.sample) == (7, 3)
    assert make_searcher("tpe", small, 0, multivariate="false").multivariate is False
    with pytest.raises(DarchError, match="expects a whole number, got `many`"):
        make_searcher("evolution", small, 0, population="many")


def test_config_names_the_searcher_seed_and_options(small):
    config = make_searcher("mcts", small, 4, exploration=0.3).config()
    assert config == {"searcher": "mcts", "seed": 4, "options": {"exploration": 0.3, "retries": 20}}


def test_no_seed_draws_one_that_is_recorded(small):
    searcher = make_searcher("random", small)
    assert isinstance(searcher.seed, int)
    assert searcher.config()["seed"] == searcher.seed


def test_a_new_searcher_registers_by_name(small):
    class FirstOption(Searcher):
        """Always the first option: the smallest possible searcher."""

        name = "first-option-test"

        def propose(self, rng):
            return self.space.walk(lambda choice: 0)

    env = builtin_environment()
    env.add_searcher(FirstOption, origin="this test")
    searcher = make_searcher("first-option-test", small, 0, env=env)
    assert searcher.ask().decisions == (0,)
    assert "first-option-test" not in searcher_names()  # only `env` has it
    with pytest.raises(ValueError, match=r"already registered \(from this test\); darchlang cannot"):
        env.add_searcher(type("Other", (FirstOption,), {"name": "first-option-test"}))


def test_mcts_never_proposes_an_architecture_twice(small):
    """Exhausted subtrees are skipped, so a small space is covered once, then done."""
    result = run_search(small, make_searcher("mcts", small, 0), lambda a: len(a.text) / 1000, 30)
    assert result.exhausted
    assert result.done == 10
    assert len({e.identity for e in result.evaluations}) == 10
    assert all(e.reused is None for e in result.evaluations)


@pytest.mark.parametrize(("name", "option", "value", "expected"), [
    ("evolution", "population", "0", "at least 1"),
    ("mcts", "exploration", "-1.0", "at least 0"),
    ("smbo", "epsilon", "1.5", "between 0 and 1"),
    ("tpe", "candidates", "0", "at least 1"),
])
def test_bad_option_values_are_refused(small, name, option, value, expected):
    with pytest.raises(DarchError) as err:
        make_searcher(name, small, 0, **{option: value})
    assert err.value.message == (
        f"option `{option}` of searcher `{name}` must be {expected}, got {value}"
    )
