"""Exact counts against brute-force enumeration, and the properties of picking."""

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import program

import darchlang
from darchlang.syntax.parser import parse

SMALL = [
    ("space = relu()", 1),
    ("space = conv2d(filters: one_of(1, 2, 3), size: one_of(3, 5))", 6),
    ("w = one_of(1, 2)\nspace = concat [conv2d(filters: w, size: 3), optional(conv2d(filters: w, size: 3))]", 4),
    # w is decided only when the optional branch is taken: 1 + 2 sequences
    ("w = one_of(1, 2)\nspace = optional(conv2d(filters: w, size: 3))", 3),
    # the same choice inside both options of another choice
    ("w = one_of(1, 2, 3)\nspace = one_of(conv2d(filters: w, size: 3), concat [relu(), conv2d(filters: w, size: 5)])", 6),
    # shared choice in two optional branches: none, A only, B only, both (w once)
    ("w = one_of(1, 2)\nspace = concat [optional(conv2d(filters: w, size: 3)), optional(conv2d(filters: w, size: 3))]", 7),
    ("space = repeat(conv2d(filters: one_of(1, 2), size: 3), times: one_of(0, 1, 2, 3))", 1 + 2 + 4 + 8 + 4 - 4),
    ("space = repeat_tied(conv2d(filters: one_of(1, 2), size: 3), times: one_of(0, 1, 2, 3))", 1 + 2 * 3),
    ("n = one_of(1, 2)\nspace = concat [repeat(conv2d(filters: one_of(1, 2), size: 3), times: n), repeat(relu(), times: n)]", 2 + 4),
    ("s = one_of(1, 2)\nspace = if s == 1 then one_of(relu(), tanh()) else conv2d(filters: one_of(1, 2, 3), size: 3)", 2 + 3),
    ("w = one_of(1, 2)\nspace = conv2d(filters: 2 * w, size: 3)\ntrain = hyperparams { lr: one_of(0.1, 0.2), w: w }", 4),
    # a list item picked by a choice: of values, of layers, shared with a second pick
    ("i = one_of(0, 1, 2)\nspace = conv2d(filters: [4, 8, 16][i], size: [3, 5][-1])", 3),
    ("space = [relu(), tanh(), conv2d(filters: one_of(1, 2), size: 3)][one_of(0, 1, 2)]", 4),
    ("i = one_of(0, 1)\nspace = concat [[relu(), tanh()][i], conv2d(filters: [1, 2][i], size: 3)]", 2),
    ("r = { w: one_of(1, 2, 3), k: 3 }\nspace = conv2d(filters: r.w, size: r.k + len([1, 2]))", 3),
    # a graph value picked by a choice of index, as `one_of(x, a, b)` picks one
    ("space = graph(x) {\n a = relu()(x)\n b = tanh()(a)\n states = [x, a, b]\n"
     " return add(b, sigmoid()(states[one_of(range(3))]))\n}", 3),
]


@pytest.mark.parametrize(("text", "expected"), SMALL)
def test_count_matches_enumeration(text, expected):
    space = darchlang.load_string(text).space
    enumerated = list(space.enumerate())
    assert space.count() == expected == len(enumerated)
    assert len({tuple(a.decisions) for a in enumerated}) == expected


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_count_matches_enumeration_on_random_programs(text):
    space = darchlang.load_string(text).space
    n = space.count()
    if n > 3000:
        return
    seqs = [tuple(a.decisions) for a in space.enumerate()]
    assert len(seqs) == n
    assert len(set(seqs)) == n


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(), __import__("hypothesis").strategies.integers(0, 2**32))
def test_sample_print_parse_round_trip(text, seed):
    space = darchlang.load_string(text).space
    arch = space.sample(seed)
    assert space.replay(arch.decisions).identity == arch.identity
    again = darchlang.load_string(arch.text).space
    assert again.count() == 1
    fixed = again.sample(0)
    assert fixed.decisions == [] and fixed.text == arch.text and fixed.identity == arch.identity


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(program())
def test_count_given_prefix_sums_to_total(text):
    """Completions of each first option add up to the whole count (used by uniform)."""
    space = darchlang.load_string(text).space
    if not space.choices:
        return
    first = space.sample(0)
    if not first.decisions:
        return
    uid = space.by_name[first.names[0]].uid
    options = len(space.by_uid[uid].options)
    assert sum(space.count_given({uid: i}) for i in range(options)) == space.count()


def test_reference_space_counts():
    simple = darchlang.load_file("examples/cifar10_simple.darch").space
    complex_ = darchlang.load_file("examples/cifar10_complex.darch").space
    joint = darchlang.load_file("examples/cifar10_joint.darch").space
    assert simple.count() == 5 * 3 * 5 * 3 * 3 * 3
    inner_stem = 6 * 3 * 2 * 2 * 3
    body = 2 * (6 * 2 * 2 * 2 * 3)
    assert complex_.count() == inner_stem * (6 * body) * inner_stem * (6 * body) * 2
    assert joint.count() == complex_.count() * 2 * 32 * 8 * 8
    assert len(str(joint.count())) == 16


def test_thirty_digit_counts_are_exact():
    text = "def c() = conv2d(filters: one_of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), size: 3)\n" \
           "space = repeat(c(), times: 30)"
    assert darchlang.load_string(text).space.count() == 10**30


def test_enumeration_is_in_a_fixed_order():
    space = darchlang.load_file("examples/derived_values.darch").space
    first = [a.decisions for a in space.enumerate()]
    assert first == [a.decisions for a in space.enumerate()]
    assert first == sorted(first)


def test_same_seed_same_architecture_across_processes():
    import subprocess
    import sys

    code = ("import darchlang; s = darchlang.load_file('examples/cifar10_complex.darch').space;"
            "print(s.sample(3).identity)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    space = darchlang.load_file("examples/cifar10_complex.darch").space
    assert out.stdout.strip() == space.sample(3).identity
    # pinned: the identity of seed 3 must not change between releases
    assert parse(space.sample(3).text) is not None
