"""Option weights: `one_of(..., weights: [...])` biases random sampling only."""

import json
import random
import subprocess
import sys
from collections import Counter

import pytest

import darchlang
from darchlang import DarchError

WEIGHTED = "space = dropout(keep: one_of(0.2, 0.5, 0.9, weights: [0.5, 0.3, 0.2]))"


def space_of(text):
    return darchlang.load_string(text, "w.darch").space


def keeps(space, n, pick):
    rng = random.Random(7)
    return Counter(pick(space)(rng).network.attrs["keep"] for _ in range(n))


def test_weights_bias_sampling_in_proportion():
    space = space_of(WEIGHTED)
    seen = keeps(space, 4000, lambda s: s.sample)
    for value, weight in zip((0.2, 0.5, 0.9), (0.5, 0.3, 0.2), strict=True):
        assert abs(seen[value] / 4000 - weight) < 0.03, seen


def test_weights_leave_count_replay_and_uniform_sampling_alone():
    weighted = space_of(WEIGHTED)
    plain = space_of("space = dropout(keep: one_of(0.2, 0.5, 0.9))")
    assert weighted.count() == plain.count() == 3
    assert weighted.replay([2]).network.attrs["keep"] == 0.9
    assert keeps(weighted, 300, lambda s: s.sample_uniform) == \
        keeps(plain, 300, lambda s: s.sample_uniform)


def test_unweighted_sampling_keeps_its_random_stream():
    space = space_of("space = dropout(keep: one_of(0.2, 0.5, 0.9))")
    rng = random.Random(3)
    expected = [[0.2, 0.5, 0.9][rng.randrange(3)] for _ in range(50)]
    rng = random.Random(3)
    assert [space.sample(rng).network.attrs["keep"] for _ in range(50)] == expected


def test_a_zero_weight_is_never_drawn_but_still_counted():
    space = space_of("space = concat [one_of(relu(), tanh(), gelu(), weights: [1, 0, 1])]")
    assert space.count() == 3
    rng = random.Random(0)
    names = {space.sample(rng).network.items[0].kind for _ in range(500)}
    assert names == {"relu", "gelu"}


def test_weights_on_a_subspace_choice_and_normalised():
    space = space_of("act = one_of(relu(), tanh(), weights: [3, 1])\nspace = concat [act]")
    assert space.by_name["act"].weights == (0.75, 0.25)


@pytest.mark.parametrize(("weights", "message"), [
    ("[0.5, 0.5]", "`weights` has 2 numbers for 3 options"),
    ("[1, -1, 1]", "weight 2 must be a finite number >= 0, got -1"),
    ("[0, 0, 0]", "the weights are all zero"),
    ("[1, 10**400, 1]", "weight 2 must be a finite number >= 0"),
    ("0.5", "`weights` must be a list of numbers, got number 0.5"),
    ('[1, "a", 1]', "weight 2 must be a fixed number, got string"),
    ("[1, one_of(1, 2), 1]", "weight 2 must be a fixed number, got choice"),
])
def test_bad_weights_are_errors_at_their_place(weights, message):
    text = f"space = dropout(keep: one_of(0.2, 0.5, 0.9, weights: {weights}))"
    with pytest.raises(DarchError) as info:
        space_of(text)
    err = info.value
    assert message in err.message
    assert (err.span.line, err.span.col) == (1, text.index("weights: ") + len("weights: ") + 1)


@pytest.mark.slow
def test_show_prints_the_normalised_weights(tmp_path):
    path = tmp_path / "w.darch"
    path.write_text("space = concat [one_of(relu(), tanh(), weights: [3, 1]), "
                    "dropout(keep: one_of(0.5, 0.9, weights: [1, 1]))]\n")
    run = [sys.executable, "-m", "darchlang.cli", "show", str(path)]
    tree = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert "one of 2  weights: [0.75, 0.25]" in tree
    assert "one_of(0.5, 0.9, weights: [0.5, 0.5])" in tree
    listed = json.loads(subprocess.run([*run, "--json"], capture_output=True, text=True,
                                       check=True).stdout)
    assert [c.get("weights") for c in listed["choices"]] == [[0.75, 0.25], [0.5, 0.5]]
