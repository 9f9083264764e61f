"""Unused graph steps are inactive: an input choice that leaves a step unused also
leaves its choices undecided, uncounted, unprinted and uncompiled (issue 13.2)."""

import subprocess
import sys

import pytest

import darchlang
from darchlang.backends.torch.shape_rules import torch_shape_rules
from darchlang.space.shapes import check_shapes

EITHER = """
space = concat [conv2d(filters: 8, size: 3), graph(x) {
    a = conv2d(filters: one_of(8, 16), size: 3)(x)
    b = conv2d(filters: 8, size: one_of(1, 3, 5))(x)
    return one_of(a, b)
}]
"""

# a DARTS-style node: two of three incoming edges, each with its own operation
EDGES = """
def op() = one_of(conv2d(filters: 4, size: 1), conv2d(filters: 4, size: 3), max_pool2d(size: 3, stride: 1, padding: "same"),
                  identity(), avg_pool2d(size: 3, stride: 1), relu(), tanh())
space = graph(x) {
    p = conv2d(filters: 4, size: 1)(x)
    q = conv2d(filters: 4, size: 3)(x)
    r = relu()(q)
    n = add(choose(2, op()(p), op()(q), op()(r)))
    return n
}
"""


def test_an_unused_step_is_neither_counted_nor_decided():
    space = darchlang.load_string(EITHER).space
    # returning `a`: its 2 widths; returning `b`: its 3 sizes; never both
    assert space.count() == 2 + 3
    archs = list(space.enumerate())
    assert len(archs) == len({a.identity for a in archs}) == 5
    for arch in archs:
        assert len(arch.decisions) == 2  # the output's choice and the used step's choice
        graph = arch.network.items[1]
        assert len(graph.steps) == 1


def test_an_unused_step_is_not_printed():
    space = darchlang.load_string(EITHER).space
    arch = space.replay_names({"space/1/graph/return": 0, "space/1/graph/a/conv2d/filters": 1})
    assert "a = conv2d(filters: 16" in arch.text
    assert "b =" not in arch.text and "return a" in arch.text
    again = darchlang.load_string(arch.text).space
    assert again.count() == 1 and again.sample(0).identity == arch.identity


def test_choose_counts_combinations_and_prunes_the_edge_left_out():
    space = darchlang.load_string(EDGES).space
    # 3 pairs of edges (not 6 ordered picks), 7 operations on each of the two edges;
    # the third edge's operation is not decided
    assert space.count() == 3 * 7 * 7
    assert space.count() == len(list(space.enumerate()))
    for seed in range(20):
        arch = space.sample(seed)
        assert len(arch.decisions) == 3
        assert space.replay(arch.decisions).identity == arch.identity


def test_uniform_sampling_weighs_the_pruned_worlds_exactly():
    space = darchlang.load_string(EITHER).space
    seen = {space.sample_uniform(seed).identity for seed in range(200)}
    assert len(seen) == 5


def test_a_shape_error_in_an_unused_step_is_no_error():
    text = """
space = graph(x) {
    a = conv2d(filters: 8, size: 3)(x)
    bad = conv2d(filters: 8, size: 40, padding: "valid")(x)
    return one_of(a, relu()(a))
}
"""
    space = darchlang.load_string(text).space
    for limit in (0, 10):
        report = check_shapes(space, (3, 16, 16), torch_shape_rules(), enumerate_up_to=limit)
        assert report.ok, report.failure


def test_a_shape_error_in_a_step_that_some_world_uses_is_found():
    text = """
space = graph(x) {
    a = conv2d(filters: 8, size: one_of(1, 3))(x)
    bad = conv2d(filters: 8, size: 40, padding: "valid")(x)
    return one_of(a, bad, relu()(a))
}
"""
    space = darchlang.load_string(text).space
    report = check_shapes(space, (3, 16, 16), torch_shape_rules(), enumerate_up_to=0)
    assert not report.ok and not report.spurious
    assert report.architecture is not None and "bad = conv2d" in report.architecture.text


@pytest.mark.slow
def test_cli_count_and_sample_leave_the_unused_step_out(tmp_path):
    path = tmp_path / "either.darch"
    path.write_text(EITHER)
    run = [sys.executable, "-m", "darchlang.cli"]
    count = subprocess.run([*run, "count", str(path)], capture_output=True, text=True, check=True)
    assert count.stdout.split()[0] == "5"
    texts = set()
    for seed in range(8):
        out = subprocess.run([*run, "sample", str(path), "--seed", str(seed)],
                             capture_output=True, text=True, check=True).stdout
        assert ("a = conv2d" in out) != ("b = conv2d" in out)
        texts.add(out)
    assert len(texts) > 1


