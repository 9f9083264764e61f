"""The one searcher interface (ask and tell), and finding searchers by name.

A searcher proposes architectures of a `Space` as decision sequences and learns from
their results. The runner alone drives it:

    candidate = searcher.ask()            # None when the searcher has nothing left
    ...evaluate candidate.arch...
    searcher.tell(candidate, result)

Several asks may be outstanding before their tells arrive, in any order (parallel
search): every searcher treats the candidates it handed out and has not heard back
about as *pending* and does not propose one of them again.

Reproducibility and resuming rest on one rule: **the randomness of the k-th candidate
comes from `(seed, k)` alone** (`Searcher.rng_for`). A searcher is then a
deterministic function of its seed and the sequence of asks and tells it has seen,
so replaying a journal's events (`adopt` for each recorded ask, `tell` for each
recorded result, in their recorded order) rebuilds exactly the state of the search
that wrote it, and the resumed search goes on as the uninterrupted one would have.
Random, uniform and grid proposals depend on `k` only, so they are the same whatever
order results arrive in.
"""

from __future__ import annotations

import inspect
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError, did_you_mean
from darchlang.search.objectives import Objectives
from darchlang.space.nodes import Choice
from darchlang.space.space import Space, check_seed
from darchlang.train.result import EvalResult

if TYPE_CHECKING:
    from darchlang.environment import Environment


@dataclass(eq=False)
class Candidate:
    """An architecture handed out by a searcher, with the searcher's private note on it.

    `index` is the ask number (0, 1, 2, ...), which is also the row of the journal;
    `token` is whatever the searcher needs to learn from the result (an Optuna trial,
    the tree path of MCTS); the runner never looks inside it.
    """

    arch: Architecture
    index: int
    token: Any = None

    @property
    def decisions(self) -> tuple[int, ...]:
        return tuple(self.arch.decisions)


class Searcher(ABC):
    """Base of all searchers: bookkeeping of asks, pending candidates and seeds.

    Subclasses implement `propose(rng)` (pick the next architecture, or None when
    exhausted) and `learn(candidate, result)`; they may override `on_pending` and
    `on_settled` to react to candidates going out and coming back. A searcher's
    options are its constructor's keyword-only arguments, each stored on the instance
    under its own name: `make_searcher` fills them by name (converting command-line
    strings) and `config` records them in the journal.

    `objectives` says what the searcher optimises (`make_searcher` sets it); `score`
    and `values` read a result through it, oriented so that higher is better, so a
    searcher written for one maximised score minimises a loss unchanged. Only those
    with `several_objectives` may be given several.
    """

    name: ClassVar[str] = ""
    several_objectives: ClassVar[bool] = False
    objectives: Objectives = Objectives()

    def __init__(self, space: Space, seed: int | None = None):
        self.space = space
        # No seed still means a reproducible search: one is drawn and recorded.
        self.seed = check_seed(seed) if seed is not None else \
            random.SystemRandom().randrange(2**31)
        self.asked = 0
        self.told = 0
        self.pending: dict[int, Candidate] = {}
        self._seen: set[tuple[int, ...]] = set()

    # -- the interface the runner uses ------------------------------------------------
    def ask(self) -> Candidate | None:
        """The next architecture to evaluate, or None when the searcher is exhausted."""
        rng = self.rng_for(self.asked)
        arch = self.propose(rng)
        if arch is None:
            return None
        return self._hand_out(arch)

    def adopt(self, decisions: Sequence[int]) -> Candidate:
        """Take a recorded candidate (from a journal) as if this searcher had asked it."""
        arch = self.space.replay(list(decisions))
        return self._hand_out(arch)

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        """Learn the result of a candidate handed out by `ask` or `adopt`."""
        if self.pending.pop(candidate.index, None) is None:
            raise ValueError(f"candidate #{candidate.index} was not handed out or was told already")
        self.told += 1
        self.on_settled(candidate)
        self.learn(candidate, result)

    def config(self) -> dict[str, Any]:
        """Name, seed and options: what must match for a journal to be resumed."""
        config = {"searcher": self.name, "seed": self.seed, "options": self.options()}
        if not self.objectives.default:  # a single maximised score records nothing
            config["objectives"] = self.objectives.config()
        return config

    def options(self) -> dict[str, Any]:
        """The searcher's own settings, read from the constructor's keyword arguments."""
        out = {}
        for param in _option_params(type(self)):
            out[param.name] = getattr(self, param.name)
        return out

    # -- for subclasses -------------------------------------------------------------
    def rng_for(self, index: int) -> random.Random:
        """The random stream of the `index`-th candidate: a function of (seed, index) only."""
        return random.Random(self.seed * 1_000_003 + index)

    def set_objectives(self, objectives: Objectives) -> None:
        """Follow `objectives` from now on (before the first ask)."""
        self.objectives = objectives

    def score(self, result: EvalResult) -> float | None:
        """The first objective of a result, higher is better; None for a failure (or a
        result without that objective's value)."""
        values = self.objectives.oriented(result)
        return None if values is None else values[0]

    def values(self, result: EvalResult) -> tuple[float, ...] | None:
        """Every objective of a result, each higher-is-better; None for a failure."""
        return self.objectives.oriented(result)

    def seen(self, decisions: Sequence[int]) -> bool:
        """Whether a decision sequence was handed out before (told or still pending)."""
        return tuple(decisions) in self._seen

    @abstractmethod
    def propose(self, rng: random.Random) -> Architecture | None:
        """Pick the next architecture using only `rng` and the searcher's state."""

    def learn(self, candidate: Candidate, result: EvalResult) -> None:  # noqa: B027
        """Update the state from a result; searchers without a model need nothing."""

    def on_pending(self, candidate: Candidate) -> None:  # noqa: B027
        """A candidate went out (ask or adopt); its result is not known yet."""

    def on_settled(self, candidate: Candidate) -> None:  # noqa: B027
        """A pending candidate's result arrived (called just before `learn`)."""

    def _hand_out(self, arch: Architecture) -> Candidate:
        candidate = Candidate(arch, self.asked)
        self.asked += 1
        self.pending[candidate.index] = candidate
        self._seen.add(candidate.decisions)
        self.on_pending(candidate)
        return candidate


