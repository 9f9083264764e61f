"""The decision-only fast path draws exactly what a walk of the space would."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from search_spaces import MEDIUM

import darchlang
from darchlang.search.base import mutate
from darchlang.search.skeleton import Skeleton, structural_choices
from darchlang.space.walk import draw

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Structure read from values: a repeat count, a condition and a computed width.
COMPUTED = """
depth = one_of(1, 2, 3)
wide = one_of(true, false)
f = one_of(8, 16)
space = concat [
    repeat(conv2d(filters: f * 2, size: one_of(1, 3)), depth),
    if wide then conv2d(filters: one_of(32, 64), size: 3) else relu(),
    affine(units: one_of(10, 20)),
]
"""


def spaces():
    yield "medium", darchlang.load_string(MEDIUM).space
    yield "computed", darchlang.load_string(COMPUTED).space
    for name in ("cifar10_complex", "nasbench201", "derived_values", "shared_choices",
                 "inception"):
        yield name, darchlang.load_file(EXAMPLES / f"{name}.darch").space


@pytest.mark.parametrize("name,space", list(spaces()), ids=lambda v: v if isinstance(v, str) else "")
def test_draws_and_mutations_match_the_walk(name, space):
    skeleton = Skeleton(space)
    for rounds in range(2):  # the second round reads the trie the first one filled
        for seed in range(40):
            arch = space.sample(random.Random(seed))
            rng = random.Random(seed)
            names, decisions = skeleton.draw(lambda c, rng=rng: draw(c, rng))
            assert (names, decisions) == (arch.names, arch.decisions), (name, seed, rounds)
            child = mutate(space, arch, random.Random(seed + 1000))
            assert skeleton.mutate(names, decisions, random.Random(seed + 1000)) == \
                (child.names, child.decisions)


def test_structural_choices_are_those_that_shape_the_walk():
    space = darchlang.load_string(COMPUTED).space
    structural = {c.name for c in space.choices if c.uid in structural_choices(space)}
    free = {c.name for c in space.choices} - structural
    by_value = {c.name: [o.value for o in c.options] for c in space.choices}
    assert {n for n in structural if by_value[n] == [1, 2, 3]}  # the repeat count
    assert {n for n in structural if by_value[n] == [True, False]}  # the condition
    assert {n for n in structural if by_value[n] == [8, 16]}  # read by `f * 2`
    assert {n for n in free if by_value[n] == [10, 20]}  # a width: no effect on the shape