# two graph blocks with input choices of their own, sharing top-level operation
# choices: which of them is used depends on both blocks' picks, so exact counting
# conditions on the shared choices (memoised on what the rest reads of them)
ENTANGLED = "\n".join(f"o{i} = one_of(1, 3, 5, 7)" for i in range(12)) + """
def cell(a, b, c, d, e, f) = graph(x) {
    p = relu()(x)
    n1 = add(choose(2, conv2d(filters: 4, size: a)(x), conv2d(filters: 4, size: b)(p),
                    conv2d(filters: 4, size: c)(x)))
    n2 = add(choose(2, conv2d(filters: 4, size: d)(n1), conv2d(filters: 4, size: e)(p),
                    conv2d(filters: 4, size: f)(x)))
    return n2
}
space = concat [cell(o0, o1, o2, o3, o4, o5), cell(o0, o1, o2, o6, o7, o8),
                cell(o9, o10, o11, o3, o4, o5), cell(o9, o10, o11, o6, o7, o8)]
"""


@pytest.mark.slow
def test_counting_entangled_sharing_is_exact():
    import itertools

    space = darchlang.load_string(ENTANGLED, "entangled.darch").space
    # independently: each cell uses edges (d, e, f pairs; n1's pairs when d is in),
    # and the architectures of a pick of structures are 4 ** (size choices used)
    cells = [(0, 1, 2, 3, 4, 5), (0, 1, 2, 6, 7, 8), (9, 10, 11, 3, 4, 5), (9, 10, 11, 6, 7, 8)]
    structures = [set(n2 + n1) for n2 in ("de", "df") for n1 in ("ab", "ac", "bc")] + [set("ef")]
    expected = 0
    for picks in itertools.product(structures, repeat=4):
        used = {cell["abcdef".index(e)] for cell, s in zip(cells, picks, strict=True) for e in s}
        expected += 4 ** len(used)
    assert space.count() == expected == 6_578_110_720
    # one block alone counts at once. n2's two edges take 4 sizes each; when they
    # include the edge from n1 (2 of its 3 pairs), n1 is used too: 3 pairs, 4 sizes per edge
    alone = ENTANGLED.split("space =")[0] + "space = cell(o0, o1, o2, o3, o4, o5)\n"
    one = darchlang.load_string(alone).space
    assert one.count() == 2 * 16 * (3 * 16) + 16 == len(list(one.enumerate()))


# ---- property: counts, enumeration and replay agree when steps are pruned ----------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

OPS = ["relu()", "conv2d(filters: 4, size: w0)", "conv2d(filters: 4, size: one_of(1, 3))",
       "conv2d(filters: w1, size: 1)", "one_of(relu(), tanh())",
       "if w0 == 1 then relu() else conv2d(filters: 4, size: w1 + 2)"]


@st.composite
def _pruned_program(draw):
    """A graph block whose steps read input choices (`one_of`, `choose`), with
    operations over choices shared with the rest of the network."""
    n = draw(st.integers(2, 4))
    lines = []
    names = ["x"]
    for k in range(n):
        src = draw(st.sampled_from(["val", "one_of", "choose"]))
        op = draw(st.sampled_from(OPS))
        if src == "val" or len(names) < 2:
            arg = draw(st.sampled_from(names))
            lines.append(f"n{k} = {op}({arg})")
        elif src == "one_of":
            a, b = draw(st.permutations(names))[:2]
            lines.append(f"n{k} = {op}(one_of({a}, {b}))")
        else:
            lines.append(f"n{k} = add(choose(2, {', '.join(names)}))")
        names.append(f"n{k}")
    out = draw(st.sampled_from(["last", "one_of", "choose1"]))
    if out == "last":
        ret = names[-1]
    elif out == "one_of":
        ret = f"one_of({names[-1]}, {names[-2]})"
    else:
        ret = f"choose(1, {', '.join(names[1:])})"
    body = "\n    ".join(lines)
    shared = draw(st.booleans())
    g = f"graph(x) {{\n    {body}\n    return {ret}\n}}"
    tail = "space = concat [conv2d(filters: 4, size: 1), g, g]" if shared else "space = concat [conv2d(filters: 4, size: 1), g, conv2d(filters: w1, size: 1)]"
    return f"w0 = one_of(1, 3)\nw1 = one_of(4, 8)\ng = {g}\n{tail}\n"



@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pruned_program())
def test_count_equals_enumeration_with_pruned_steps(text):
    try:
        sp = darchlang.load_string(text).space
    except darchlang.DarchError:
        return
    archs = list(sp.enumerate(limit=5000))
    if len(archs) == 5000:
        return
    assert sp.count() == len(archs), text
    assert len({a.identity for a in archs}) == len(archs), text
    for a in archs[::7]:
        assert sp.replay(a.decisions).identity == a.identity
