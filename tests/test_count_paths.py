"""Exact counts of spaces that thread a derived value through a recursion: a path
through a lattice of levels (Auto-DeepLab's network level), a running width (a RegNet
stage chain); of copies of one cell at several widths (NAS-Bench-101's three stacks
with the edge budget) and of cells that index their states with separate genes
(NASNet). Each is checked against enumeration or a closed form, and a path too long
to count still fails at once, naming the condition."""

import math
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import darchlang
from darchlang import DarchError
from darchlang.semantics.program import stdlib_dir

sys.path.insert(0, str(Path(__file__).parent))
from test_count_entangled import NB101_TWO_CELLS  # noqa: E402

LATTICE = """
def nxt(l) = if l == 0 then one_of(0, 1) else if l == 1 then one_of(0, 1, 2) else one_of(1, 2)
def walk(n, l) = if n == 0 then l else walk(n - 1, nxt(l))
space = conv2d(filters: 8 * (1 + walk(N, 0)), size: 3)
"""


def paths(steps: int, moves: dict[int, list[int]], start: int = 0) -> int:
    """The number of walks of `steps` moves from `start`, by the levels' DP."""
    ways = {start: 1}
    for _ in range(steps):
        after: dict[int, int] = {}
        for level, n in ways.items():
            for m in moves[level]:
                after[m] = after.get(m, 0) + n
        ways = after
    return sum(ways.values())


THREE = {0: [0, 1], 1: [0, 1, 2], 2: [1, 2]}


@pytest.mark.slow
def test_a_lattice_path_counts_as_its_enumeration():
    space = darchlang.load_string(LATTICE.replace("N", "6")).space
    assert space.count() == len(list(space.enumerate())) == paths(6, THREE) == 169


@pytest.mark.slow
@pytest.mark.parametrize("steps", [10, 40])
def test_a_long_lattice_path_counts_once_per_level(steps):
    """review-spaces 6.1: too entangled at 10 steps (it decided every move); the rest
    of the path reads only the level reached, so it counts once per level and step."""
    space = darchlang.load_string(LATTICE.replace("N", str(steps))).space
    assert space.count() == paths(steps, THREE)
    assert steps != 10 or space.count() == 5741


AUTODEEPLAB = """
param depth = 12
def next_level(l) = if l == 0 then one_of(0, 1) else if l == 1 then one_of(0, 1, 2)
    else if l == 2 then one_of(1, 2, 3) else one_of(2, 3)
def resample(a, b, c) = concat [
    if b > a then conv2d(filters: c, size: 1, stride: 2 ** (b - a)) else conv2d(filters: c, size: 1),
    if b < a then upsample(scale: 2 ** (a - b)) else identity()]
def layers(i, l0, l1) = if i == depth then conv2d(filters: 8 * 2 ** l1, size: 1) else let
    l = next_level(l1)
    c = 8 * 2 ** l
in concat [resample(l0, l, c), resample(l1, l, c), layers(i + 1, l1, l)]
space = layers(0, 0, 0)
"""

FOUR = {0: [0, 1], 1: [0, 1, 2], 2: [1, 2, 3], 3: [2, 3]}


def test_auto_deeplab_paths_count_as_their_enumeration():
    space = darchlang.load_string(AUTODEEPLAB.replace("depth = 12", "depth = 4")).space
    assert space.count() == len(list(space.enumerate())) == paths(4, FOUR) == 34


@pytest.mark.slow
def test_auto_deeplab_network_level_path_counts_exactly():
    """12 layers over 4 levels, each layer resampling the two before it to its level."""
    space = darchlang.load_string(AUTODEEPLAB).space
    assert space.count() == paths(12, FOUR) == 75_025


@pytest.mark.slow
def test_a_lattice_path_too_long_to_count_fails_at_once_naming_the_condition():
    space = darchlang.load_string(LATTICE.replace("N", "100"), "path.darch").space
    start = time.process_time()
    with pytest.raises(DarchError, match="too entangled to count exactly") as info:
        space.count()
    assert time.process_time() - start < 3  # the budget of work, not the path's 2^100
    assert "this condition reads a value computed from" in info.value.message
    assert info.value.span.line == 2 and info.value.related


# a running width: doubled or kept at each block, capped, a block's activation a
# choice only while the width is small
REGNET = """
def stage(n, w) = if n == 0 then identity() else let
    v = min(w * one_of(1, 2), 64)
in concat [conv2d(filters: v, size: 3), if v < 32 then one_of(relu(), tanh()) else relu(),
           stage(n - 1, v)]
space = stage(N, 8)
"""