def check_option(searcher: str, name: str, value: float, ok: bool, expected: str) -> None:
    """Refuse a bad searcher option with the same error wherever it came from: a
    `BadOption`, so `-o population=0` is a usage error as `-o popsize=3` is."""
    if not ok:
        raise BadOption(f"option `{name}` of searcher `{searcher}` must be {expected}, got {value}")


def score_of(result: EvalResult) -> float | None:
    """The score a searcher learns from: None for a failed evaluation."""
    if result.status != "ok" or result.score is None:
        return None
    return float(result.score)


def mutate(space: Space, arch: Architecture, rng: random.Random) -> Architecture:
    """Change one active decision that has an alternative; re-walk the rest by name.

    Returns `arch` itself when no active choice has a second option.
    """
    decide = mutation(space, arch.names, arch.decisions, rng)
    return arch if decide is None else space.walk(decide)


def mutation(space: Space, names: Sequence[str], decisions: Sequence[int], rng: random.Random
             ) -> Callable[[Choice], int] | None:
    """The walk's `decide` for one mutation of a decision sequence: one active decision
    that has an alternative changes, the others keep their options by name and what
    the change makes active is drawn anew (None when nothing can change)."""
    movable = [
        (name, index)
        for name, index in zip(names, decisions, strict=True)
        if len(space.by_name[name].options) > 1
    ]
    if not movable:
        return None
    name, old = rng.choice(movable)
    new = rng.randrange(len(space.by_name[name].options) - 1)
    new += new >= old
    values = dict(zip(names, decisions, strict=True))
    values[name] = new

    def decide(choice: Choice) -> int:
        index = values.get(choice.name)
        if index is not None and 0 <= index < len(choice.options):
            return index
        return rng.randrange(len(choice.options))

    return decide


# -- by name (the searchers live in an Environment) -------------------------------


def searcher_names(env: Environment | None = None) -> list[str]:
    """Registered searcher names, in registration order."""
    return list(_env(env).searchers)


def searcher_class(name: str, env: Environment | None = None) -> type[Searcher]:
    return _env(env).searcher(name)


def searcher_options(name: str, env: Environment | None = None) -> dict[str, Any]:
    """A searcher's options with their defaults (for help texts and docs)."""
    return {p.name: p.default for p in _option_params(searcher_class(name, env))}


class UnsupportedObjectives(DarchError):
    """A searcher asked to follow several objectives that it cannot (a usage error)."""


class BadOption(DarchError):
    """A searcher option that does not exist or whose value is of the wrong kind (a
    usage error: the command line's `-o KEY=VALUE`)."""


def multi_objective_searchers(env: Environment | None = None) -> list[str]:
    """The registered searchers that can follow several objectives."""
    return [n for n in searcher_names(env) if searcher_class(n, env).several_objectives]


def make_searcher(name: str, space: Space, seed: int | None = None,
                  env: Environment | None = None, *, objectives: Objectives | None = None,
                  **options: Any) -> Searcher:
    """Build a registered searcher; string option values (from a command line) are
    converted to the type of the option's default. `objectives` (one maximised score
    by default) must be a single one unless the searcher can follow several."""
    cls = searcher_class(name, env)
    objectives = objectives or Objectives()
    if objectives.several and not cls.several_objectives:
        can = multi_objective_searchers(env)
        raise UnsupportedObjectives(
            f"searcher `{name}` follows one objective, not {len(objectives.items)} "
            f"({', '.join(objectives.texts())})",
            help=f"use one of the searchers that can: {', '.join(can)}")
    params = {p.name: p for p in _option_params(cls)}
    converted = {}
    for key, value in options.items():
        param = params.get(key)
        if param is None:
            known = ", ".join(params) or "none"
            raise BadOption(
                f"searcher `{name}` has no option `{key}`",
                help=did_you_mean(key, params) or f"its options: {known}",
            )
        converted[key] = _convert(name, key, value, param.default)
    searcher = cls(space, seed, **converted)
    searcher.set_objectives(objectives)
    return searcher


def _option_params(cls: type[Searcher]) -> list[inspect.Parameter]:
    sig = inspect.signature(cls.__init__)
    return [p for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def _convert(searcher: str, key: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return lowered in ("true", "1", "yes")
        return type(default)(value)
    except ValueError:
        raise BadOption(
            f"option `{key}` of searcher `{searcher}` expects {_KINDS[type(default)]}, "
            f"got `{value}`", help=f"e.g. -o {key}={_text(default)}"
        ) from None


# What an option's value must be, by the type of its default, in words.
_KINDS = {bool: "true or false", int: "a whole number", float: "a number"}


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _env(env: Environment | None) -> Environment:
    from darchlang.environment import default_environment

    return env or default_environment()
