"""A built search space: count it, sample it, replay and enumerate its architectures."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.environment import Limits
from darchlang.errors import DarchError
from darchlang.process import deep_recursion, no_cyclic_gc
from darchlang.space.count import Counter
from darchlang.space.naming import NamedChoice, name_choices
from darchlang.space.nodes import RecordNode, SNode
from darchlang.space.size import check_largest
from darchlang.space.walk import LayerTexts, Walk, draw, uniform_draws


@dataclass
class Space:
    """The network sub-space (usually bound to `space`) and the evaluator settings
    (usually `train = hyperparams {...}`), searched together as one space."""

    network: SNode | None
    hyperparams: RecordNode | None = None
    network_name: str = "space"
    hyperparams_name: str = "train"
    env: dict[str, Any] | None = None
    limits: Limits | None = None

    def __post_init__(self) -> None:
        # Naming makes a path string per node: a pass of the cyclic collector over the
        # program's nodes meanwhile would cost as much as the naming (see `process`).
        with deep_recursion(), no_cyclic_gc():
            self._build()

    def _build(self) -> None:
        # Names belong to the space, not to the nodes: two spaces built from one program
        # (the REPL's `:sample other`) may reach a choice by different paths.
        naming = name_choices(self._roots())
        self.choices: list[NamedChoice] = list(naming.choices)
        self.paths: dict[int, str] = naming.paths
        self.by_uid = {c.uid: c for c in self.choices}
        self.by_name = {c.name: c for c in self.choices}
        self._layer_texts = LayerTexts()
        self._weighted = any(c.weights is not None for c in self.choices)
        limits = self.limits or Limits()
        self._uniform_work = limits.uniform_work
        self._count_steps = limits.count_steps
        self._counter = Counter(self.by_uid, limits.count_steps)
        # refused before anything builds one: sampling a 2^40-layer architecture hangs
        self.max_layers = check_largest([n for _, n in self._roots()], limits.layers)

    def _roots(self) -> list[tuple[str, SNode]]:
        roots = []
        if self.network is not None:
            roots.append((self.network_name, self.network))
        if self.hyperparams is not None:
            roots.append((self.hyperparams_name, self.hyperparams))
        return roots

    def __repr__(self) -> str:
        from darchlang.notebook import space_repr

        return space_repr(self)

    def _repr_html_(self) -> str:
        from darchlang.notebook import space_html

        return space_html(self)

    # -- counting -------------------------------------------------------------------
    def count(self) -> int:
        """The exact number of architectures (distinct decision sequences)."""
        return self.count_given({})

    def count_given(self, decided: dict[int, int]) -> int:
        """Architectures whose choices in `decided` (uid -> option) take those options."""
        # The limit holds per count, not per space. Counting makes many small objects and
        # no cycles, as building does (see `process`): the collector's passes meanwhile
        # would walk the whole space, for nothing.
        with deep_recursion(), no_cyclic_gc():
            return self._counter.total([n for _, n in self._roots()], decided)

    def count_node(self, node: SNode, steps: int | None = None) -> int:
        """Architectures of one sub-space on its own, within `steps` conditionings (the
        space's count limit unless given)."""
        limit = self._count_steps if steps is None else min(steps, self._count_steps)
        with deep_recursion():
            return self._counter.total([node], {}, limit)

    def try_count_node(self, node: SNode, steps: int) -> tuple[int | None, int]:
        """`count_node` for `show`, which counts every node under one budget: the count,
        or None where the part is too entangled to count alone within `steps`, and the
        conditionings it took either way."""
        try:
            n: int | None = self.count_node(node, steps)
        except DarchError:
            n = None
        return n, max(0, min(steps, self._count_steps) - max(self._counter.steps, 0))

    # -- picking ----------------------------------------------------------------------
    def walk(self, decide: Callable[[NamedChoice], int]) -> Architecture:
        """Build the architecture that `decide` picks, choice by choice, in visiting order."""
        w = Walk(decide, self.by_uid, self.paths, self._layer_texts)
        with deep_recursion():  # spaces nest as deep as programs do
            network = w.visit(self.network) if self.network is not None else None
            hyper = w.visit(self.hyperparams) if self.hyperparams is not None else {}
        return Architecture(
            network, hyper, w.decisions, w.names, w.values, self.network_name, self.hyperparams_name
        )

    def sample(self, seed: int | random.Random | None = None) -> Architecture:
        """Each active decision uniform over its options (DeepArchitect's random search),
        or drawn by the choice's `weights:` when it has them."""
        rng = seeded(seed)
        if self._weighted:
            return self.walk(lambda c: draw(c, rng))
        return self.walk(uniform_draws(rng))

    def sample_uniform(self, seed: int | random.Random | None = None) -> Architecture:
        """Every architecture equally likely: options weighted by their exact completions."""
        rng = seeded(seed)
        decided: dict[int, int] = {}
        work = sum(len(c.options) for c in self.choices) * len(self.choices)
        if work > self._uniform_work:
            raise DarchError(
                f"sampling this space uniformly would count it once per option of each of "
                f"its {len(self.choices):,} choices: {work:,} units of work, past the limit "
                f"of {self._uniform_work:,}",
                help="sample without --uniform (each decision is then uniform over its "
                     "options), or use the random searcher instead of uniform")

        def decide(choice: NamedChoice) -> int:
            weights = [
                self.count_given({**decided, choice.uid: i}) for i in range(len(choice.options))
            ]
            total = sum(weights)
            pick = rng.randrange(total)
            for i, w in enumerate(weights):
                if pick < w:
                    decided[choice.uid] = i
                    return i
                pick -= w
            raise AssertionError("weights sum to total")

        return self.walk(decide)

    def replay(self, decisions: Sequence[int]) -> Architecture:
        """Rebuild the architecture of a decision sequence; it must fit exactly."""
        it = iter(enumerate(decisions))

        def decide(choice: NamedChoice) -> int:
            step = next(it, None)
            if step is None:
                raise DarchError(
                    f"the decision list ends before choice `{choice.name}` "
                    f"({len(decisions)} decisions given)"
                )
            return step[1]

        result = self.walk(decide)
        if len(result.decisions) != len(decisions):
            raise DarchError(
                f"the decision list is too long: {len(decisions)} given, "
                f"the architecture uses {len(result.decisions)}"
            )
        return result

    def replay_names(self, values: dict[str, int]) -> Architecture:
        """Rebuild from option indices given by choice name (missing names take 0)."""
        return self.walk(lambda c: values.get(c.name, 0))

    def enumerate(self, limit: int | None = None) -> Iterator[Architecture]:
        """Every architecture once, in lexicographic order of decision sequences."""
        prefix: list[int] = []
        produced = 0
        while True:
            sizes: list[int] = []

            def decide(choice: NamedChoice, sizes=sizes, prefix=prefix) -> int:
                step = len(sizes)
                sizes.append(len(choice.options))
                return prefix[step] if step < len(prefix) else 0

            result = self.walk(decide)
            yield result
            produced += 1
            if limit is not None and produced >= limit:
                return
            decisions = result.decisions
            i = len(decisions) - 1
            while i >= 0 and decisions[i] + 1 >= sizes[i]:
                i -= 1
            if i < 0:
                return
            prefix = decisions[:i] + [decisions[i] + 1]


def check_seed(seed: Any) -> int:
    """A seed as given, when it is an integer of at least 0; else a DarchError.

    Python's generator seeds with the absolute value of an integer (`-1` is `1`) and
    hashes any other value (`"x"`, `1.5`), so a mistyped seed would pick silently
    repeated or unrecorded architectures; every entry of a seed refuses those instead
    (the CLI's `--seed`, `Space.sample`, the searchers, the REPL)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DarchError(f"a seed must be an integer of at least 0, got {seed!r}",
                         help="give 0, 1, 2, ...: each seed picks the same architectures "
                              "on every run")
    return seed


def seeded(seed: int | random.Random | None) -> random.Random:
    """The random stream of a seed (an integer of at least 0), a stream itself, or a
    fresh one for None."""
    if isinstance(seed, random.Random):
        return seed
    return random.Random(None if seed is None else check_seed(seed))