def widths(steps: int) -> int:
    ways = {8: 1}
    for _ in range(steps):
        after: dict[int, int] = {}
        for w, n in ways.items():
            for v in (min(w, 64), min(2 * w, 64)):
                after[v] = after.get(v, 0) + n * (2 if v < 32 else 1)
        ways = after
    return sum(ways.values())


@pytest.mark.parametrize("steps", [3, 5])
def test_a_running_width_counts_as_its_enumeration(steps):
    space = darchlang.load_string(REGNET.replace("N", str(steps))).space
    assert space.count() == len(list(space.enumerate())) == widths(steps)


@pytest.mark.slow
def test_a_running_width_through_twenty_blocks_counts_exactly():
    space = darchlang.load_string(REGNET.replace("N", "20")).space
    assert space.count() == widths(20)


@pytest.mark.slow
def test_nasbench101_budget_cell_in_three_stacks_counts_as_the_cell():
    """The same cell at three widths (the benchmark's stacks): the copies count alike,
    so the network counts as one cell (it passed the budget of work after 139 steps)."""
    text = NB101_TWO_CELLS.replace("cell(8), cell(8)", "repeat_tied(cell(8), times: 3), max_pool2d(), "
                                   "repeat_tied(cell(16), times: 3), max_pool2d(), "
                                   "repeat_tied(cell(32), times: 3)")
    space = darchlang.load_string(text, "nb101.darch").space
    assert space.count() == 3**5 * sum(math.comb(21, k) for k in range(10)) == 169_093_980


def nasnet_indexed() -> str:
    """stdlib/nasnet.darch with enas_micro's genes: a record of five choices per block,
    its states and widths picked by index (`states[g.in1]`) instead of one packed gene."""
    text = (stdlib_dir() / "nasnet.darch").read_text()
    start, end = text.index("# a block that sees n states"), text.index("def normal_cell")
    genes = "\n".join(f"{k}{i} = block({i + 2})" for k in "nr" for i in range(5))
    cell = """
def block(n) = { in1: one_of(range(n)), in2: one_of(range(n)), op1: one_of(range(13)),
                 op2: one_of(range(13)), combine: one_of(0, 1) }
GENES
def width(g, c) = if g.combine == 1 then 2 * c else c
def mix(g, c, states, widths) = let
    x = op(g.op1, c, widths[g.in1])(states[g.in1])
    y = op(g.op2, c, widths[g.in2])(states[g.in2])
in if g.combine == 1 then cat(x, y) else add(x, y)
def takes(nodes, i, k) = if k == len(nodes) then false
    else nodes[k].in1 == i or nodes[k].in2 == i or takes(nodes, i, k + 1)
def loose(i, x, nodes) = (if takes(nodes, i, 0) then zero() else identity())(x)
def cell(g, c, stride) = graph(p0, p1) {
    s0 = relu_conv_bn(c, 1, stride)(p0)
    s1 = relu_conv_bn(c, 1, stride)(p1)
    wa = width(g[0], c)
    wb = width(g[1], c)
    wd = width(g[2], c)
    we = width(g[3], c)
    a = mix(g[0], c, [s0, s1], [c, c])
    b = mix(g[1], c, [s0, s1, a], [c, c, wa])
    d = mix(g[2], c, [s0, s1, a, b], [c, c, wa, wb])
    e = mix(g[3], c, [s0, s1, a, b, d], [c, c, wa, wb, wd])
    f = mix(g[4], c, [s0, s1, a, b, d, e], [c, c, wa, wb, wd, we])
    return relu_conv_bn(c, 1)(cat(loose(2, a, g), loose(3, b, g), loose(4, d, g), loose(5, e, g), f))
}
""".replace("GENES", genes)
    text = text[:start] + cell + text[end:]
    return text.replace("cell(n0, n1, n2, n3, n4, c, 1)", "cell([n0, n1, n2, n3, n4], c, 1)") \
        .replace("cell(r0, r1, r2, r3, r4, c, 2)", "cell([r0, r1, r2, r3, r4], c, 2)")


@pytest.mark.slow
def test_nasnet_with_indexed_states_counts_as_with_packed_genes():
    """A block's two operations are used whether it adds or concatenates them, so every
    gene is used in every architecture (it was too entangled after 41 conditionings)."""
    indexed = darchlang.load_string(nasnet_indexed(), str(stdlib_dir() / "nasnet_indexed.darch"))
    assert indexed.space.count() == (518_400 * 13**10 * 32) ** 2 \
        == 5_229_943_396_058_757_337_940_161_399_357_440_000


DARTS_CHOOSE = """
def edge(c) = one_of(relu(), tanh(), sigmoid(), gelu(), silu(), identity(), conv2d(filters: c, size: 1))
def cell(c) = graph(s0, s1) {
    a = add(choose(2, edge(c)(s0), edge(c)(s1)))
    b = add(choose(2, edge(c)(s0), edge(c)(s1), edge(c)(a)))
    d = add(choose(2, edge(c)(s0), edge(c)(s1), edge(c)(a), edge(c)(b)))
    e = add(choose(2, edge(c)(s0), edge(c)(s1), edge(c)(a), edge(c)(b), edge(c)(d)))
    return cat(a, b, d, e)
}
t = tied(cell)
space = graph(x) {
    y = t(8)(x, x)
    z = t(16)(y, x)
    return t(32)(z, y)
}
"""


@pytest.mark.slow
def test_a_darts_cell_of_choose_used_at_three_widths_counts_as_one_cell():
    """docs/spaces.md: an operation on every candidate edge, `choose` taking two; the
    three copies were too entangled (each op shared by copies that may leave it unused)."""
    space = darchlang.load_string(DARTS_CHOOSE).space
    assert space.count() == 1 * 3 * 6 * 10 * 7**8 == 1_037_664_180


def test_a_graph_step_that_every_pick_uses_is_always_used():
    text = """
g = one_of(0, 1)
space = graph(x) {
    a = one_of(relu(), tanh())(x)
    b = conv2d(filters: one_of(1, 2), size: 1)(x)
    return if g == 1 then cat(a, b) else add(a, b)
}
"""
    space = darchlang.load_string(text).space
    assert space.count() == len(list(space.enumerate())) == 8


# ---- property: random lattice paths and running values against enumeration --------

@st.composite
def path_program(draw):
    """A value threaded through a recursion of 1 to 4 steps: each step's options depend
    on the value so far (a lattice of 2 to 4 levels, written as the next level or as a
    move added to it), layers and conditions read the values, and some steps emit a
    layer whose choice is guarded by the value."""
    levels = draw(st.integers(2, 4))
    moves = {lv: sorted(draw(st.lists(st.integers(0, levels - 1), min_size=1, max_size=3,
                                      unique=True))) for lv in range(levels)}
    as_moves = draw(st.booleans())  # `l + move(l)` rather than the next level

    def options(lv: int) -> str:
        return f"one_of({', '.join(str(m - lv if as_moves else m) for m in moves[lv])})"

    step = " else ".join(f"if l == {lv} then {options(lv)}" for lv in range(levels - 1))
    step = f"{step} else {options(levels - 1)}"
    if as_moves:
        step = f"l + ({step})"
    lines = [f"def nxt(l) = {step}"]
    k = draw(st.integers(0, levels - 1))
    emit = draw(st.sampled_from([
        "identity()",
        "conv2d(filters: 4 * (1 + l), size: 1)",
        f"if l == {k} then one_of(relu(), tanh()) else relu()",
        "if l > p then conv2d(filters: 4, size: one_of(1, 3)) else identity()",
        "repeat(relu(), times: l)",
    ]))
    end = draw(st.sampled_from(["identity()", "conv2d(filters: 1 + l, size: 1)",
                                f"if l == {k} then tanh() else one_of(relu(), tanh())"]))
    lines.append(f"def walk(n, p, l) = if n == 0 then {end} else let m = nxt(l) in "
                 f"concat [(let l = m in {emit}), walk(n - 1, l, m)]")
    start = draw(st.integers(0, levels - 1))
    lines.append(f"space = walk({draw(st.integers(1, 4))}, {start}, {start})")
    if draw(st.booleans()):
        lines.append("train = hyperparams { lr: one_of(0.1, 0.01) }")
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path_program())
def test_paths_count_as_their_enumeration(text):
    space = darchlang.load_string(text).space
    n = space.count()
    if n > 3000:
        return
    seqs = [tuple(a.decisions) for a in space.enumerate()]
    assert len(seqs) == n == len(set(seqs)), text


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path_program())
def test_path_completions_of_the_first_decision_sum_to_the_count(text):
    space = darchlang.load_string(text).space
    first = space.sample(0)
    if not first.decisions:
        return
    uid = space.by_name[first.names[0]].uid
    options = len(space.by_uid[uid].options)
    assert sum(space.count_given({uid: i}) for i in range(options)) == space.count()
